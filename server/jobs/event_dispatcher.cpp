// Event callback delivery.
#include "server/jobs/event_dispatcher.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <pqxx/pqxx>
#include <random>

#include "protocol/clock.hpp"
#include "server/base/secret_box.hpp"
#include "server/core/db_call.hpp"
#include "storage/db_pool.hpp"

namespace switchboard::server {

namespace asio = boost::asio;

namespace {

constexpr auto poll_period = std::chrono::seconds(1);

// A lease outlives any attempt, so a node never takes over an event another is still sending.
std::int64_t lease_ms(const config::settings& cfg) {
  return cfg.callbacks.timeout_ms + 10000;
}

// retry_base_ms, doubled per earlier attempt, capped, with +-10% jitter so that many apps whose
// receiver failed together do not come back together.
std::int64_t retry_delay_ms(const config::settings& cfg, int attempts) {
  double d = cfg.callbacks.retry_base_ms;
  for (int i = 1; i < attempts && d < cfg.callbacks.retry_max_ms; ++i) d *= 2;
  d = std::min<double>(d, cfg.callbacks.retry_max_ms);
  thread_local std::mt19937 rng{std::random_device{}()};
  return static_cast<std::int64_t>(d * std::uniform_real_distribution<double>(0.9, 1.1)(rng));
}

// A listener connection that calls `poke` for every notification.
class wakeup : public pqxx::notification_receiver {
 public:
  wakeup(pqxx::connection_base& c, std::function<void()> poke)
      : pqxx::notification_receiver(c, "switchboard_app_events"), poke_(std::move(poke)) {}
  void operator()(const std::string&, int) override { poke_(); }

