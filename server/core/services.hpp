// The services the use cases, the API and the jobs share (the transport's and more), owned by the
// node and outliving every session.
#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>

#include "config/settings.hpp"
#include "server/base/limits.hpp"
#include "server/base/secret_box.hpp"
#include "server/core/app_token_cache.hpp"
#include "server/core/cluster_link.hpp"
#include "server/core/member_cache.hpp"
#include "server/core/policy_cache.hpp"
#include "server/core/presence_tracker.hpp"
#include "server/core/session_registry.hpp"
#include "server/core/sms_sink.hpp"
#include "server/core/token_cache.hpp"
#include "server/core/token_lookup.hpp"
#include "server/net/transport.hpp"
#include "storage/db_health.hpp"
#include "storage/db_pool.hpp"
#include "storage/media_backend.hpp"
#include "storage/writer_pool.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::server {

class call_service;

struct services : transport {
  storage::db_pool& db;
  storage::db_health& health;
  storage::writer_pool& writer;
  session_registry& sessions;
  presence_tracker& presence;
  member_cache& members;
  token_cache& tokens;
  policy_cache& policies;
  sms_sink& sms;
  boost::asio::thread_pool& cpu;      // password hashing and other CPU-heavy work
  storage::media_backend& media;      // where media bytes live
  keyed_rate_limiter& sends;          // per user: limits.sends_per_second
  keyed_rate_limiter& logins;         // per client IP: limits.logins_per_minute
  keyed_rate_limiter& failed_logins;  // per org and mobile: limits.failed_logins_per_minute
  app_token_cache& app_tokens;        // integration apps' access tokens
  keyed_rate_limiter& app_minute;     // per app: apps.requests_per_minute
  keyed_rate_limiter& app_day;        // per app: apps.requests_per_day
  const secret_box& secrets;          // apps.secret_key: apps' secrets sealed for signing callbacks
  keyed_rate_limiter& reports;        // per user: governance.reports_per_hour
  // The client TLS context of callbacks (made once at start: loading the CA store reads files).
  std::shared_ptr<boost::asio::ssl::context> callback_tls;
  // Events to users wherever they are live: the registry on a single node, the cluster otherwise.
  // Every event goes through it; `sessions` is this node's own sessions only.
  fanout& fan;
  cluster_link& cluster;  // presence, admin changes and shared limits (local_link on a single node)
  // Calls (set by the node once built: the service needs these services first).
  call_service* calls = nullptr;
  // Hellos' first-seen tokens, looked up in batches (set by the node).
  token_lookup* hello_tokens = nullptr;  // never null once the node is built
  // An export was requested here: the node's export worker starts it now (set by the node).
  std::function<void()> wake_exports = [] {};
};

}  // namespace switchboard::server
