// The token cache and token generation.
#include "server/token_cache.hpp"

#include "server/secret_box.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>

namespace switchboard::server {

std::optional<storage::token_info> token_cache::get(const std::string& hash, std::int64_t now_ms) const {
  std::lock_guard lk(mu_);
  auto it = map_.find(hash);
  if (it == map_.end()) return std::nullopt;
  if (std::chrono::steady_clock::now() - it->second.at > max_age || it->second.info.expires_at_ms <= now_ms)
    return std::nullopt;
  return it->second.info;
}

void token_cache::put(const std::string& hash, const storage::token_info& info) {
  std::lock_guard lk(mu_);
  if (map_.size() >= max_entries) {  // bounded; a miss costs one query
    map_.clear();
    by_user_.clear();
  }
  auto [it, fresh] = map_.insert_or_assign(hash, entry{info, std::chrono::steady_clock::now(), std::nullopt});
  if (fresh) by_user_[info.user_id].push_back(hash);
}

void token_cache::put_user(const std::string& hash, const protocol::user& user) {
  std::lock_guard lk(mu_);
  auto it = map_.find(hash);
  if (it != map_.end()) it->second.user = user;
}

std::optional<std::pair<storage::token_info, protocol::user>> token_cache::get_with_user(
    const std::string& hash, std::int64_t now_ms) const {
  std::lock_guard lk(mu_);
  auto it = map_.find(hash);
  if (it == map_.end() || !it->second.user) return std::nullopt;
  if (std::chrono::steady_clock::now() - it->second.at > max_age || it->second.info.expires_at_ms <= now_ms)
    return std::nullopt;
  return std::make_pair(it->second.info, *it->second.user);
}

void token_cache::erase(const std::string& hash) {
  std::lock_guard lk(mu_);
  auto it = map_.find(hash);
  if (it == map_.end()) return;
  auto u = by_user_.find(it->second.info.user_id);
  if (u != by_user_.end()) {
    u->second.erase(std::remove(u->second.begin(), u->second.end(), hash), u->second.end());
    if (u->second.empty()) by_user_.erase(u);
  }
  map_.erase(it);
}

void token_cache::erase_user(std::int64_t user) {
  std::lock_guard lk(mu_);
  auto u = by_user_.find(user);
  if (u == by_user_.end()) return;
  for (const auto& hash : u->second) map_.erase(hash);
  by_user_.erase(u);
}

std::string new_token() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned bits = 0, acc = 0;
  for (auto b : raw) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 63]);
    }
  }
  if (bits) out.push_back(alphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::string token_hash(const std::string& token) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d);
  return hex_of(std::string_view(reinterpret_cast<const char*>(d), sizeof d));
}

}  // namespace switchboard::server