 private:
  std::function<void()> poke_;
};

}  // namespace

event_dispatcher::event_dispatcher(asio::io_context& ioc, services& ctx)
    : job_(std::make_shared<periodic_job>(ioc, poll_period,
                                          [this](periodic_job::done_fn done) { tick(std::move(done)); })),
      strand_(job_->strand()),
      ctx_(ctx) {}

event_dispatcher::~event_dispatcher() {
  stop();
  if (listener_.joinable()) listener_.join();
}

void event_dispatcher::start() {
  listener_ = std::thread([this] { listen_loop(); });
  job_->start(std::chrono::milliseconds(0));
}

void event_dispatcher::stop() {
  if (stopped_.exchange(true)) return;
  job_->stop();
}

void event_dispatcher::poke() {
  // A claim in progress may have missed the new event: the job claims again right after it.
  job_->run_soon();
}

void event_dispatcher::tick(periodic_job::done_fn done) {
  if (stopped_ || ctx_.draining.load()) return done({});
  int room = ctx_.cfg.callbacks.concurrency - static_cast<int>(busy_apps_.size());
  if (room <= 0) return done({});
  db_call<std::vector<storage::pending_event>>(
      ctx_, strand_,
      [room, lease = lease_ms(ctx_.cfg)](pqxx::connection& c) {
        return protocol::result<std::vector<storage::pending_event>>(
            storage::event_store::claim(c, room, 0, lease));
      },
      [this, done](protocol::result<std::vector<storage::pending_event>> r) {
        if (!r) {
          ctx_.log->warn("callbacks: cannot claim events: {}", r.err().message);
          return done({});
        }
        for (auto& e : r.value()) {
          // An app of ours whose chain just ended its claim empty-handed (this claim leased the
          // head first): the chain takes this one up when it comes back.
          if (!busy_apps_.insert(e.app).second) {
            parked_[e.app] = std::move(e);
            continue;
          }
          send(std::move(e));
        }
        done({});
      });
}

void event_dispatcher::send(storage::pending_event e) {
  if (stopped_) {
    busy_apps_.erase(e.app);  // leased: another node, or this one restarted, takes it up later
    connections_.erase(e.app);
    parked_.erase(e.app);
    return;
  }
  // A message deleted since (retention): nothing left to send.
  if (e.body.empty()) return finish(std::move(e), std::nullopt);
  auto secret = ctx_.secrets.open_hex(e.sealed_secret_hex);
  if (!secret)
    return finish(
        std::move(e),
        storage::event_failure{"the app's secret cannot be unsealed (was apps.secret_key changed?)",
                               retry_delay_ms(ctx_.cfg, e.attempts), ctx_.cfg.callbacks.max_age_s * 1000LL});
  if (auto why = check_callback_url(ctx_.cfg, e.url))
    return finish(std::move(e), storage::event_failure{*why, retry_delay_ms(ctx_.cfg, e.attempts),
                                                       ctx_.cfg.callbacks.max_age_s * 1000LL});
  auto req = callback_request(ctx_.cfg, e.url, e.body, e.delivery_id, *secret);
  // One kept-alive connection per app while its events flow, closed when it has none left.
  auto& conn = connections_[e.app];
  if (!conn) conn = std::make_shared<http_connection>(strand_, ctx_.callback_tls);
  conn->post(std::move(req), [this, e = std::move(e)](outbound_result r) mutable {
    if (r.status >= 200 && r.status < 300) return finish(std::move(e), std::nullopt);
    auto why = r.status ? "HTTP " + std::to_string(r.status) : r.error;
    ctx_.log->debug("callbacks: app {} event {} attempt {} failed: {}", e.app, e.delivery_id, e.attempts,
                    why);
    auto delay = retry_delay_ms(ctx_.cfg, e.attempts);
    finish(std::move(e), storage::event_failure{why, delay, ctx_.cfg.callbacks.max_age_s * 1000LL});
  });
}

void event_dispatcher::finish(storage::pending_event e, std::optional<storage::event_failure> failure) {
  (failure ? ctx_.stats.callbacks_failed_total : ctx_.stats.callbacks_delivered_total)
      .fetch_add(1, std::memory_order_relaxed);
  struct next_event {
    std::optional<storage::pending_event> next;
    std::int64_t dropped = 0;
  };
  auto app = e.app;
  db_call<next_event>(
      ctx_, strand_,
      [e = std::move(e), failure, lease = lease_ms(ctx_.cfg)](pqxx::connection& c) {
        next_event out;
        out.next = storage::event_store::finish(c, e, failure, lease, out.dropped);
        return protocol::result<next_event>(std::move(out));
      },
      [this, app](protocol::result<next_event> r) {
        if (!r) {
          // The lease runs out and the event is claimed again.
          ctx_.log->warn("callbacks: cannot record a delivery for app {}: {}", app, r.err().message);
          busy_apps_.erase(app);
          connections_.erase(app);
          parked_.erase(app);
          return;
        }
        if (r.value().dropped > 0) {
          ctx_.stats.callbacks_dropped_total.fetch_add(static_cast<std::uint64_t>(r.value().dropped),
                                                       std::memory_order_relaxed);
          ctx_.log->warn("callbacks: app {}: gave up on {} events undelivered for {} s", app,
                         r.value().dropped, ctx_.cfg.callbacks.max_age_s);
        }
        if (r.value().next) return send(std::move(*r.value().next));
        if (auto p = parked_.find(app); p != parked_.end()) {
          auto e = std::move(p->second);
          parked_.erase(p);
          return send(std::move(e));
        }
        busy_apps_.erase(app);
        connections_.erase(app);
      });
}

void event_dispatcher::listen_loop() {
  auto url = storage::with_connect_timeout(ctx_.cfg.database.url, ctx_.cfg.database.connect_timeout_s);
  bool warned = false;
  while (!stopped_) {
    try {
      pqxx::connection c(url);
      wakeup w(c, [this] { poke(); });
      if (warned) poke();  // events may have come while the listener was away
      warned = false;
      while (!stopped_) c.await_notification(0, 250000);
      // Stopping. The UNLISTEN that w's destructor sends would wait forever on a connection whose
      // peer vanished without a reset (a crashed PostgreSQL behind a proxy, a dead network): the
      // shutdown hung there (found by the cluster soak). The connection goes with us anyway, so
      // shut its socket first and let the UNLISTEN fail at once (libpqxx logs and swallows it).
      ::shutdown(c.sock(), SHUT_RDWR);
    } catch (const std::exception& e) {
      if (!warned)
        ctx_.log->warn("callbacks: event listener lost the database, polling meanwhile: {}", e.what());
      warned = true;
      for (int i = 0; i < 10 && !stopped_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace switchboard::server
