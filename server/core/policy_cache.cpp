// Organization policies, cached.
#include "server/core/policy_cache.hpp"

namespace switchboard::server {

policy_cache::policy_ptr policy_cache::get(std::int64_t org) const {
  return cache_.get(org).value_or(nullptr);
}

policy_cache::policy_ptr policy_cache::last_known(std::int64_t org) const {
  return cache_.get_any_age(org).value_or(nullptr);
}

policy_cache::policy_ptr policy_cache::put(std::int64_t org, const storage::org_policy& p) {
  auto ptr = std::make_shared<const storage::org_policy>(p);
  cache_.put(org, ptr);
  return ptr;
}

policy_cache::policy_ptr policy_cache::load(pqxx::connection& c, std::int64_t org) {
  if (auto p = get(org)) return p;
  return put(org, storage::policy_store::get(c, org));
}

}  // namespace switchboard::server
