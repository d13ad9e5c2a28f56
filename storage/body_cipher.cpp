// AES-256-GCM for message bodies, on OpenSSL 3.
#include "storage/body_cipher.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
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

cipher_ctx new_ctx() {
  cipher_ctx c(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!c) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  return c;
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
  ring() = std::move(r);
}

std::string body_cipher::sealing_key_id() {
  return ring().seal_id;
}

std::string body_cipher::seal(std::string_view body) {
  const auto& r = ring();
  if (!r.sealing) return std::string(body);
  unsigned char buf[nonce_bytes + tag_bytes];
  std::string raw(nonce_bytes + body.size() + tag_bytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(raw.data());
  if (RAND_bytes(o, nonce_bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  auto c = new_ctx();
  int len = 0;
  if (EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, r.seal_key.data(), o) != 1 ||
      EVP_EncryptUpdate(c.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(c.get(), o + nonce_bytes, &len, reinterpret_cast<const unsigned char*>(body.data()),
                        static_cast<int>(body.size())) != 1 ||
      EVP_EncryptFinal_ex(c.get(), buf, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, tag_bytes, o + nonce_bytes + body.size()) != 1)
    throw std::runtime_error("sealing a message body failed");
  std::string out;
  out.reserve(prefix.size() + 9 + raw.size() * 4 / 3 + 4);
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
  auto c = new_ctx();
  int len = 0;
  unsigned char fin[tag_bytes];
  if (EVP_DecryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, k->second.data(), in) != 1 ||
      EVP_DecryptUpdate(c.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(c.get(), reinterpret_cast<unsigned char*>(out.data()), &len, in + nonce_bytes,
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, tag_bytes, in + nonce_bytes + n) != 1 ||
      EVP_DecryptFinal_ex(c.get(), fin, &len) != 1)
    throw std::runtime_error("a sealed message body does not open under key " + std::string(id) +
                             " (altered?)");
  return out;
}

}  // namespace switchboard::storage
