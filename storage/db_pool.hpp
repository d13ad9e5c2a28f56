// A small pool of storage threads, each with its own PostgreSQL connection: libpqxx blocks, so no
// database call ever runs on an io_context thread. Callers hand in work and get called back on a
// storage thread; server code posts results to its own executor.
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
#include <vector>

#include <pqxx/connection>

#include "storage/query_deadline.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::storage {

struct db_failure {
  enum class kind {
    unavailable,  // no connection, or it broke before the outcome was known to be nothing
    in_doubt,     // the connection broke during COMMIT: the outcome is unknown
    internal,     // a bug or an unexpected SQL error (logged with detail)
  };
  kind what;
  std::string detail;      // for logs only, never for clients
  bool timed_out = false;  // the query watchdog cut the connection
  // Worth one more try on a new connection: the connection was found broken (nothing committed)
  // without the watchdog having cut it, that is it had died while idle (a database restart).
  bool retry_on_new_connection() const { return what == kind::unavailable && !timed_out; }
};

struct pool_stats {
  int size = 0;
  int connected = 0;
  int busy = 0;
  std::size_t queued = 0;
  std::uint64_t completed_total = 0;
  std::uint64_t failed_unavailable_total = 0;
  std::uint64_t reconnects_total = 0;
  std::uint64_t query_timeouts_total = 0;  // round trips cut by the watchdog (all its connections)
};

// How long one round trip may take before the watchdog cuts its connection (none when null or 0).
struct query_deadline {
  query_watchdog* watchdog = nullptr;
  std::chrono::milliseconds timeout{0};
  const char* what = "query";
};

// Arms `deadline` for `c`'s socket (nothing when it has no watchdog).
query_watchdog::guard arm(pqxx::connection& c, const query_deadline& deadline);

// Runs `fn` against `c` under `deadline` and turns what it throws into a failure: a COMMIT whose
// outcome is unknown is in_doubt, a broken connection (or an SQL error on one that has since died,
// or one the watchdog cut) is unavailable, anything else internal. nullopt when `fn` returned.
std::optional<db_failure> run_classified(pqxx::connection& c, const std::function<void()>& fn,
                                         const query_deadline& deadline = {});

// Appends connect_timeout to a libpq URI or key=value string unless it is already there.
std::string with_connect_timeout(const std::string& url, int seconds);
// `url` with server-side guards for the server's own connections (unless it sets `options`
// itself): a backend whose client went away while it waited on a lock or sat in a transaction
// ends instead of holding its locks. A connection the query deadline cut (the database stalled
// or slow) must not leave a backend behind that blocks every later writer of its rows:
//   client_connection_check_interval = 1s: a running query notices its client is gone;
//   idle_in_transaction_session_timeout = 10s: no transaction of ours waits on us that long.
std::string with_session_guards(const std::string& url);

class db_pool {
 public:
  struct options {
    std::string url;
    int size = 4;
    int connect_timeout_s = 5;
    std::size_t max_queue = 100000;
    query_deadline deadline;  // each job's round trips, and a new connection's hooks
  };
  using work_fn = std::function<void(pqxx::connection&)>;
  using fail_fn = std::function<void(const db_failure&)>;
  using connect_hook = std::function<void(pqxx::connection&)>;

  db_pool(options opt, std::shared_ptr<spdlog::logger> log);
  ~db_pool();
  db_pool(const db_pool&) = delete;
  db_pool& operator=(const db_pool&) = delete;

  // Runs on every new connection before any work (prepared statements go here). Call before start().
  void add_connect_hook(connect_hook hook);
  void start();

  // Queues `work`; never blocks. Exactly one of `work` (which may throw) or `fail` is called, on a
  // storage thread. A broken connection is reopened with backoff; meanwhile work fails `unavailable`.
  void submit(work_fn work, fail_fn fail);

  // Stops taking work, finishes what is queued until `deadline`, fails the rest `unavailable`, joins.
  void drain(std::chrono::steady_clock::time_point deadline);

  pool_stats stats() const;

 private:
  struct job {
    work_fn work;
    fail_fn fail;
  };
  struct worker_state;
  void run_worker(worker_state& w);
  // The worker's connection (opened if need be, counted in the stats), or null.
  pqxx::connection* connection(worker_state& w);
  void drop(worker_state& w);
  void run_job(worker_state& w, job& j);

  options opt_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<connect_hook> hooks_;
  std::vector<std::unique_ptr<worker_state>> workers_;
  std::vector<std::thread> threads_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_{};

  std::atomic<int> busy_{0};
  std::atomic<int> connected_{0};
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> failed_unavailable_{0};
  std::atomic<std::uint64_t> reconnects_{0};
};

}  // namespace switchboard::storage
