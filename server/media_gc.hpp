// Garbage collection of media: uploads never sent in a message are deleted media.gc_grace_s after
// their upload, with their stored bytes once no other upload uses them; and temporaries that a
// crash left behind are swept. Runs every media.gc_interval_s; the work happens on storage and
// file threads, never on the io_context. One node collects at a time (media_store::collect).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>

#include "server/app_context.hpp"

namespace switchboard::server {

class media_gc {
 public:
  // Uploads deleted per storage job; a full batch is followed at once by another.
  static constexpr int batch = 500;
  // A temporary this old belongs to no live upload (each chunk of one must come within 30 s).
  static constexpr std::int64_t temporary_age_s = 3600;

  media_gc(boost::asio::io_context& ioc, app_context& ctx)
      : timer_(boost::asio::make_strand(ioc)), ctx_(ctx) {}
  void start();
  // Thread-safe.
  void stop() {
    stopped_ = true;
    boost::asio::post(timer_.get_executor(), [this] { timer_.cancel(); });
  }

 private:
  void schedule(std::chrono::milliseconds after);
  void collect();
  boost::asio::steady_timer timer_;
  app_context& ctx_;
  std::atomic<bool> stopped_{false};
};

}  // namespace switchboard::server
