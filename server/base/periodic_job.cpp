// A job that runs again and again.
#include "server/base/periodic_job.hpp"

#include <boost/asio/post.hpp>

namespace switchboard::server {

periodic_job::periodic_job(boost::asio::io_context& ioc, duration interval, run_fn run)
    : strand_(boost::asio::make_strand(ioc)), timer_(strand_), interval_(interval), run_(std::move(run)) {}

void periodic_job::start(duration first) {
  boost::asio::post(strand_, [self = shared_from_this(), first] { self->schedule(first); });
}

void periodic_job::run_soon() {
  boost::asio::post(strand_, [self = shared_from_this()] {
    if (self->running_) {
      self->again_ = true;
      return;
    }
    self->timer_.cancel();
    self->run();
  });
}

void periodic_job::stop() {
  stopped_ = true;
  boost::asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
}

void periodic_job::schedule(duration after) {
  if (stopped_) return;
  timer_.expires_after(after);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->run();
  });
}

void periodic_job::run() {
  if (stopped_ || running_) return;
  running_ = true;
  again_ = false;
  auto once = std::make_shared<std::atomic<bool>>(false);
  run_([self = shared_from_this(), once](std::optional<duration> next) {
    if (once->exchange(true)) return;  // a second call is ignored
    boost::asio::post(self->strand_, [self, next] { self->finished(next); });
  });
}

void periodic_job::finished(std::optional<duration> next) {
  running_ = false;
  if (stopped_) return;
  if (again_) return run();
  schedule(next.value_or(interval_));
}

}  // namespace switchboard::server
