// Presence on this node.
#include "server/core/presence_tracker.hpp"

#include <boost/json.hpp>

#include "protocol/types.hpp"

namespace switchboard::server {

presence_tracker::state presence_tracker::get(std::int64_t user) const {
  state s;
  s.online = registry_.online(user);
  if (!s.online) {
    std::lock_guard lk(mu_);
    if (auto it = last_seen_.find(user); it != last_seen_.end()) s.last_seen_ms = it->second;
  }
  return s;
}

void presence_tracker::subscribe(const std::shared_ptr<client_session>& subscriber,
                                 const std::vector<std::int64_t>& users) {
  unsubscribe_all(subscriber.get());
  std::lock_guard lk(mu_);
  auto& list = watching_[subscriber.get()];
  for (auto u : users) {
    watchers_[u][subscriber.get()] = subscriber;
    list.push_back(u);
  }
}

void presence_tracker::unsubscribe_all(const client_session* subscriber) {
  std::lock_guard lk(mu_);
  auto it = watching_.find(subscriber);
  if (it == watching_.end()) return;
  for (auto u : it->second) {
    auto w = watchers_.find(u);
    if (w == watchers_.end()) continue;
    w->second.erase(subscriber);
    if (w->second.empty()) watchers_.erase(w);
  }
  watching_.erase(it);
}

void presence_tracker::came_online(std::int64_t user) {
  notify(user, true, std::nullopt);
}

void presence_tracker::went_offline(std::int64_t user, std::int64_t now_ms) {
  {
    std::lock_guard lk(mu_);
    last_seen_[user] = now_ms;
  }
  notify(user, false, now_ms);
}

void presence_tracker::notify(std::int64_t user, bool online, std::optional<std::int64_t> last_seen) {
  std::vector<std::shared_ptr<client_session>> targets;
  {
    std::lock_guard lk(mu_);
    auto it = watchers_.find(user);
    if (it == watchers_.end()) return;
    for (auto& [p, w] : it->second)
      if (auto s = w.lock()) targets.push_back(std::move(s));
  }
  boost::json::object data{{"user", protocol::id_string(user)}, {"online", online}};
  data["last_seen"] = last_seen ? boost::json::value(*last_seen) : boost::json::value(nullptr);
  auto frame = event_frame("presence", std::move(data));
  for (auto& t : targets) t->deliver(frame);
}

}  // namespace switchboard::server
