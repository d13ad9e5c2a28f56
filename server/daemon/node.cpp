// `switchboard serve`.
#include "server/daemon/node.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <pqxx/connection>
#include <thread>

#include "server/api/http/http_router.hpp"
#include "server/cluster/cluster_node.hpp"
#include "server/core/calls.hpp"
#include "server/core/services.hpp"
#include "server/jobs/change_watch.hpp"
#include "server/jobs/event_dispatcher.hpp"
#include "server/jobs/export_worker.hpp"
#include "server/jobs/governance.hpp"
#include "server/jobs/media_gc.hpp"
#include "server/net/listener.hpp"
#include "server/ops/logging.hpp"
#include "server/ops/metrics.hpp"
#include "server/ops/systemd_notify.hpp"
#include "storage/app_store.hpp"
#include "storage/body_cipher.hpp"
#include "storage/conv_store.hpp"
#include "storage/dept_store.hpp"
#include "storage/directory_store.hpp"
#include "storage/event_store.hpp"
#include "storage/import_store.hpp"
#include "storage/media_store.hpp"
#include "storage/migrator.hpp"
#include "storage/notice_store.hpp"
#include "storage/org_store.hpp"
#include "storage/policy_store.hpp"
#include "storage/statements.hpp"
#include "storage/user_store.hpp"
#include "storage/verification_store.hpp"
#include "storage/writer_pool.hpp"

namespace switchboard::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

namespace {
// How often shutdown checks whether every connection and storage job has finished.
constexpr auto drain_poll_period = std::chrono::milliseconds(20);
// Wait between attempts to reach PostgreSQL at start.
constexpr auto startup_retry_period = std::chrono::milliseconds(500);

std::vector<std::string> all_op_names() {
  return http_router::route_names();
}
// server.trusted_proxies, already validated by the config schema.
std::vector<cidr> parse_trusted(const std::vector<std::string>& entries) {
  std::vector<cidr> out;
  for (const auto& e : entries)
    if (auto c = parse_cidr(e)) out.push_back(*c);
  return out;
}

}  // namespace

struct node::impl {
  config::settings cfg;
  std::shared_ptr<spdlog::logger> log;
  asio::io_context ioc;
  server::metrics stats{all_op_names()};
  storage::query_watchdog query_watch;  // outlives every connection it watches
  storage::query_deadline deadline(const char* what) {
    return {&query_watch, std::chrono::milliseconds(cfg.database.query_timeout_ms), what};
  }
  storage::db_pool db;
  storage::db_health health;
  storage::writer_pool writer;
  connection_registry connections;
  session_registry sessions;
  presence_tracker presence{sessions};
  member_cache members;
  token_cache tokens;
  policy_cache policies;
  token_lookup hello_tokens{db, log};
  asio::thread_pool cpu{2};
  asio::thread_pool files{2};
  // Opened in serve(), once the database is ready.
  std::unique_ptr<storage::media_backend> media = storage::make_local_media_backend(cfg.media.dir);
  sms_sink sms{cfg.sms, log, cpu};
  keyed_rate_limiter send_limiter{static_cast<double>(cfg.limits.sends_per_second),
                                  static_cast<double>(cfg.limits.send_burst)};
  keyed_rate_limiter login_limiter{cfg.limits.logins_per_minute / 60.0,
                                   static_cast<double>(cfg.limits.logins_per_minute)};
  keyed_rate_limiter failed_login_limiter{cfg.limits.failed_logins_per_minute / 60.0,
                                          static_cast<double>(cfg.limits.failed_logins_per_minute)};
  app_token_cache app_tokens;
  secret_box secrets =
      cfg.apps.secret_key.empty() ? secret_box{} : secret_box::from_hex(cfg.apps.secret_key).value();
  keyed_rate_limiter app_minute_limiter{cfg.apps.requests_per_minute / 60.0,
                                        static_cast<double>(cfg.apps.requests_per_minute)};
  keyed_rate_limiter app_day_limiter{cfg.apps.requests_per_day / 86400.0,
                                     static_cast<double>(cfg.apps.requests_per_day)};
  keyed_rate_limiter report_limiter{cfg.governance.reports_per_hour / 3600.0,
                                    static_cast<double>(cfg.governance.reports_per_hour)};
  local_link single{presence};
  // cluster.nats_url set: this node is one of several (docs/cluster.md). Built before `ctx`, which it
  // only keeps a reference to.
  std::unique_ptr<cluster::cluster_node> clustered = make_cluster();
  services ctx;
  http_router router;
  asio::signal_set stop_signals{ioc, SIGTERM, SIGINT};
  asio::signal_set hup_signal{ioc, SIGHUP};
  asio::steady_timer watchdog_timer{ioc};
  asio::steady_timer drain_timer{ioc};
  change_watch changes{ioc, ctx};
  media_gc gc{ioc, ctx};
  event_dispatcher events{ioc, ctx};
  call_service calls{ioc, ctx};
  governance gov{ctx, deadline("governance")};
  export_worker exports{ctx, deadline("export")};
  std::vector<std::shared_ptr<listener>> listeners;
  std::unique_ptr<tls_contexts> tls;  // tls.enabled: the main listener's certificate
  clock::time_point drain_deadline{};
  bool shutting_down = false;

