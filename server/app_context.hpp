// The services every connection and handler shares, owned by `app` and outliving all sessions.
#pragma once

#include <atomic>
#include <memory>

#include "config/settings.hpp"
#include "server/connection_registry.hpp"
#include "server/metrics.hpp"
#include "storage/db_health.hpp"
#include "storage/db_pool.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::server {

struct app_context {
  const config::settings& cfg;
  std::shared_ptr<spdlog::logger> log;
  server::metrics& stats;
  storage::db_pool& db;
  storage::db_health& health;
  connection_registry& connections;
  std::atomic<bool> draining{false};
};

}  // namespace switchboard::server
