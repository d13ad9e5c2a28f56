// Small helpers for passing values to PostgreSQL that libpqxx 6.4 does not convert itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace switchboard::storage {

// "{1,2,3}": a bigint[] literal, passed as a text parameter and cast with ::bigint[].
inline std::string bigint_array(const std::vector<std::int64_t>& v) {
  std::string s = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "}";
}

// {"a","b\\"c"}: a text[] literal, every element quoted, so any text survives the round trip.
inline std::string text_array(const std::vector<std::string>& v) {
  std::string s = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += '"';
    for (char ch : v[i]) {
      if (ch == '"' || ch == '\\') s += '\\';
      s += ch;
    }
    s += '"';
  }
  return s + "}";
}

}  // namespace switchboard::storage
