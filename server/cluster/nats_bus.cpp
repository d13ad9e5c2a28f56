// The NATS connection.
#include "server/cluster/nats_bus.hpp"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include "server/ops/metrics.hpp"

namespace switchboard::server::cluster {

namespace {

// Reconnect attempts come this often, forever: a bus outage lasts as long as it lasts, and the node
// serves meanwhile.
constexpr std::int64_t reconnect_wait_ms = 250;
// A server that stops answering pings is noticed after ping_interval * max_pings_out: a node cut
// off from the bus (not just a closed socket) learns it within seconds and tells its sessions.
constexpr std::int64_t ping_interval_ms = 1000;
constexpr int max_pings_out = 3;
// Publishes kept while disconnected, sent on reconnect. Over it, publish() fails and the node tells
// every node to resync once it is back (it lost events others needed).
constexpr int reconnect_buffer_bytes = 32 * 1024 * 1024;
// Messages a subscription may have waiting before the client drops them (slow consumer).
constexpr int pending_msgs_limit = 1 << 20;
constexpr int pending_bytes_limit = 512 * 1024 * 1024;
constexpr std::int64_t close_flush_ms = 2000;

void msg_cb(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* bus = static_cast<nats_bus*>(closure);
  bus->client_message(
      natsMsg_GetSubject(msg),
      std::string_view(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))));
  natsMsg_Destroy(msg);
}
void disconnected_cb(natsConnection*, void* closure) {
  static_cast<nats_bus*>(closure)->client_connection(false);
}
void connected_cb(natsConnection*, void* closure) {
  static_cast<nats_bus*>(closure)->client_connection(true);
}
void error_cb(natsConnection*, natsSubscription*, natsStatus s, void* closure) {
  if (s == NATS_SLOW_CONSUMER) static_cast<nats_bus*>(closure)->client_slow_consumer();
}

}  // namespace

nats_bus::nats_bus(std::string url, std::string name, std::shared_ptr<spdlog::logger> log, metrics& stats,
                   handlers h)
    : url_(std::move(url)), name_(std::move(name)), log_(std::move(log)), stats_(stats), h_(std::move(h)) {}

nats_bus::~nats_bus() {
  close();
}

bool nats_bus::start() {
  stats_.bus_state.store(0);
  // One delivery thread for every subscription: per subject, messages arrive in order, and the
  // callbacks only copy and post.
  nats_SetMessageDeliveryPoolSize(1);
  natsOptions* o = nullptr;
  natsStatus s = natsOptions_Create(&o);
  if (s == NATS_OK) s = natsOptions_SetURL(o, url_.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(o, name_.c_str());
  if (s == NATS_OK) s = natsOptions_SetNoEcho(o, true);  // this node delivers its own events itself
  if (s == NATS_OK) s = natsOptions_UseGlobalMessageDelivery(o, true);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, reconnect_wait_ms);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(o, ping_interval_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(o, max_pings_out);
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(o, reconnect_buffer_bytes);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(o, disconnected_cb, this);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(o, connected_cb, this);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(o, error_cb, this);
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(o, true, connected_cb, this);
  if (s != NATS_OK) {
    log_->critical("cluster bus: bad options for {}: {}", url_, natsStatus_GetText(s));
    if (o) natsOptions_Destroy(o);
    return false;
  }
  opts_ = o;
  s = natsConnection_Connect(&conn_, opts_);
  if (s == NATS_OK) {
    client_connection(true);
  } else if (s == NATS_NOT_YET_CONNECTED) {
    log_->warn("cluster bus: {} unreachable, retrying in the background (serving meanwhile)", url_);
  } else {
    log_->critical("cluster bus: cannot connect to {}: {}", url_, natsStatus_GetText(s));
    return false;
  }
  return true;
}

bool nats_bus::publish(const std::string& subject, std::string_view data) {
  if (!conn_ || closing_.load()) return false;
  auto s = natsConnection_Publish(conn_, subject.c_str(), data.data(), static_cast<int>(data.size()));
  if (s != NATS_OK) {
    stats_.bus_publish_failed_total.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  stats_.bus_published_total.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void nats_bus::subscribe(const std::string& subject) {
  if (!conn_) return;
  std::lock_guard lk(mu_);
  auto& e = subs_[subject];
  if (e.count++ > 0) return;
  natsSubscription* sub = nullptr;
  auto s = natsConnection_Subscribe(&sub, conn_, subject.c_str(), msg_cb, this);
  if (s != NATS_OK) {
    // Only when the connection is closed: nothing to deliver to anyway.
    log_->error("cluster bus: cannot subscribe to {}: {}", subject, natsStatus_GetText(s));
    subs_.erase(subject);
    return;
  }
  natsSubscription_SetPendingLimits(sub, pending_msgs_limit, pending_bytes_limit);
  e.s = sub;
}

void nats_bus::unsubscribe(const std::string& subject) {
  natsSubscription* sub = nullptr;
  {
    std::lock_guard lk(mu_);
    auto it = subs_.find(subject);
    if (it == subs_.end() || --it->second.count > 0) return;
    sub = it->second.s;
    subs_.erase(it);
  }
  if (sub) {
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
}

void nats_bus::close() {
  if (closing_.exchange(true)) return;
  if (conn_) {
    natsConnection_FlushTimeout(conn_, close_flush_ms);
    {
      std::lock_guard lk(mu_);
      for (auto& [subject, e] : subs_)
        if (e.s) natsSubscription_Destroy(e.s);
      subs_.clear();
    }
    natsConnection_Close(conn_);
    natsConnection_Destroy(conn_);
    conn_ = nullptr;
  }
  if (opts_) natsOptions_Destroy(opts_);
  opts_ = nullptr;
  stats_.bus_state.store(0);
}

void nats_bus::client_message(std::string_view subject, std::string_view data) {
  stats_.bus_received_total.fetch_add(1, std::memory_order_relaxed);
  if (h_.on_message) h_.on_message(subject, data);
}

void nats_bus::client_connection(bool up) {
  if (closing_.load()) return;
  if (connected_.exchange(up) == up) return;
  stats_.bus_state.store(up ? 1 : 0);
  if (up) {
    log_->info("cluster bus: connected to {}", url_);
    if (h_.on_restored) h_.on_restored();
  } else {
    log_->warn("cluster bus: disconnected from {}; serving on, resync follows when it is back", url_);
    if (h_.on_lost) h_.on_lost();
  }
}

void nats_bus::client_slow_consumer() {
  stats_.bus_dropped_total.fetch_add(1, std::memory_order_relaxed);
  if (h_.on_dropped) h_.on_dropped();
}

}  // namespace switchboard::server::cluster
