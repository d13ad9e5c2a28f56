// A job that runs again and again on its own strand, one run at a time: a run is handed `done`,
// which it calls when its (asynchronous) work is over, and the next run comes `interval` later,
// or sooner when the run asked for it or someone called run_soon(). The skeleton of every
// background job (server/jobs/).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace switchboard::server {

class periodic_job : public std::enable_shared_from_this<periodic_job> {
 public:
  using duration = std::chrono::steady_clock::duration;
  using executor = boost::asio::strand<boost::asio::io_context::executor_type>;
  // Called when a run is over; `next`: when to run again (the interval when empty).
  using done_fn = std::function<void(std::optional<duration> next)>;
  // One run, on the strand. It must call `done` exactly once, on any thread.
  using run_fn = std::function<void(done_fn done)>;

  periodic_job(boost::asio::io_context& ioc, duration interval, run_fn run);
  // The first run comes after `first` (0: at once).
  void start(duration first);
  // Thread-safe: run as soon as the run in progress (if any) is over.
  void run_soon();
  // Thread-safe and final: no run starts after it (one in progress finishes).
  void stop();
  const executor& strand() const { return strand_; }

 private:
  void schedule(duration after);
  void run();
  void finished(std::optional<duration> next);

  executor strand_;
  boost::asio::steady_timer timer_;
  const duration interval_;
  run_fn run_;
  bool running_ = false;  // on the strand
  bool again_ = false;    // run_soon() during a run
  std::atomic<bool> stopped_{false};
};

}  // namespace switchboard::server
