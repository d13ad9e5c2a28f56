// Integration apps' access tokens, verified from memory on the hot path. An entry is trusted for
// max_age, so an app deleted through another node stops working here within that time (through
// this node: at once). Bounded like the user token cache.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "server/base/ttl_cache.hpp"
#include "storage/app_store.hpp"

namespace switchboard::server {

class app_token_cache {
 public:
  static constexpr auto max_age = std::chrono::seconds(30);
  static constexpr std::size_t max_entries = 100000;

  std::optional<storage::app_token_info> get(const std::string& hash, std::int64_t now_ms) const;
  void put(const std::string& hash, const storage::app_token_info& info);
  // Every token of the app (it was deleted).
  void erase_app(std::int64_t app);
  // Every token of the organization (it was deleted).
  void erase_org(std::int64_t org);

 private:
  static std::int64_t app_of(const storage::app_token_info& t) { return t.app; }
  ttl_cache<std::string, storage::app_token_info> cache_{max_age, max_entries, &app_of};
};

}  // namespace switchboard::server
