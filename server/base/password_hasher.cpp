// scrypt password hashing.
#include "server/base/password_hasher.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace switchboard::server {

namespace {
constexpr std::size_t salt_len = 16;
constexpr std::size_t key_len = 32;

std::string b64(const unsigned char* d, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), d, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

bool unb64(std::string_view s, std::vector<unsigned char>& out) {
  if (s.empty() || s.size() % 4 != 0) return false;
  out.assign(s.size() / 4 * 3, 0);
  int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()),
                            static_cast<int>(s.size()));
  if (len < 0) return false;
  std::size_t pad = 0;
  if (s.back() == '=') ++pad;
  if (s.size() > 1 && s[s.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(len) - pad);
  return true;
}

bool derive(std::string_view pw, const unsigned char* salt, std::size_t salt_n, int log2_n, int r, int p,
            unsigned char* out, std::size_t out_n) {
  std::uint64_t n = std::uint64_t{1} << log2_n;
  // scrypt needs 128 * r * N bytes; leave headroom over it.
  std::uint64_t maxmem = 128ull * static_cast<std::uint64_t>(r) * n * 2 + (1u << 20);
  return EVP_PBE_scrypt(pw.data(), pw.size(), salt, salt_n, n, static_cast<std::uint64_t>(r),
                        static_cast<std::uint64_t>(p), maxmem, out, out_n) == 1;
}
}  // namespace

std::string password_hasher::hash(std::string_view password, int log2_n) {
  std::array<unsigned char, salt_len> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  std::array<unsigned char, key_len> key{};
  if (!derive(password, salt.data(), salt.size(), log2_n, r, p, key.data(), key.size()))
    throw std::runtime_error("scrypt failed");
  return "scrypt$" + std::to_string(log2_n) + "$" + std::to_string(r) + "$" + std::to_string(p) + "$" +
         b64(salt.data(), salt.size()) + "$" + b64(key.data(), key.size());
}

bool password_hasher::verify(std::string_view password, std::string_view encoded) {
  std::array<std::string_view, 6> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::size_t end = i + 1 < parts.size() ? encoded.find('$', start) : encoded.size();
    if (end == std::string_view::npos) return false;
    parts[i] = encoded.substr(start, end - start);
    start = end + 1;
  }
  if (parts[0] != "scrypt") return false;
  auto small_int = [](std::string_view s, int lo, int hi, int& v) {
    if (s.empty() || s.size() > 3) return false;
    v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    return v >= lo && v <= hi;
  };
  int log2_n = 0, rr = 0, pp = 0;
  // Bounds keep a tampered row from making one login cost gigabytes.
  if (!small_int(parts[1], 1, 22, log2_n) || !small_int(parts[2], 1, 32, rr) ||
      !small_int(parts[3], 1, 16, pp))
    return false;
  std::vector<unsigned char> salt, expected;
  if (!unb64(parts[4], salt) || !unb64(parts[5], expected) || expected.empty() || expected.size() > 64)
    return false;
  std::vector<unsigned char> got(expected.size());
  if (!derive(password, salt.data(), salt.size(), log2_n, rr, pp, got.data(), got.size())) return false;
  return CRYPTO_memcmp(got.data(), expected.data(), got.size()) == 0;
}

}  // namespace switchboard::server