  impl(config::settings c, std::shared_ptr<spdlog::logger> l)
      : cfg(std::move(c)),
        log(std::move(l)),
        ioc(cfg.server.threads > 0 ? cfg.server.threads : std::max(1u, std::thread::hardware_concurrency())),
        query_watch(log),
        db(storage::db_pool::options{cfg.database.url, cfg.database.pool_size, cfg.database.connect_timeout_s,
                                     static_cast<std::size_t>(cfg.database.max_queue),
                                     deadline("storage job")},
           log),
        health(cfg.database.url, storage::latest_builtin_version(),
               std::chrono::milliseconds(cfg.database.health_interval_ms), log, deadline("health probe")),
        writer(cfg.database.writers,
               storage::message_writer::options{
                   cfg.database.url, cfg.database.connect_timeout_s, cfg.database.batch_max_messages,
                   std::chrono::microseconds(cfg.database.batch_max_delay_us),
                   static_cast<std::size_t>(cfg.database.max_queue), deadline("message writer"),
                   // In a cluster, another node may change a membership at any moment: the writer
                   // reads members in the batch's own transaction, in commit order with the change.
                   [this](std::int64_t conv) { return clustered ? nullptr : members.get(conv); }},
               log),
        ctx{{cfg, log, stats, connections, files,
             std::make_shared<ip_connection_limiter>(cfg.server.max_connections_per_ip),
             parse_trusted(cfg.server.trusted_proxies)},
            db,
            health,
            writer,
            sessions,
            presence,
            members,
            tokens,
            policies,
            sms,
            cpu,
            *media,
            send_limiter,
            login_limiter,
            failed_login_limiter,
            app_tokens,
            app_minute_limiter,
            app_day_limiter,
            secrets,
            report_limiter,
            make_client_tls(),
            clustered ? static_cast<fanout&>(*clustered) : static_cast<fanout&>(sessions),
            clustered ? static_cast<cluster_link&>(*clustered) : static_cast<cluster_link&>(single)},
        router(ctx) {
    if (clustered) presence.on_watch_change([this](std::int64_t u, bool on) { clustered->watching(u, on); });
    ctx.calls = &calls;
    ctx.hello_tokens = &hello_tokens;
    ctx.wake_exports = [this] { exports.wake(); };
  }

  std::unique_ptr<cluster::cluster_node> make_cluster() {
    if (cfg.cluster.nats_url.empty()) return nullptr;
    cluster::shared_limiters limits;
    limits.by_limit[static_cast<std::size_t>(shared_limit::sends)] = &send_limiter;
    limits.by_limit[static_cast<std::size_t>(shared_limit::failed_logins)] = &failed_login_limiter;
    limits.by_limit[static_cast<std::size_t>(shared_limit::app_minute)] = &app_minute_limiter;
    limits.by_limit[static_cast<std::size_t>(shared_limit::app_day)] = &app_day_limiter;
    limits.by_limit[static_cast<std::size_t>(shared_limit::reports)] = &report_limiter;
    return std::make_unique<cluster::cluster_node>(ioc, ctx, cfg, log, stats, limits);
  }
  bool prepare_database();
  bool open_listeners();
  void start_signals();
  void wait_hup();
  void start_watchdog(std::chrono::microseconds interval);
  void begin_shutdown(const char* why);
  void poll_drain();
};

