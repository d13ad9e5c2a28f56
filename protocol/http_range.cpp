// Byte ranges and entity tags.
#include "protocol/http_range.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace switchboard::protocol {

namespace {

bool starts_bytes_eq(std::string_view h) {
  static constexpr std::string_view unit = "bytes=";
  if (h.size() < unit.size()) return false;
  for (std::size_t i = 0; i < unit.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != unit[i]) return false;
  return true;
}

}  // namespace

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  out = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    out = out * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  return true;
}

byte_range parse_range(std::string_view h, std::uint64_t size) {
  byte_range whole{byte_range::kind::whole, 0, size};
  h = trim_ows(h);
  if (!starts_bytes_eq(h)) return whole;
  auto spec = trim_ows(h.substr(6));
  if (spec.find(',') != std::string_view::npos) return whole;  // several ranges: the whole object
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  auto first = trim_ows(spec.substr(0, dash)), last = trim_ows(spec.substr(dash + 1));
  std::uint64_t a = 0, b = 0;
  if (first.empty()) {  // bytes=-N: the last N bytes
    if (!parse_u64(last, b)) return whole;
    if (b == 0 || size == 0) return {byte_range::kind::unsatisfiable, 0, 0};
    b = std::min(b, size);
    return {byte_range::kind::partial, size - b, b};
  }
  if (!parse_u64(first, a)) return whole;
  if (last.empty()) {
    b = size == 0 ? 0 : size - 1;
  } else {
    if (!parse_u64(last, b) || b < a) return whole;  // invalid: ignored, as RFC 9110 allows
    b = std::min(b, size == 0 ? 0 : size - 1);
  }
  if (a >= size) return {byte_range::kind::unsatisfiable, 0, 0};
  return {byte_range::kind::partial, a, b - a + 1};
}

bool etag_matches(std::string_view inm, std::string_view etag) {
  while (!inm.empty()) {
    auto comma = inm.find(',');
    auto tag = trim_ows(inm.substr(0, comma));
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    inm.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace switchboard::protocol
