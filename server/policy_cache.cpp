// Organization policies, cached.
#include "server/policy_cache.hpp"

namespace switchboard::server {

policy_cache::policy_ptr policy_cache::get(std::int64_t org) const {
  std::lock_guard lk(mu_);
  auto it = map_.find(org);
  if (it == map_.end() || std::chrono::steady_clock::now() - it->second.at > max_age) return nullptr;
  return it->second.policy;
}

policy_cache::policy_ptr policy_cache::last_known(std::int64_t org) const {
  std::lock_guard lk(mu_);
  auto it = map_.find(org);
  return it == map_.end() ? nullptr : it->second.policy;
}

policy_cache::policy_ptr policy_cache::put(std::int64_t org, const storage::org_policy& p) {
  auto ptr = std::make_shared<const storage::org_policy>(p);
  std::lock_guard lk(mu_);
  if (map_.size() >= max_entries) map_.clear();
  map_[org] = entry{ptr, std::chrono::steady_clock::now()};
  return ptr;
}

policy_cache::policy_ptr policy_cache::load(pqxx::connection& c, std::int64_t org) {
  if (auto p = get(org)) return p;
  return put(org, storage::policy_store::get(c, org));
}

}  // namespace switchboard::server
