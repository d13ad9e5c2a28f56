// Verified tokens, so hello and HTTP calls skip the database on the hot path. Bounded; logout
// and suspension on this node erase at once; entries expire so other nodes' revocations apply.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/base/ttl_cache.hpp"
#include "storage/user_store.hpp"

namespace switchboard::server {

class token_cache {
 public:
  static constexpr auto max_age = std::chrono::seconds(30);
  static constexpr std::size_t max_entries = 200000;

  std::optional<storage::token_info> get(const std::string& hash, std::int64_t now_ms) const;
  void put(const std::string& hash, const storage::token_info& info);
  // The token's user as a hello last read it: what a hello answers while PostgreSQL is down.
  void put_user(const std::string& hash, const protocol::user& user);
  std::optional<std::pair<storage::token_info, protocol::user>> get_with_user(const std::string& hash,
                                                                              std::int64_t now_ms) const;
  void erase(const std::string& hash);
  void erase_user(std::int64_t user);
  // Every token of the organization (it was deleted).
  void erase_org(std::int64_t org);

 private:
  struct entry {
    storage::token_info info;
    std::optional<protocol::user> user;
  };
  static std::int64_t user_of(const entry& e) { return e.info.user_id; }
  ttl_cache<std::string, entry> cache_{max_age, max_entries, &user_of};
};

// 32 random bytes, base64url without padding (256 bits).
std::string new_token();
// Lowercase hex SHA-256 of a token: what the database stores.
std::string token_hash(const std::string& token);

}  // namespace switchboard::server
