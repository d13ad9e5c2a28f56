// What the transport layer shares: configuration, logs, counters, the open connections and the
// connection limits. Owned by the node; the services of server/core/ extend it.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <vector>

#include "config/settings.hpp"
#include "server/base/limits.hpp"
#include "server/net/connection_registry.hpp"
#include "server/ops/metrics.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::server {

struct transport {
  const config::settings& cfg;
  std::shared_ptr<spdlog::logger> log;
  server::metrics& stats;
  connection_registry& connections;
  boost::asio::thread_pool& files;                        // file I/O of streamed bodies (media)
  std::shared_ptr<ip_connection_limiter> ip_connections;  // server.max_connections_per_ip
  std::vector<cidr> trusted_proxies;                      // server.trusted_proxies, parsed
  std::atomic<bool> draining{false};                      // shutting down: accept nothing new
};

}  // namespace switchboard::server
