// Small helpers for passing values to PostgreSQL that libpqxx 6.4 does not convert itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/except>
#include <pqxx/subtransaction>
#include <pqxx/transaction>

#include "protocol/errors.hpp"

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

// Runs `fn(subtransaction&)` so that a unique-index clash becomes `clash` instead of aborting the
// enclosing transaction.
template <class Fn>
std::optional<protocol::error> unique_or(pqxx::work& w, protocol::error clash, Fn fn) {
  try {
    pqxx::subtransaction s(w);
    fn(s);
    s.commit();
    return std::nullopt;
  } catch (const pqxx::unique_violation&) {
    return clash;
  }
}

// "1,2,3" (array_to_string of a bigint[]) back to ids.
inline std::vector<std::int64_t> split_ids(const std::string& s) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < s.size();) {
    auto comma = s.find(',', i);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(std::stoll(s.substr(i, comma - i)));
    i = comma + 1;
  }
  return out;
}

// "a,b,c" (array_to_string of a text[] whose elements hold no comma) back to strings.
inline std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    auto comma = s.find(',', i);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(s.substr(i, comma - i));
    i = comma + 1;
  }
  return out;
}

// libpqxx 6.4 passes no std::optional: an absent value goes as '' and SQL turns it into NULL
// with NULLIF($n::text, '').
inline std::string opt_param(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : std::string();
}

}  // namespace switchboard::storage
