// The cluster bus: one NATS connection (the C client from Debian's libnats-dev), core NATS only.
// Publishing buffers and returns (no network wait); subscriptions are counted by subject and all
// delivered through one thread of the client's global delivery pool, so messages of one subject
// arrive in the order published. The client reconnects by itself, forever; while it is away,
// publishes go to its reconnect buffer and are sent when it is back (or fail when it is full).
// `on_message` runs on the client's thread: it must not block (it copies, locks briefly and posts).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

struct __natsConnection;
struct __natsSubscription;
struct __natsOptions;

namespace spdlog {
class logger;
}

namespace switchboard::server {
class metrics;
}

namespace switchboard::server::cluster {

class nats_bus {
 public:
  struct handlers {
    std::function<void(std::string_view subject, std::string_view data)> on_message;
    std::function<void()> on_lost;      // the connection dropped (events may be missed from now)
    std::function<void()> on_restored;  // connected again (or for the first time, after a late start)
    std::function<void()> on_dropped;   // the client dropped messages this node read too slowly
  };

  nats_bus(std::string url, std::string name, std::shared_ptr<spdlog::logger> log, metrics& stats,
           handlers h);
  ~nats_bus();
  nats_bus(const nats_bus&) = delete;
  nats_bus& operator=(const nats_bus&) = delete;

  // Starts connecting; when the server cannot be reached, the client keeps trying in the background
  // (the node serves meanwhile: the database is the truth). False only for an unusable setup.
  bool start();
  // Thread-safe; false when the client would not take it (closed, or its reconnect buffer is full).
  bool publish(const std::string& subject, std::string_view data);
  // Thread-safe, counted: the subscription exists while subscribe() calls outnumber unsubscribe().
  void subscribe(const std::string& subject);
  void unsubscribe(const std::string& subject);
  bool connected() const { return connected_.load(); }
  // Flushes what is buffered (bounded wait) and closes. Blocks: call it off the io threads.
  void close();

  // For the client's callbacks (nats_bus.cpp) only.
  void client_message(std::string_view subject, std::string_view data);
  void client_connection(bool up);
  void client_slow_consumer();

 private:
  const std::string url_, name_;
  std::shared_ptr<spdlog::logger> log_;
  metrics& stats_;
  handlers h_;
  __natsOptions* opts_ = nullptr;
  __natsConnection* conn_ = nullptr;
  std::atomic<bool> connected_{false};
  std::atomic<bool> closing_{false};
  mutable std::mutex mu_;  // subs_
  struct sub {
    __natsSubscription* s = nullptr;
    int count = 0;
  };
  std::unordered_map<std::string, sub> subs_;
};

}  // namespace switchboard::server::cluster
