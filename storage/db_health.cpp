// Periodic PostgreSQL probe feeding /readyz.
#include "storage/db_health.hpp"

#include <spdlog/spdlog.h>

#include <pqxx/connection>
#include <pqxx/pqxx>

#include "storage/db_pool.hpp"

namespace switchboard::storage {

struct db_health::connection_holder {
  std::unique_ptr<pqxx::connection> conn;
};

db_health::db_health(std::string url, int expected_version, std::chrono::milliseconds interval,
                     std::shared_ptr<spdlog::logger> log, query_deadline deadline)
    : url_(with_connect_timeout(url, std::max<int>(1, static_cast<int>(interval.count() / 1000) + 1))),
      expected_(expected_version),
      interval_(interval),
      deadline_(deadline),
      log_(std::move(log)),
      conn_(std::make_unique<connection_holder>()) {}

db_health::~db_health() {
  stop();
}

void db_health::start() {
  thread_ = std::thread([this] { run(); });
}

void db_health::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void db_health::probe_now() {
  bool was = reachable_.load(std::memory_order_relaxed);
  try {
    if (!conn_->conn || !conn_->conn->is_open()) conn_->conn = std::make_unique<pqxx::connection>(url_);
    auto armed = arm(*conn_->conn, deadline_);
    pqxx::nontransaction n(*conn_->conn);
    auto r = n.exec(
        "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 "
        "ELSE (SELECT coalesce(max(version), 0) FROM schema_migrations) END");
    version_.store(r[0][0].as<int>(), std::memory_order_relaxed);
    reachable_.store(true, std::memory_order_relaxed);
    if (!was) log_->info("PostgreSQL is reachable (schema version {})", schema_version());
  } catch (const std::exception& e) {
    conn_->conn.reset();
    reachable_.store(false, std::memory_order_relaxed);
    if (was) log_->warn("PostgreSQL is unreachable: {}", e.what());
  }
}

void db_health::run() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    lk.unlock();
    probe_now();
    lk.lock();
    cv_.wait_for(lk, interval_, [&] { return stop_; });
  }
  conn_->conn.reset();
}

}  // namespace switchboard::storage
