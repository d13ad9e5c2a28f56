// The spec's error codes, their HTTP statuses, and a result type for expected domain failures.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace switchboard::protocol {

// Order matters: metrics index their per-code counters by this value.
enum class error_code : std::uint8_t {
  bad_request,
  unauthorized,
  forbidden,
  not_found,
  conflict,
  too_large,
  rate_limited,
  upgrade_required,
  quota_exceeded,
  unavailable,
  internal,
};
inline constexpr std::size_t error_code_count = 11;

std::string_view to_string(error_code c);
int http_status(error_code c);

struct error {
  error_code code;
  std::string message;
  std::optional<std::int64_t> retry_after_ms{};
};

// The HTTP error body of the spec: {"error":{"code":"...","message":"..."}}.
std::string encode_http_error(const error& e);

template <class T>
class result {
 public:
  result(T value) : v_(std::move(value)) {}
  result(error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const error& err() const { return std::get<1>(v_); }
  // The value, as for std::optional (only when ok()).
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, error> v_;
};

}  // namespace switchboard::protocol
