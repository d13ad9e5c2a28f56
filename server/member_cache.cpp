// The conversation member cache.
#include "server/member_cache.hpp"

namespace switchboard::server {

member_cache::members member_cache::get(std::int64_t conv) const {
  std::lock_guard lk(mu_);
  auto it = map_.find(conv);
  if (it == map_.end() || std::chrono::steady_clock::now() - it->second.at > max_age) return nullptr;
  return it->second.ids;
}

void member_cache::put(std::int64_t conv, std::vector<std::int64_t> ids) {
  auto p = std::make_shared<const std::vector<std::int64_t>>(std::move(ids));
  std::lock_guard lk(mu_);
  if (map_.size() >= max_entries) map_.clear();  // crude but bounded; a miss only costs one query
  map_[conv] = entry{std::move(p), std::chrono::steady_clock::now()};
}

void member_cache::erase(std::int64_t conv) {
  std::lock_guard lk(mu_);
  map_.erase(conv);
}

}  // namespace switchboard::server