node::node(config::settings cfg, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<impl>(std::move(cfg), std::move(log))) {}
node::~node() = default;

// Migrates (or checks the schema) before anything listens. Blocking is fine here: nothing runs yet.
bool node::impl::prepare_database() {
  auto deadline = clock::now() + std::chrono::seconds(cfg.database.startup_timeout_s);
  std::string url = storage::with_connect_timeout(cfg.database.url, cfg.database.connect_timeout_s);
  for (int attempt = 1;; ++attempt) {
    try {
      pqxx::connection conn(url);
      storage::migrator m(conn, storage::builtin_migrations());
      if (cfg.database.migrate_on_start) {
        auto rep = m.migrate();
        for (const auto& name : rep.applied) log->info("applied migration {}", name);
        log->info("schema at version {} (binary knows {})", rep.to_version,
                  storage::latest_builtin_version());
      } else {
        int v = m.current_version();
        if (v > storage::latest_builtin_version())
          throw storage::schema_too_new("the database schema is at version " + std::to_string(v) +
                                        " but this binary knows versions up to " +
                                        std::to_string(storage::latest_builtin_version()));
        if (v < storage::latest_builtin_version())
          log->warn(
              "schema at version {} is behind this binary ({}); /readyz answers 503 until "
              "`switchboard migrate` runs",
              v, storage::latest_builtin_version());
      }
      return true;
    } catch (const storage::schema_too_new& e) {
      log->critical("refusing to start: {}", e.what());
      return false;
    } catch (const pqxx::broken_connection& e) {
      if (clock::now() >= deadline) {
        log->critical("PostgreSQL unreachable for {} s at start, giving up: {}",
                      cfg.database.startup_timeout_s, e.what());
        return false;
      }
      if (attempt == 1) log->warn("waiting for PostgreSQL: {}", e.what());
      std::this_thread::sleep_for(startup_retry_period);
    } catch (const std::exception& e) {
      log->critical("database preparation failed: {}", e.what());
      return false;
    }
  }
}

bool node::impl::open_listeners() {
  auto add = [&](const config::listen_address& a, bool metrics_only) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(a.host, ec);
    if (ec) {
      log->critical("cannot listen on {}: '{}' is not an IP address", a.to_string(), a.host);
      return false;
    }
    // The metrics listener stays plain: it is for scrapers on an internal address.
    auto l = std::make_shared<listener>(ioc, ctx, router, metrics_only, metrics_only ? nullptr : tls.get());
    if (auto e = l->open(tcp::endpoint(addr, a.port))) {
      log->critical("cannot listen on {}: {}", a.to_string(), e.message());
      return false;
    }
    auto ep = l->local_endpoint();
    log->info("{} on {}:{}{}", metrics_only ? "metrics listening" : "listening", ep.address().to_string(),
              ep.port(), !metrics_only && tls ? " (TLS)" : "");
    listeners.push_back(l);
    return true;
  };
  if (!add(cfg.server.listen, false)) return false;
  if (cfg.metrics.listen && !add(*cfg.metrics.listen, true)) return false;
  for (auto& l : listeners) l->run();
  return true;
}

void node::impl::start_signals() {
  stop_signals.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    begin_shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  wait_hup();
}

void node::impl::wait_hup() {
  hup_signal.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    try {
      reopen_log_files();
      log->info("SIGHUP: log file reopened");
      if (tls) {
        // New connections get the new certificate; open ones keep theirs.
        auto why = tls->reload();
        if (why.empty())
          log->info("SIGHUP: TLS certificate reloaded");
        else
          log->error("SIGHUP: TLS certificate not reloaded, keeping the old one: {}", why);
      }
    } catch (const std::exception& e) {
      log->error("SIGHUP: {}", e.what());
    }
    wait_hup();
  });
}

