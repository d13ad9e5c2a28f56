// The query watchdog: one thread, sleeping until the earliest armed deadline.
#include "storage/query_deadline.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>

namespace switchboard::storage {

query_watchdog::query_watchdog(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {
  thread_ = std::thread([this] { run(); });
}

query_watchdog::~query_watchdog() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

query_watchdog::guard::~guard() {
  if (w_) w_->disarm(id_);
}

query_watchdog::guard& query_watchdog::guard::operator=(guard&& o) noexcept {
  if (this != &o) {
    if (w_) w_->disarm(id_);
    w_ = o.w_;
    id_ = o.id_;
    o.w_ = nullptr;
  }
  return *this;
}

bool query_watchdog::guard::fired() const {
  return w_ && w_->fired(id_);
}

query_watchdog::guard query_watchdog::arm(int fd, std::chrono::milliseconds timeout, const char* what) {
  if (fd < 0 || timeout.count() <= 0) return {};
  std::uint64_t id = 0;
  bool earliest = false;
  {
    std::lock_guard lk(mu_);
    id = next_id_++;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    earliest = entries_.empty();
    for (const auto& [k, e] : entries_) earliest = earliest || deadline < e.deadline;
    entries_.emplace(id, entry{fd, deadline, what});
  }
  if (earliest) cv_.notify_all();
  return {this, id};
}

void query_watchdog::disarm(std::uint64_t id) {
  std::lock_guard lk(mu_);
  entries_.erase(id);
}

bool query_watchdog::fired(std::uint64_t id) {
  std::lock_guard lk(mu_);
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.fired;
}

void query_watchdog::run() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    auto now = std::chrono::steady_clock::now();
    auto next = std::chrono::steady_clock::time_point::max();
    for (auto& [id, e] : entries_) {
      if (e.fired) continue;
      if (e.deadline <= now) {
        // Under the lock, while the owner's guard (and so its connection) is still alive.
        // The read side only: libpq then sees end-of-file, as when the server goes away (shutting
        // the write side too sends it down an error path that leaks its PGresult).
        ::shutdown(e.fd, SHUT_RD);
        e.fired = true;
        fired_total_.fetch_add(1, std::memory_order_relaxed);
        log_->warn("database {} got no answer in time: connection cut, it will be reopened", e.what);
      } else {
        next = std::min(next, e.deadline);
      }
    }
    if (next == std::chrono::steady_clock::time_point::max())
      cv_.wait(lk);
    else
      cv_.wait_until(lk, next);
  }
}

}  // namespace switchboard::storage
