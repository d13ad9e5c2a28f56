// Storage threads with their own connections, reconnecting with backoff.
#include "storage/db_pool.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <pqxx/except>

#include "storage/db_link.hpp"

namespace switchboard::storage {

struct db_pool::worker_state {
  int index = 0;
  std::unique_ptr<db_link> link;
  bool counted = false;            // counted in connected_
  std::uint64_t reopens_seen = 0;  // link->reopened() already counted in reconnects_
};

query_watchdog::guard arm(pqxx::connection& c, const query_deadline& deadline) {
  if (!deadline.watchdog) return {};
  return deadline.watchdog->arm(c.sock(), deadline.timeout, deadline.what);
}

std::optional<db_failure> run_classified(pqxx::connection& c, const std::function<void()>& fn,
                                         const query_deadline& deadline) {
  auto armed = arm(c, deadline);
  try {
    fn();
    return std::nullopt;
  } catch (const pqxx::in_doubt_error& e) {
    return db_failure{db_failure::kind::in_doubt, e.what(), armed.fired()};
  } catch (const pqxx::broken_connection& e) {
    return db_failure{db_failure::kind::unavailable, e.what(), armed.fired()};
  } catch (const std::exception& e) {
    bool open = false;
    try {
      open = c.is_open() && !armed.fired();
    } catch (...) {
    }
    return db_failure{open ? db_failure::kind::internal : db_failure::kind::unavailable, e.what(),
                      armed.fired()};
  }
}

std::string with_connect_timeout(const std::string& url, int seconds) {
  if (url.find("connect_timeout") != std::string::npos) return url;
  bool uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  std::string t = std::to_string(seconds);
  if (!uri) return url + (url.empty() ? "" : " ") + "connect_timeout=" + t;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=" + t;
}

std::string with_session_guards(const std::string& url) {
  if (url.find("options") != std::string::npos) return url;
  bool uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (!uri)
    return url + (url.empty() ? "" : " ") +
           "options='-c client_connection_check_interval=1s -c idle_in_transaction_session_timeout=10s'";
  return url + (url.find('?') == std::string::npos ? "?" : "&") +
         "options=-c%20client_connection_check_interval%3D1s%20-c%20idle_in_transaction_session_timeout%"
         "3D10s";
}

db_pool::db_pool(options opt, std::shared_ptr<spdlog::logger> log)
    : opt_(std::move(opt)), log_(std::move(log)) {
  opt_.url = with_session_guards(with_connect_timeout(opt_.url, opt_.connect_timeout_s));
}

db_pool::~db_pool() {
  drain(std::chrono::steady_clock::now());
}

void db_pool::add_connect_hook(connect_hook hook) {
  hooks_.push_back(std::move(hook));
}

void db_pool::start() {
  for (int i = 0; i < opt_.size; ++i) {
    auto w = std::make_unique<worker_state>();
    w->index = i;
    w->link = std::make_unique<db_link>(opt_.url, hooks_, opt_.deadline, log_,
                                        "storage thread " + std::to_string(i));
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) threads_.emplace_back([this, ws = w.get()] { run_worker(*ws); });
}

void db_pool::submit(work_fn work, fail_fn fail) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_ && queue_.size() < opt_.max_queue) {
      queue_.push_back(job{std::move(work), std::move(fail)});
      cv_.notify_one();
      return;
    }
  }
  failed_unavailable_.fetch_add(1, std::memory_order_relaxed);
  fail(db_failure{db_failure::kind::unavailable, "storage queue closed or full"});
}

void db_pool::drain(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    deadline_ = deadline;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  // Anything left (all workers gone past the deadline) fails rather than vanishing.
  std::deque<job> rest;
  {
    std::lock_guard lk(mu_);
    rest.swap(queue_);
  }
  for (auto& j : rest) {
    failed_unavailable_.fetch_add(1, std::memory_order_relaxed);
    j.fail(db_failure{db_failure::kind::unavailable, "server shutting down"});
  }
}

pool_stats db_pool::stats() const {
  pool_stats s;
  s.size = opt_.size;
  s.connected = connected_.load(std::memory_order_relaxed);
  s.busy = busy_.load(std::memory_order_relaxed);
  {
    std::lock_guard lk(mu_);
    s.queued = queue_.size();
  }
  s.completed_total = completed_.load(std::memory_order_relaxed);
  s.failed_unavailable_total = failed_unavailable_.load(std::memory_order_relaxed);
  s.reconnects_total = reconnects_.load(std::memory_order_relaxed);
  if (opt_.deadline.watchdog) s.query_timeouts_total = opt_.deadline.watchdog->fired_total();
  return s;
}

pqxx::connection* db_pool::connection(worker_state& w) {
  auto* c = w.link->get();
  if (c && !w.counted) connected_.fetch_add(1, std::memory_order_relaxed);
  if (!c && w.counted) connected_.fetch_sub(1, std::memory_order_relaxed);
  w.counted = c != nullptr;
  if (auto n = w.link->reopened(); n != w.reopens_seen) {
    reconnects_.fetch_add(n - w.reopens_seen, std::memory_order_relaxed);
    w.reopens_seen = n;
  }
  return c;
}

void db_pool::drop(worker_state& w) {
  w.link->drop();
  if (w.counted) connected_.fetch_sub(1, std::memory_order_relaxed);
  w.counted = false;
}

void db_pool::run_job(worker_state& w, job& j) {
  std::optional<db_failure> failure;
  // A connection that died while idle (PostgreSQL restarted, a proxy reset it) shows it only when
  // used: its job failed without committing anything, so it runs once more on a new connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = w.link->open();
    auto* conn = connection(w);
    if (!conn) {
      failed_unavailable_.fetch_add(1, std::memory_order_relaxed);
      j.fail(db_failure{db_failure::kind::unavailable, "no database connection"});
      return;
    }
    busy_.fetch_add(1, std::memory_order_relaxed);
    failure = run_classified(
        *conn, [&] { j.work(*conn); }, opt_.deadline);
    busy_.fetch_sub(1, std::memory_order_relaxed);
    if (!failure) break;
    if (failure->what != db_failure::kind::internal) {
      // Drop the connection: the next try reconnects (with backoff if the database is still down).
      drop(w);
    }
    if (!reused || !failure->retry_on_new_connection()) break;
  }
  completed_.fetch_add(1, std::memory_order_relaxed);
  if (!failure) return;
  if (failure->what != db_failure::kind::internal)
    failed_unavailable_.fetch_add(1, std::memory_order_relaxed);
  j.fail(*failure);
}

void db_pool::run_worker(worker_state& w) {
  connection(w);  // connect eagerly so the first request does not pay for it
  for (;;) {
    job j;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping with nothing left
      if (stopping_ && std::chrono::steady_clock::now() >= deadline_) break;
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      run_job(w, j);
    } catch (const std::exception& e) {  // a throwing fail callback must not kill the thread
      log_->error("storage thread {}: callback threw: {}", w.index, e.what());
    }
  }
  drop(w);
}

}  // namespace switchboard::storage
