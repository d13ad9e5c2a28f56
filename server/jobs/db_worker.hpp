// A background job on a thread of its own with a PostgreSQL connection of its own: for work that
// runs for minutes (retention over millions of rows, an export), which must hold neither an io
// thread nor a storage-pool thread. Every `interval`, or sooner when woken, it runs `tick` on the
// connection; a tick that throws drops the connection (the next tick opens a new one). The skeleton
// of the governance run and the export worker (periodic_job is the one for short jobs).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/core/services.hpp"
#include "storage/db_link.hpp"

namespace switchboard::server {

class db_worker {
 public:
  using duration = std::chrono::steady_clock::duration;
  using tick_fn = std::function<void(pqxx::connection&)>;

  // The first tick comes after `first` (0: at once).
  db_worker(services& ctx, storage::query_deadline deadline, std::string name, duration interval,
            duration first, tick_fn tick);
  ~db_worker();
  void start();
  // Thread-safe and quick: a tick in progress sees stopping() and ends early.
  void stop();
  // Waits for the thread (after stop(); off the io threads).
  void join();
  // Thread-safe: tick now rather than at the next interval.
  void wake();
  // For a tick: true once stop() was called.
  bool stopping() const;
  // For a tick: sleeps up to `d`; false once stopping.
  bool pause(duration d);

 private:
  void loop();

  services& ctx_;
  std::string name_;
  const duration interval_, first_;
  tick_fn tick_;
  std::vector<storage::db_link::hook> hooks_;
  storage::db_link link_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  int active_fd_ = -1;  // the connection's socket while a tick runs (stop() shuts it down)
};

}  // namespace switchboard::server
