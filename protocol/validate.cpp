// Validation of values the spec defines a format for.
#include "protocol/validate.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace switchboard::protocol {

bool is_e164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (std::size_t i = 1; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

bool is_version(std::string_view s) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    if (digits == 0 || digits > 9) return false;
    ++parts;
    if (i == s.size()) return parts <= 4;
    if (s[i] != '.') return false;
    ++i;
  }
}

namespace {
// The numbers of a version's components, from each component's leading digits.
std::vector<std::int64_t> version_parts(std::string_view s, bool& any_number) {
  std::vector<std::int64_t> out;
  any_number = false;
  std::size_t i = 0;
  while (i <= s.size()) {
    auto dot = s.find('.', i);
    auto part = s.substr(i, dot == std::string_view::npos ? std::string_view::npos : dot - i);
    std::int64_t v = 0;
    std::size_t k = 0;
    for (; k < part.size() && part[k] >= '0' && part[k] <= '9' && v < 1000000000; ++k)
      v = v * 10 + (part[k] - '0');
    if (k > 0) any_number = true;
    out.push_back(v);
    if (dot == std::string_view::npos) break;
    i = dot + 1;
  }
  return out;
}
}  // namespace

bool version_below(std::string_view client, std::string_view min) {
  bool client_ok = false, min_ok = false;
  auto c = version_parts(client, client_ok);
  auto m = version_parts(min, min_ok);
  if (!client_ok) return true;
  auto n = std::max(c.size(), m.size());
  c.resize(n, 0);
  m.resize(n, 0);
  return c < m;
}

}  // namespace switchboard::protocol
