// A bounded, thread-safe map whose entries are trusted for `max_age` after they were put: the one
// time-limited cache that the token, app token, member and policy caches are made of. Entries may
// be indexed by a group (a token's user, an app) so that a whole group is dropped at once.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace switchboard::server {

template <class K, class V>
class ttl_cache {
 public:
  using clock = std::chrono::steady_clock;
  // The group an entry belongs to, for erase_group (null: no groups).
  using group_fn = std::int64_t (*)(const V&);

  ttl_cache(clock::duration max_age, std::size_t max_entries, group_fn group = nullptr)
      : max_age_(max_age), max_entries_(max_entries), group_(group) {}

  // The entry when it is younger than max_age.
  std::optional<V> get(const K& key) const {
    std::lock_guard lk(mu_);
    auto it = map_.find(key);
    if (it == map_.end() || clock::now() - it->second.at > max_age_) return std::nullopt;
    return it->second.value;
  }
  // The entry however old (for answers from memory while the source is unreachable).
  std::optional<V> get_any_age(const K& key) const {
    std::lock_guard lk(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    return it->second.value;
  }
  void put(const K& key, V value) {
    std::lock_guard lk(mu_);
    if (map_.size() >= max_entries_ && !map_.count(key)) make_room();
    auto g = group_ ? group_(value) : 0;
    auto [it, fresh] = map_.insert_or_assign(key, entry{std::move(value), clock::now()});
    if (group_ && fresh) groups_[g].push_back(key);
  }
  // Changes an entry in place (its age stays); false when there is none.
  template <class F>
  bool update(const K& key, F&& change) {
    std::lock_guard lk(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    change(it->second.value);
    return true;
  }
  void erase(const K& key) {
    std::lock_guard lk(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return;
    if (group_) {
      auto g = groups_.find(group_(it->second.value));
      if (g != groups_.end()) {
        g->second.erase(std::remove(g->second.begin(), g->second.end(), key), g->second.end());
        if (g->second.empty()) groups_.erase(g);
      }
    }
    map_.erase(it);
  }
  // Every entry of group `g`.
  void erase_group(std::int64_t g) {
    std::lock_guard lk(mu_);
    auto it = groups_.find(g);
    if (it == groups_.end()) return;
    for (const auto& key : it->second) map_.erase(key);
    groups_.erase(it);
  }
  // Every entry whose value `pred` matches (a walk over the whole cache: for rare events).
  template <class Pred>
  void erase_if(Pred pred) {
    std::lock_guard lk(mu_);
    bool erased = false;
    for (auto it = map_.begin(); it != map_.end();) {
      if (pred(it->second.value)) {
        it = map_.erase(it);
        erased = true;
      } else {
        ++it;
      }
    }
    if (!erased || !group_) return;
    for (auto g = groups_.begin(); g != groups_.end();) {
      auto& keys = g->second;
      keys.erase(std::remove_if(keys.begin(), keys.end(), [this](const K& k) { return !map_.count(k); }),
                 keys.end());
      g = keys.empty() ? groups_.erase(g) : std::next(g);
    }
  }
  std::size_t size() const {
    std::lock_guard lk(mu_);
    return map_.size();
  }

 private:
  struct entry {
    V value;
    clock::time_point at;
  };
  // Full: drop what is stale; if everything is fresh, start over (an entry is only a shortcut, a
  // miss costs one query).
  void make_room() {
    auto now = clock::now();
    for (auto it = map_.begin(); it != map_.end();)
      it = now - it->second.at > max_age_ ? map_.erase(it) : std::next(it);
    if (map_.size() >= max_entries_) map_.clear();
    if (!group_) return;
    groups_.clear();
    for (const auto& [key, e] : map_) groups_[group_(e.value)].push_back(key);
  }

  const clock::duration max_age_;
  const std::size_t max_entries_;
  const group_fn group_;
  mutable std::mutex mu_;
  std::unordered_map<K, entry> map_;
  std::unordered_map<std::int64_t, std::vector<K>> groups_;  // the keys in map_ per group
};

}  // namespace switchboard::server
