// Integration apps' access tokens.
#include "server/app_auth.hpp"

namespace switchboard::server {

std::optional<storage::app_token_info> app_token_cache::get(const std::string& hash,
                                                            std::int64_t now_ms) const {
  std::lock_guard lock(mu_);
  auto it = map_.find(hash);
  if (it == map_.end() || it->second.info.expires_at_ms <= now_ms ||
      std::chrono::steady_clock::now() - it->second.at > max_age)
    return std::nullopt;
  return it->second.info;
}

void app_token_cache::put(const std::string& hash, const storage::app_token_info& info) {
  std::lock_guard lock(mu_);
  if (map_.size() >= max_entries) {
    // Drop what is stale; if everything is fresh, start over (entries are only a shortcut).
    auto now = std::chrono::steady_clock::now();
    for (auto it = map_.begin(); it != map_.end();)
      it = now - it->second.at > max_age ? map_.erase(it) : std::next(it);
    if (map_.size() >= max_entries) map_.clear();
  }
  map_[hash] = entry{info, std::chrono::steady_clock::now()};
}

void app_token_cache::erase_app(std::int64_t app) {
  std::lock_guard lock(mu_);
  for (auto it = map_.begin(); it != map_.end();)
    it = it->second.info.app == app ? map_.erase(it) : std::next(it);
}

}  // namespace switchboard::server
