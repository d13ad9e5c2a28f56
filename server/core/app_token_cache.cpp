// Integration apps' access tokens.
#include "server/core/app_token_cache.hpp"

namespace switchboard::server {

std::optional<storage::app_token_info> app_token_cache::get(const std::string& hash,
                                                            std::int64_t now_ms) const {
  auto t = cache_.get(hash);
  if (!t || t->expires_at_ms <= now_ms) return std::nullopt;
  return t;
}

void app_token_cache::put(const std::string& hash, const storage::app_token_info& info) {
  cache_.put(hash, info);
}

void app_token_cache::erase_app(std::int64_t app) {
  cache_.erase_group(app);
}

void app_token_cache::erase_org(std::int64_t org) {
  cache_.erase_if([org](const storage::app_token_info& t) { return t.org == org; });
}

}  // namespace switchboard::server
