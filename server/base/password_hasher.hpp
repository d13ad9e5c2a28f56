// Password hashing with scrypt (OpenSSL 3); each hash records its own parameters and salt.
#pragma once

#include <string>
#include <string_view>

namespace switchboard::server {

class password_hasher {
 public:
  static constexpr int r = 8;
  static constexpr int p = 1;
  // CPU-heavy (~100 ms at log2_n = 17): call it off the io_context threads.
  static std::string hash(std::string_view password, int log2_n);
  // Constant-time comparison; false for a malformed or absurdly expensive encoding.
  static bool verify(std::string_view password, std::string_view encoded);
};

}  // namespace switchboard::server
