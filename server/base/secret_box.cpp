// AES-256-GCM sealing and HMAC-SHA256 on OpenSSL 3.
#include "server/base/secret_box.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace switchboard::server {

namespace {

constexpr std::size_t nonce_bytes = 12, tag_bytes = 16;
// Binds a sealed value to its use: a value sealed for anything else under the same key fails.
constexpr std::string_view aad = "switchboard app secret v1";

using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

cipher_ctx new_ctx() {
  cipher_ctx c(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!c) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  return c;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string hex_of(std::string_view b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (unsigned char c : b) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::optional<std::string> bytes_of_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::optional<secret_box> secret_box::from_hex(std::string_view hex) {
  auto raw = bytes_of_hex(hex);
  if (!raw || raw->size() != 32) return std::nullopt;
  secret_box b;
  std::copy(raw->begin(), raw->end(), b.key_.begin());
  b.ready_ = true;
  return b;
}

std::string secret_box::seal_hex(std::string_view plain) const {
  if (!ready_) return {};
  unsigned char nonce[nonce_bytes];
  if (RAND_bytes(nonce, sizeof nonce) != 1) throw std::runtime_error("RAND_bytes failed");
  auto c = new_ctx();
  std::string out(nonce_bytes + plain.size() + tag_bytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  std::copy(nonce, nonce + nonce_bytes, o);
  int len = 0, fin = 0;
  if (EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_EncryptUpdate(c.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(c.get(), o + nonce_bytes, &len, bytes(plain), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(c.get(), o + nonce_bytes + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, tag_bytes, o + nonce_bytes + plain.size()) != 1)
    throw std::runtime_error("AES-256-GCM sealing failed");
  return hex_of(out);
}

std::optional<std::string> secret_box::open_hex(std::string_view sealed_hex) const {
  if (!ready_) return std::nullopt;
  auto sealed = bytes_of_hex(sealed_hex);
  if (!sealed || sealed->size() < nonce_bytes + tag_bytes) return std::nullopt;
  const auto* s = bytes(*sealed);
  auto n = sealed->size() - nonce_bytes - tag_bytes;
  std::string plain(n, '\0');
  auto* p = reinterpret_cast<unsigned char*>(plain.data());
  std::array<unsigned char, tag_bytes> tag;
  std::copy(s + nonce_bytes + n, s + sealed->size(), tag.begin());
  auto c = new_ctx();
  int len = 0, fin = 0;
  if (EVP_DecryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, key_.data(), s) != 1 ||
      EVP_DecryptUpdate(c.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(c.get(), p, &len, s + nonce_bytes, static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, tag_bytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(c.get(), p + len, &fin) != 1)
    return std::nullopt;
  return plain;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes(data), data.size(), mac, &len))
    throw std::runtime_error("HMAC-SHA256 failed");
  return hex_of(std::string_view(reinterpret_cast<const char*>(mac), len));
}

}  // namespace switchboard::server
