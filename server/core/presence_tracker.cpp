// Presence on this node.
#include "server/core/presence_tracker.hpp"

#include <algorithm>
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
  std::vector<std::int64_t> dropped, added;
  {
    std::lock_guard lk(mu_);
    dropped = unsubscribe_locked(subscriber.get());
    auto& list = watching_[subscriber.get()];
    for (auto u : users) {
      auto& w = watchers_[u];
      if (w.empty()) added.push_back(u);
      w[subscriber.get()] = subscriber;
      list.push_back(u);
    }
  }
  // A user dropped and added again in one call was never unwatched: tell neither.
  std::vector<std::int64_t> gone;
  for (auto u : dropped)
    if (std::find(added.begin(), added.end(), u) == added.end()) gone.push_back(u);
  added.erase(std::remove_if(added.begin(), added.end(),
                             [&](std::int64_t u) {
                               return std::find(dropped.begin(), dropped.end(), u) != dropped.end();
                             }),
              added.end());
  report(gone, false);
  report(added, true);
}

void presence_tracker::unsubscribe_all(const client_session* subscriber) {
  std::vector<std::int64_t> gone;
  {
    std::lock_guard lk(mu_);
    gone = unsubscribe_locked(subscriber);
  }
  report(gone, false);
}

std::vector<std::int64_t> presence_tracker::unsubscribe_locked(const client_session* subscriber) {
  std::vector<std::int64_t> gone;  // users nobody here watches any more
  auto it = watching_.find(subscriber);
  if (it == watching_.end()) return gone;
  for (auto u : it->second) {
    auto w = watchers_.find(u);
    if (w == watchers_.end()) continue;
    w->second.erase(subscriber);
    if (w->second.empty()) {
      watchers_.erase(w);
      gone.push_back(u);
    }
  }
  watching_.erase(it);
  return gone;
}

void presence_tracker::report(const std::vector<std::int64_t>& users, bool watched) const {
  if (!watch_hook_) return;
  for (auto u : users) watch_hook_(u, watched);
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
