// Organization policies as this node last read them. Entries expire after max_age so that a change
// made through another node applies here too; a change made here replaces the entry at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <pqxx/connection>

#include "server/base/ttl_cache.hpp"
#include "storage/policy_store.hpp"

namespace switchboard::server {

class policy_cache {
 public:
  static constexpr auto max_age = std::chrono::seconds(10);
  static constexpr std::size_t max_entries = 100000;

  using policy_ptr = std::shared_ptr<const storage::org_policy>;

  // The cached policy, or null when absent or stale.
  policy_ptr get(std::int64_t org) const;
  // The policy as last read, however old (null when never read): for answers from memory.
  policy_ptr last_known(std::int64_t org) const;
  policy_ptr put(std::int64_t org, const storage::org_policy& p);
  // The cached policy, or read now (a storage thread only).
  policy_ptr load(pqxx::connection& c, std::int64_t org);

 private:
  ttl_cache<std::int64_t, policy_ptr> cache_{max_age, max_entries};
};

}  // namespace switchboard::server
