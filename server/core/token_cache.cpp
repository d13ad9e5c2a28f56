// The token cache and token generation.
#include "server/core/token_cache.hpp"

#include "server/base/secret_box.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>

namespace switchboard::server {

std::optional<storage::token_info> token_cache::get(const std::string& hash, std::int64_t now_ms) const {
  auto e = cache_.get(hash);
  if (!e || e->info.expires_at_ms <= now_ms) return std::nullopt;
  return e->info;
}

void token_cache::put(const std::string& hash, const storage::token_info& info) {
  cache_.put(hash, entry{info, std::nullopt});
}

void token_cache::put_user(const std::string& hash, const protocol::user& user) {
  cache_.update(hash, [&](entry& e) { e.user = user; });
}

std::optional<std::pair<storage::token_info, protocol::user>> token_cache::get_with_user(
    const std::string& hash, std::int64_t now_ms) const {
  auto e = cache_.get(hash);
  if (!e || !e->user || e->info.expires_at_ms <= now_ms) return std::nullopt;
  return std::make_pair(e->info, *e->user);
}

void token_cache::erase(const std::string& hash) {
  cache_.erase(hash);
}

void token_cache::erase_user(std::int64_t user) {
  cache_.erase_group(user);
}

void token_cache::erase_org(std::int64_t org) {
  cache_.erase_if([org](const entry& e) { return e.info.org_id == org; });
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
