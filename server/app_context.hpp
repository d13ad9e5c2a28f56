// The services every connection and handler shares, owned by `app` and outliving all sessions.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "config/settings.hpp"
#include "server/connection_registry.hpp"
#include "server/member_cache.hpp"
#include "server/metrics.hpp"
#include "server/presence_tracker.hpp"
#include "server/session_registry.hpp"
#include "server/token_cache.hpp"
#include "storage/db_health.hpp"
#include "storage/db_pool.hpp"
#include "storage/writer_pool.hpp"

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
  storage::writer_pool& writer;
  connection_registry& connections;
  session_registry& sessions;
  presence_tracker& presence;
  member_cache& members;
  token_cache& tokens;
  boost::asio::thread_pool& cpu;  // password hashing and other CPU-heavy work
  std::atomic<bool> draining{false};
};

}  // namespace switchboard::server
