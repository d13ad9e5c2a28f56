// Presence on this node: who is online, when they were last seen, and who subscribed to whom. In a
// cluster, who is online and when they were last seen come from server/cluster/ (the database and
// the bus); the subscriptions stay here, and the cluster is told which users are watched.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/core/client_session.hpp"
#include "server/core/session_registry.hpp"

namespace switchboard::server {

class presence_tracker {
 public:
  explicit presence_tracker(session_registry& registry) : registry_(registry) {}

  struct state {
    bool online = false;
    std::optional<std::int64_t> last_seen_ms;
  };
  state get(std::int64_t user) const;

  // Replaces the set of users `subscriber` watches.
  void subscribe(const std::shared_ptr<client_session>& subscriber, const std::vector<std::int64_t>& users);
  void unsubscribe_all(const client_session* subscriber);

  // Called when a user's first session opens / last session closes: notifies subscribers.
  void came_online(std::int64_t user);
  void went_offline(std::int64_t user, std::int64_t now_ms);
  // Sends a `presence` event to this node's subscribers of `user`. Thread-safe.
  void notify(std::int64_t user, bool online, std::optional<std::int64_t> last_seen);
  // Told (outside the lock) when a user gets a first subscriber here (true) or loses the last one.
  // Set once, before any session.
  void on_watch_change(std::function<void(std::int64_t user, bool watched)> fn) {
    watch_hook_ = std::move(fn);
  }

 private:
  std::vector<std::int64_t> unsubscribe_locked(const client_session* subscriber);
  void report(const std::vector<std::int64_t>& users, bool watched) const;
  std::function<void(std::int64_t, bool)> watch_hook_;

  session_registry& registry_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, std::int64_t> last_seen_;
  std::unordered_map<std::int64_t, std::unordered_map<const client_session*, std::weak_ptr<client_session>>>
      watchers_;  // watched user -> subscribers
  std::unordered_map<const client_session*, std::vector<std::int64_t>> watching_;
};

}  // namespace switchboard::server
