// One thread's connection to PostgreSQL, the piece the storage pool's threads and the ordered
// writers are both built on: opened on demand, with the connect hooks (every store's prepared
// statements, then the owner's own setup) run under the query deadline; dropped when it breaks;
// reopened with backoff from 100 ms doubling to 5 s, so a database that is down is not hammered.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "storage/db_pool.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::storage {

class db_link {
 public:
  using hook = std::function<void(pqxx::connection&)>;
  // `hooks` (owned by the caller, read at each open) run on every new connection; `name` is for
  // the logs ("storage thread 2", "message writer").
  db_link(std::string url, const std::vector<hook>& hooks, query_deadline deadline,
          std::shared_ptr<spdlog::logger> log, std::string name);
  ~db_link();

  // The open connection, opened now if need be; null when it cannot be had (the attempt failed and
  // is logged, or the backoff since the last failure has not passed).
  pqxx::connection* get();
  // True when the link holds a connection that looks open (it may still turn out broken in use).
  bool open() const;
  // The connection broke (or its outcome is unknown): forget it; the next get() opens a new one at
  // once (the backoff is for failed opens).
  void drop();
  // How many times a connection was opened after the first (reconnects).
  std::uint64_t reopened() const { return reopened_; }

 private:
  std::string url_;
  const std::vector<hook>& hooks_;
  query_deadline deadline_;
  std::shared_ptr<spdlog::logger> log_;
  std::string name_;
  std::unique_ptr<pqxx::connection> conn_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_;
  bool ever_opened_ = false;
  std::uint64_t reopened_ = 0;
};

}  // namespace switchboard::storage
