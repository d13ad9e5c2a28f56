// Watches PostgreSQL from its own thread and connection so that /readyz answers from memory.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "storage/db_pool.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::storage {

class db_health {
 public:
  db_health(std::string url, int expected_version, std::chrono::milliseconds interval,
            std::shared_ptr<spdlog::logger> log, query_deadline deadline = {});
  ~db_health();
  void start();
  void stop();

  bool reachable() const { return reachable_.load(std::memory_order_relaxed); }
  int schema_version() const { return version_.load(std::memory_order_relaxed); }
  int expected_version() const { return expected_; }
  // Ready: PostgreSQL answers and every migration this binary knows is applied.
  bool ready() const { return reachable() && schema_version() == expected_; }

  // Probes once, synchronously (used at start, before the loop runs).
  void probe_now();

 private:
  void run();

  std::string url_;
  int expected_;
  std::chrono::milliseconds interval_;
  query_deadline deadline_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<bool> reachable_{false};
  std::atomic<int> version_{-1};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
  struct connection_holder;
  std::unique_ptr<connection_holder> conn_;
};

}  // namespace switchboard::storage
