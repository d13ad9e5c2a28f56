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

}  // namespace switchboard::storage
