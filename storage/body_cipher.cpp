// AES-256-GCM for message bodies, on OpenSSL 3.
#include "storage/body_cipher.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>

namespace switchboard::storage {

namespace {

constexpr std::size_t nonce_bytes = 12, tag_bytes = 16, key_bytes = 32;
constexpr std::string_view prefix = "sb1:";
// Binds a sealed value to its use: an app secret sealed under the same key does not open here.
constexpr std::string_view aad = "switchboard message body v1";

using key = std::array<unsigned char, key_bytes>;

struct keyring {
  std::uint64_t generation = 0;  // install() count: a thread's cached contexts follow it
  bool sealing = false;
  std::string seal_id;
  key seal_key{};
  std::map<std::string, key, std::less<>> by_id;
};

keyring& ring() {
  static keyring r;
  return r;
}

using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

// Fetched once: an implicit fetch on every init was a fifth of a seal's time (profiled).
const EVP_CIPHER* aes_256_gcm() {
  static const std::unique_ptr<EVP_CIPHER, decltype(&EVP_CIPHER_free)> c(
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr), &EVP_CIPHER_free);
  if (!c) throw std::runtime_error("AES-256-GCM is not available");
  return c.get();
}

// A context with the key schedule done, for one key and direction; each body then only sets its
// nonce (the key setup per body was almost half of a seal's time, profiled).
cipher_ctx keyed_ctx(const unsigned char* key, bool encrypt) {
  cipher_ctx c(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!c || EVP_CipherInit_ex(c.get(), aes_256_gcm(), nullptr, key, nullptr, encrypt ? 1 : 0) != 1)
    throw std::runtime_error("cannot set up AES-256-GCM");
  return c;
}

// Each thread's contexts and a pool of random bytes for nonces (one RAND_bytes call per 341
// nonces: a call per body was a quarter of a seal's time, profiled).
struct thread_state {
  std::uint64_t generation = ~std::uint64_t{0};
  cipher_ctx seal{nullptr, &EVP_CIPHER_CTX_free};
  std::map<std::string, cipher_ctx, std::less<>> open;
  std::array<unsigned char, 4092> pool{};
  std::size_t used = 4092;

  void follow(const keyring& r);
  const unsigned char* nonce() {
    if (used + nonce_bytes > pool.size()) {
      if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1)
        throw std::runtime_error("RAND_bytes failed");
      used = 0;
    }
    used += nonce_bytes;
    return pool.data() + used - nonce_bytes;
  }
};

thread_state& mine() {
  thread_local thread_state t;
  return t;
}

void thread_state::follow(const keyring& r) {
  if (generation == r.generation) return;
  seal = r.sealing ? keyed_ctx(r.seal_key.data(), true) : cipher_ctx{nullptr, &EVP_CIPHER_CTX_free};
  open.clear();
  generation = r.generation;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

key key_of_hex(const std::string& hex) {
  if (hex.size() != key_bytes * 2) throw std::invalid_argument("a body key must be 64 hex digits");
  key k{};
  for (std::size_t i = 0; i < key_bytes; ++i) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) throw std::invalid_argument("a body key must be 64 hex digits");
    k[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return k;
}

std::string id_of(const key& k) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(k.data(), k.size(), digest);
  static constexpr char digits[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    id.push_back(digits[digest[i] >> 4]);
    id.push_back(digits[digest[i] & 15]);
  }
  return id;
}

std::string base64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::string unbase64(std::string_view s) {
  if (s.size() % 4 != 0) throw std::runtime_error("a sealed body is not base64");
  std::string out(3 * s.size() / 4, '\0');
  int len = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (len < 0) throw std::runtime_error("a sealed body is not base64");
  // EVP_DecodeBlock counts the padding's zero bytes too.
  std::size_t pad = 0;
  if (!s.empty() && s.back() == '=') ++pad;
  if (s.size() > 1 && s[s.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(len) - pad);
  return out;
}

}  // namespace

void body_cipher::install(const std::string& seal_hex, const std::vector<std::string>& open_hex) {
  keyring r;
  for (const auto& hex : open_hex) {
    auto k = key_of_hex(hex);
    r.by_id[id_of(k)] = k;
  }
  if (!seal_hex.empty()) {
    r.seal_key = key_of_hex(seal_hex);
    r.seal_id = id_of(r.seal_key);
    r.by_id[r.seal_id] = r.seal_key;
    r.sealing = true;
  }
  r.generation = ring().generation + 1;
  ring() = std::move(r);
}

std::string body_cipher::sealing_key_id() {
  return ring().seal_id;
}

std::string body_cipher::seal(std::string_view body) {
  const auto& r = ring();
  if (!r.sealing) return std::string(body);
  auto& t = mine();
  t.follow(r);
  std::string raw(nonce_bytes + body.size() + tag_bytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(raw.data());
  std::copy_n(t.nonce(), nonce_bytes, o);
  int len = 0;
  unsigned char fin[tag_bytes];
  auto* c = t.seal.get();
  if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, o) != 1 ||
      EVP_EncryptUpdate(c, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(c, o + nonce_bytes, &len, reinterpret_cast<const unsigned char*>(body.data()),
                        static_cast<int>(body.size())) != 1 ||
      EVP_EncryptFinal_ex(c, fin, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, tag_bytes, o + nonce_bytes + body.size()) != 1)
    throw std::runtime_error("sealing a message body failed");
  std::string out;
  out.reserve(prefix.size() + r.seal_id.size() + 1 + 4 * ((raw.size() + 2) / 3));
  out.append(prefix).append(r.seal_id).append(":").append(base64(o, raw.size()));
  return out;
}

std::string body_cipher::open(std::string_view stored) {
  if (stored.substr(0, prefix.size()) != prefix) return std::string(stored);
  auto rest = stored.substr(prefix.size());
  auto colon = rest.find(':');
  if (colon == std::string_view::npos) throw std::runtime_error("a sealed body without its key id");
  auto id = rest.substr(0, colon);
  const auto& r = ring();
  auto k = r.by_id.find(id);
  if (k == r.by_id.end())
    throw std::runtime_error("a message body sealed under key " + std::string(id) +
                             ", which is not in storage.encryption_key or storage.decryption_keys");
  auto raw = unbase64(rest.substr(colon + 1));
  if (raw.size() < nonce_bytes + tag_bytes) throw std::runtime_error("a sealed body is too short");
  auto* in = reinterpret_cast<unsigned char*>(raw.data());
  auto n = raw.size() - nonce_bytes - tag_bytes;
  std::string out(n, '\0');
  auto& t = mine();
  t.follow(r);
  auto ctx = t.open.find(id);
  if (ctx == t.open.end()) ctx = t.open.emplace(std::string(id), keyed_ctx(k->second.data(), false)).first;
  auto* c = ctx->second.get();
  int len = 0;
  unsigned char fin[tag_bytes];
  if (EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, in) != 1 ||
      EVP_DecryptUpdate(c, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(c, reinterpret_cast<unsigned char*>(out.data()), &len, in + nonce_bytes,
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, tag_bytes, in + nonce_bytes + n) != 1 ||
      EVP_DecryptFinal_ex(c, fin, &len) != 1)
    throw std::runtime_error("a sealed message body does not open under key " + std::string(id) +
                             " (altered?)");
  return out;
}

}  // namespace switchboard::storage