void node::impl::start_watchdog(std::chrono::microseconds interval) {
  // Pinging from an io_context thread proves the event loop itself is alive, not just the process.
  watchdog_timer.expires_after(interval / 2);
  watchdog_timer.async_wait([this, interval](boost::system::error_code ec) {
    if (ec || shutting_down) return;
    systemd::notify_watchdog();
    start_watchdog(interval);
  });
}

void node::impl::begin_shutdown(const char* why) {
  if (shutting_down) return;
  shutting_down = true;
  log->info("{}: draining (grace {} ms)", why, cfg.server.shutdown_grace_ms);
  systemd::notify_stopping();
  ctx.draining.store(true);
  drain_deadline = clock::now() + std::chrono::milliseconds(cfg.server.shutdown_grace_ms);
  for (auto& l : listeners) l->stop();
  watchdog_timer.cancel();
  changes.stop();
  if (clustered) clustered->stop();
  gc.stop();
  events.stop();
  calls.stop();
  gov.stop();
  exports.stop();
  hup_signal.cancel();
  connections.close_all();
  poll_drain();
}

void node::impl::poll_drain() {
  auto pool = db.stats();
  bool idle = connections.size() == 0 && pool.queued == 0 && pool.busy == 0 && writer.stats().queued == 0;
  if (idle || clock::now() >= drain_deadline) {
    if (!idle)
      log->warn("grace period over with {} connections and {} storage jobs left", connections.size(),
                pool.queued + static_cast<std::size_t>(pool.busy));
    ioc.stop();
    return;
  }
  drain_timer.expires_after(drain_poll_period);
  drain_timer.async_wait([this](boost::system::error_code ec) {
    if (!ec) poll_drain();
  });
}

int node::serve() {
  auto& s = *impl_;
  if (s.cfg.tls.enabled) {
    // Before anything else: a certificate problem is a configuration error (exit 2).
    try {
      s.tls = std::make_unique<tls_contexts>(s.cfg.tls.cert_file, s.cfg.tls.key_file);
    } catch (const std::exception& e) {
      s.log->critical("cannot enable TLS: {}", e.what());
      return 2;
    }
  }
  if (!s.prepare_database()) return 1;
  try {
    s.media->open();
  } catch (const std::exception& e) {
    s.log->critical("cannot use media.dir: {}", e.what());
    return 1;
  }
  // Before the first storage call: bodies are sealed and opened from the first message on.
  storage::body_cipher::install(s.cfg.storage.encryption_key, s.cfg.storage.decryption_keys);
  s.db.add_connect_hook(&storage::prepare_all);
  s.writer.add_connect_hook(&storage::prepare_all);
  s.db.start();
  s.writer.start();
  s.health.probe_now();
  s.health.start();
  if (!s.open_listeners()) {
    s.health.stop();
    s.writer.drain(clock::now());
    s.db.drain(clock::now());
    return 1;
  }
  if (s.clustered && !s.clustered->start([&s] { s.changes.run_soon(); })) {
    for (auto& l : s.listeners) l->stop();
    s.health.stop();
    s.writer.drain(clock::now());
    s.db.drain(clock::now());
    return 2;
  }
  s.start_signals();
  s.changes.start();
  s.gc.start();
  s.events.start();
  s.calls.start();
  s.gov.start();
  s.exports.start();
  if (auto wd = systemd::watchdog_interval()) s.start_watchdog(*wd);
  int threads = s.cfg.server.threads > 0
                    ? s.cfg.server.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  systemd::notify_ready("serving on " + s.cfg.server.listen.to_string());
  s.log->info("switchboard ready ({} io threads, {} storage threads)", threads, s.cfg.database.pool_size);

  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : pool) t.join();
  s.gov.join();
  s.exports.join();

  if (s.clustered) s.clustered->leave();  // its rows go, its users' presence with them; the bus closes
  s.writer.drain(s.drain_deadline);
  s.db.drain(s.drain_deadline);
  s.cpu.join();
  s.files.join();
  s.health.stop();
  s.log->info("stopped");
  s.log->flush();
  return 0;
}

}  // namespace switchboard::server
