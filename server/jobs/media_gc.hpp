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

#include "server/base/periodic_job.hpp"
#include "server/core/services.hpp"

namespace switchboard::server {

class media_gc {
 public:
  // Uploads deleted per storage job; a full batch is followed at once by another.
  static constexpr int batch = 500;
  // A temporary this old belongs to no live upload (each chunk of one must come within 30 s).
  static constexpr std::int64_t temporary_age_s = 3600;

  media_gc(boost::asio::io_context& ioc, services& ctx)
      : job_(std::make_shared<periodic_job>(ioc, std::chrono::seconds(ctx.cfg.media.gc_interval_s),
                                            [this](periodic_job::done_fn d) { collect(std::move(d)); })),
        ctx_(ctx) {}
  void start() { job_->start(std::chrono::seconds(ctx_.cfg.media.gc_interval_s)); }
  // Thread-safe.
  void stop() { job_->stop(); }

 private:
  void collect(periodic_job::done_fn done);
  std::shared_ptr<periodic_job> job_;
  services& ctx_;
};

}  // namespace switchboard::server
