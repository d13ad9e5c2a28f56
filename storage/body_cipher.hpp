// Message bodies at rest (PROTOCOL.md "At rest", docs/security.md): with storage.encryption_key,
// every body the server stores is AES-256-GCM ciphertext named by its key's id, sealed and opened
// here in the server (never in SQL), so a dump of the database reveals no body. Earlier keys
// (storage.decryption_keys) still open what they sealed: keys rotate without rewriting a row.
//
// Stored form: "sb1:<key id>:<base64 of nonce (12) | ciphertext | tag (16)>"; the key id is the
// first 8 hex digits of the key's SHA-256. A body that does not start with "sb1:" is plaintext (a
// JSON object always starts with '{'): rows from before the key was set, and recalled bodies ({}).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::storage {

class body_cipher {
 public:
  // Sets the process's keys, once, before any storage call (the daemon's start); hex keys are
  // validated by the configuration. An empty `seal_hex`: bodies are stored as they are.
  static void install(const std::string& seal_hex, const std::vector<std::string>& open_hex);
  // The text to store for `body`.
  static std::string seal(std::string_view body);
  // The body from its stored text. Throws when it was sealed under a key this process does not
  // have, or was altered (a server misconfiguration: never answered as the body).
  static std::string open(std::string_view stored);
  // The id of the key new bodies are sealed with ("" when none).
  static std::string sealing_key_id();
};

}  // namespace switchboard::storage
