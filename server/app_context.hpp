// The services every connection and handler shares, owned by `app` and outliving all sessions.
#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "config/settings.hpp"
#include "server/app_auth.hpp"
#include "server/connection_registry.hpp"
#include "server/limits.hpp"
#include "server/member_cache.hpp"
#include "server/metrics.hpp"
#include "server/policy_cache.hpp"
#include "server/presence_tracker.hpp"
#include "server/secret_box.hpp"
#include "server/session_registry.hpp"
#include "server/sms_sink.hpp"
#include "server/token_cache.hpp"
#include "storage/db_health.hpp"
#include "storage/db_pool.hpp"
#include "storage/media_backend.hpp"
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
  policy_cache& policies;
  sms_sink& sms;
  boost::asio::thread_pool& cpu;                          // password hashing and other CPU-heavy work
  boost::asio::thread_pool& files;                        // media file I/O
  storage::media_backend& media;                          // where media bytes live
  std::shared_ptr<ip_connection_limiter> ip_connections;  // server.max_connections_per_ip
  keyed_rate_limiter& sends;                              // per user: limits.sends_per_second
  keyed_rate_limiter& logins;                             // per client IP: limits.logins_per_minute
  keyed_rate_limiter& failed_logins;  // per org and mobile: limits.failed_logins_per_minute
  app_token_cache& app_tokens;        // integration apps' access tokens
  keyed_rate_limiter& app_minute;     // per app: apps.requests_per_minute
  keyed_rate_limiter& app_day;        // per app: apps.requests_per_day
  const secret_box& secrets;          // apps.secret_key: apps' secrets sealed for signing callbacks
  // The client TLS context of callbacks (made once at start: loading the CA store reads files).
  std::shared_ptr<boost::asio::ssl::context> callback_tls;
  std::vector<cidr> trusted_proxies;  // server.trusted_proxies, parsed
  std::atomic<bool> draining{false};
};

}  // namespace switchboard::server
