// Correlation ids for internal errors.
#include "server/ops/correlation.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <array>

namespace switchboard::server {

std::string new_correlation_id() {
  std::array<unsigned char, 8> raw{};
  RAND_bytes(raw.data(), static_cast<int>(raw.size()));
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (auto b : raw) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

protocol::error internal_error(spdlog::logger& log, std::string_view context, std::string_view detail) {
  auto id = new_correlation_id();
  log.error("internal error [correlation_id={}] in {}: {}", id, context, detail);
  return protocol::error{protocol::error_code::internal, "internal error, correlation id " + id};
}

}  // namespace switchboard::server
