// The ordered writer: group-commits sends (many messages, one round trip, one commit) and runs
// other seq-assigning work in the same order, on one thread with its own connection. Completion
// callbacks run on that thread in commit order, so fan-out leaves in seq order.
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

#include "storage/db_pool.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::storage {

struct send_outcome {
  enum class status { ok, forbidden, not_found };
  status st = status::ok;
  std::int64_t msg_id = 0;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool duplicate = false;
};

struct send_request {
  std::int64_t org = 0;
  std::int64_t conv = 0;
  std::int64_t sender = 0;
  std::string client_msg_id;
  std::string type;
  std::string body_json;
  std::int64_t ts = 0;
  // Called on the writer thread after COMMIT, in commit order; the connection is usable.
  std::function<void(const send_outcome&, pqxx::connection&)> done;
  std::function<void(const db_failure&)> fail;
};

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
  struct job {
    db_pool::work_fn work;
    db_pool::fail_fn fail;
  };
  using item = std::variant<send_request, job>;
  void run();
  bool ensure_connected();
  void write_batch(std::vector<send_request>& batch);
  bool try_batch(std::vector<send_request>& batch, std::optional<db_failure>& failure);
  void run_job(job& j);
  void fail_all(std::vector<send_request>& batch, const db_failure& f);
  bool resolve_in_doubt(std::vector<send_request>& batch);
  void complete(std::vector<send_request>& batch, const std::vector<send_outcome>& outcomes);

  options opt_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<db_pool::connect_hook> hooks_;
  std::unique_ptr<pqxx::connection> conn_;
  // The server process behind conn_, so that a COMMIT left in doubt can be settled (see there).
  int backend_pid_ = 0;
  std::string backend_start_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{100};
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
