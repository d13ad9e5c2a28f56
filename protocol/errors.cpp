// Mapping of error codes to their wire names and HTTP statuses: the one place that knows it.
#include "protocol/errors.hpp"

#include <boost/json.hpp>

namespace switchboard::protocol {

namespace {
struct code_info {
  std::string_view name;
  int status;
};
constexpr std::array<code_info, error_code_count> infos{{
    {"bad_request", 400},
    {"unauthorized", 401},
    {"forbidden", 403},
    {"not_found", 404},
    {"conflict", 409},
    {"too_large", 413},
    {"rate_limited", 429},
    {"upgrade_required", 426},
    {"quota_exceeded", 403},
    {"unavailable", 503},
    {"internal", 500},
}};
}  // namespace

std::string_view to_string(error_code c) {
  return infos[static_cast<std::size_t>(c)].name;
}
int http_status(error_code c) {
  return infos[static_cast<std::size_t>(c)].status;
}

std::string encode_http_error(const error& e) {
  boost::json::object inner{{"code", to_string(e.code)}, {"message", e.message}};
  if (e.retry_after_ms) inner["retry_after_ms"] = *e.retry_after_ms;
  boost::json::object body{{"error", std::move(inner)}};
  return boost::json::serialize(body);
}

}  // namespace switchboard::protocol
