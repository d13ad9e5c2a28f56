// A background job's own thread and connection.
#include "server/jobs/db_worker.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "storage/statements.hpp"

namespace switchboard::server {

db_worker::db_worker(services& ctx, storage::query_deadline deadline, std::string name, duration interval,
                     duration first, tick_fn tick)
    : ctx_(ctx),
      name_(std::move(name)),
      interval_(interval),
      first_(first),
      tick_(std::move(tick)),
      hooks_{&storage::prepare_all},
      link_(storage::with_session_guards(
                storage::with_connect_timeout(ctx.cfg.database.url, ctx.cfg.database.connect_timeout_s)),
            hooks_, deadline, ctx.log, name_) {}

db_worker::~db_worker() {
  stop();
  join();
}

void db_worker::start() {
  thread_ = std::thread([this] { loop(); });
}

void db_worker::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    // A tick blocked in libpq (a stalled database or network) would hold the shutdown forever:
    // shutting its socket down makes that call fail at once, as the query watchdog does.
    if (active_fd_ >= 0) ::shutdown(active_fd_, SHUT_RDWR);
  }
  cv_.notify_all();
}

void db_worker::join() {
  if (thread_.joinable()) thread_.join();
}

void db_worker::wake() {
  {
    std::lock_guard lk(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool db_worker::stopping() const {
  std::lock_guard lk(mu_);
  return stop_;
}

bool db_worker::pause(duration d) {
  std::unique_lock lk(mu_);
  if (d.count() > 0) cv_.wait_for(lk, d, [this] { return stop_; });
  return !stop_;
}

void db_worker::loop() {
  auto next = std::chrono::steady_clock::now() + first_;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      cv_.wait_until(lk, next, [this] { return stop_ || woken_; });
      if (stop_) return;
      woken_ = false;
    }
    next = std::chrono::steady_clock::now() + interval_;
    auto* c = link_.get();  // none: logged by the link, tried next time
    if (!c) continue;
    {
      std::lock_guard lk(mu_);
      if (stop_) return;
      active_fd_ = c->sock();
    }
    bool failed = false;
    try {
      tick_(*c);
    } catch (const std::exception& e) {
      failed = true;
      if (!stopping())
        ctx_.log->warn("{}: {} (tried again in {} s)", name_, e.what(),
                       std::chrono::duration_cast<std::chrono::seconds>(interval_).count());
    }
    {
      std::lock_guard lk(mu_);
      active_fd_ = -1;  // before the link may close the socket
    }
    if (failed) link_.drop();
  }
}

}  // namespace switchboard::server
