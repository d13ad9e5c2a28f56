// Apps' secrets at rest, and the signature on their event callbacks.
//
// A callback is signed with the app's own secret (PROTOCOL.md), so the server must be able to read
// the secret back: besides its SHA-256 (which checks the token exchange) it is stored sealed with
// AES-256-GCM under apps.secret_key. The key lives in the server's configuration, never in the
// database, so a copy of the database alone reveals no secret.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::server {

class secret_box {
 public:
  // No key: seal() answers "" and open() nullopt.
  secret_box() = default;
  // From 64 hex digits; nullopt when `hex` is anything else.
  static std::optional<secret_box> from_hex(std::string_view hex);
  bool ready() const { return ready_; }
  // nonce (12 bytes) | ciphertext | tag (16 bytes), as lowercase hex; "" without a key.
  std::string seal_hex(std::string_view plain) const;
  // The plaintext, or nullopt when `sealed_hex` was not sealed under this key (or was altered).
  std::optional<std::string> open_hex(std::string_view sealed_hex) const;

 private:
  std::array<unsigned char, 32> key_{};
  bool ready_ = false;
};

std::string hex_of(std::string_view bytes);
// nullopt when `hex` has an odd length or a character that is not a hex digit.
std::optional<std::string> bytes_of_hex(std::string_view hex);
// Lowercase hex HMAC-SHA256 of `data` keyed by `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

}  // namespace switchboard::server
