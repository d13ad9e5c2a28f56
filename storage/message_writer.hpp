// The ordered writer: group-commits sends (many messages, one round trip, one commit) and runs
// other seq-assigning work in the same order, on one thread with its own connection. Completions
// run on that thread in commit order, so fan-out leaves in seq order; they get values (the outcome
// and the members read in the batch's transaction), never the connection.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include <pqxx/connection>

#include "storage/db_link.hpp"
#include "storage/db_pool.hpp"
#include "storage/send_batch.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::storage {

struct writer_stats {
  std::uint64_t batches = 0;
  std::uint64_t messages = 0;
  std::size_t queued = 0;
};

class message_writer {
 public:
  struct options {
    std::string url;
    int connect_timeout_s = 5;
    int batch_max_messages = 256;
    std::chrono::microseconds batch_max_delay{100};
    std::size_t max_queue = 100000;
    query_deadline deadline;  // each batch's and job's round trips
    // The members of a conversation the caller already knows (may be null, or answer null): a
    // batch reads only the others' members, in its own transaction.
    std::function<member_list(std::int64_t conv)> cached_members;
  };
  message_writer(options opt, std::shared_ptr<spdlog::logger> log);
  ~message_writer();
  void add_connect_hook(db_pool::connect_hook hook);
  void start();
  void submit(send_request req);
  // Ordered work that must not overtake earlier sends nor be overtaken by later ones.
  void submit_job(db_pool::work_fn work, db_pool::fail_fn fail);
  void drain(std::chrono::steady_clock::time_point deadline);
  writer_stats stats() const;

 private:
  using job = writer_job;
  using item = writer_item;
  void run();
  bool ensure_connected();  // conn_ is the link's open connection, or false
  void drop_connection();
  void setup(pqxx::connection& c);
  void write_batch(std::vector<send_request>& batch);
  bool try_batch(std::vector<send_request>& batch, std::optional<db_failure>& failure);
  void run_job(job& j);
  void fail_all(std::vector<send_request>& batch, const db_failure& f);
  bool resolve_in_doubt(std::vector<send_request>& batch);
  void complete(std::vector<send_request>& batch, const std::vector<send_outcome>& outcomes);
  // Fills the members of every ok, first-time outcome: the cached list, or read on `t`.
  template <class Transaction>
  void attach_members(Transaction& t, const std::vector<send_request>& batch,
                      std::vector<send_outcome>& outcomes);

  options opt_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<db_pool::connect_hook> hooks_;
  std::unique_ptr<db_link> link_;     // made in start(), when the hooks are all known
  pqxx::connection* conn_ = nullptr;  // link_'s, while open
  // The server process behind conn_, so that a COMMIT left in doubt can be settled (see there).
  int backend_pid_ = 0;
  std::string backend_start_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<item> queue_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_{};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> messages_{0};
};

}  // namespace switchboard::storage
