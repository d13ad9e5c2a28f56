// Deadlines for database round trips. libpq blocks in recv() for as long as the server does not
// answer, and a connection whose packets vanish (a stalled network, a black-holed proxy, a frozen
// PostgreSQL host) never answers: TCP keepalives do not help while the kernel keeps acknowledging.
// A storage thread arms a deadline around each round trip; if it passes, this watchdog's thread
// shuts the connection's socket down, libpq's blocked call fails as a broken connection, and the
// caller reports `unavailable` (or in doubt, during COMMIT) and reconnects, so sends fail fast
// instead of queueing behind a stall.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace spdlog {
class logger;
}

namespace switchboard::storage {

class query_watchdog {
 public:
  explicit query_watchdog(std::shared_ptr<spdlog::logger> log);
  ~query_watchdog();
  query_watchdog(const query_watchdog&) = delete;
  query_watchdog& operator=(const query_watchdog&) = delete;

  // Armed while it lives. The socket is only touched while the guard is alive, so the thread
  // that owns the connection may close it right after the guard is gone.
  class guard {
   public:
    guard() = default;
    guard(query_watchdog* w, std::uint64_t id) : w_(w), id_(id) {}
    guard(guard&& o) noexcept : w_(o.w_), id_(o.id_) { o.w_ = nullptr; }
    guard& operator=(guard&& o) noexcept;
    guard(const guard&) = delete;
    ~guard();
    bool fired() const;  // the deadline passed and the socket was shut down

   private:
    query_watchdog* w_ = nullptr;
    std::uint64_t id_ = 0;
  };

  // `fd` is the connection's socket; a timeout of zero or a negative fd arms nothing.
  guard arm(int fd, std::chrono::milliseconds timeout, const char* what);
  std::uint64_t fired_total() const { return fired_total_.load(std::memory_order_relaxed); }

 private:
  struct entry {
    int fd;
    std::chrono::steady_clock::time_point deadline;
    const char* what;
    bool fired = false;
  };
  void run();
  void disarm(std::uint64_t id);
  bool fired(std::uint64_t id);

  std::shared_ptr<spdlog::logger> log_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, entry> entries_;
  std::uint64_t next_id_ = 1;
  bool stop_ = false;
  std::atomic<std::uint64_t> fired_total_{0};
  std::thread thread_;
};

}  // namespace switchboard::storage
