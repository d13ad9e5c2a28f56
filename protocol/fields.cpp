// Typed reads of request fields.
#include "protocol/fields.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "protocol/json_util.hpp"
#include "protocol/validate.hpp"

namespace switchboard::protocol {

std::int64_t parse_id(std::string_view s) {
  if (s.empty() || s.size() > 19 || s[0] == '0') return 0;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v <= 0) return 0;
  return v;
}

void fields::fail(error_code code, std::string message) {
  if (!error_) error_ = error{code, std::move(message)};
}

const boost::json::value* fields::need(std::string_view key) {
  if (error_) return nullptr;
  auto* v = o_.if_contains(key);
  if (!v || v->is_null()) {
    fail(error_code::bad_request, prefix_ + std::string(key) + " is required");
    return nullptr;
  }
  return v;
}

std::string fields::str(std::string_view key, std::size_t min_bytes, std::size_t max_bytes) {
  auto* v = need(key);
  if (!v) return {};
  if (!v->is_string()) {
    fail(error_code::bad_request, prefix_ + std::string(key) + " must be a string");
    return {};
  }
  const auto& s = v->get_string();
  if (s.size() < min_bytes || s.size() > max_bytes) {
    fail(error_code::bad_request, prefix_ + std::string(key) + " must be " + std::to_string(min_bytes) +
                                      " to " + std::to_string(max_bytes) + " bytes");
    return {};
  }
  return std::string(s);
}

std::optional<std::string> fields::opt_str(std::string_view key, std::size_t min_bytes,
                                           std::size_t max_bytes) {
  auto* v = o_.if_contains(key);
  if (!v || v->is_null() || error_) return std::nullopt;
  return str(key, min_bytes, max_bytes);
}

std::int64_t fields::integer(std::string_view key, std::int64_t lo, std::int64_t hi) {
  auto* v = need(key);
  if (!v) return 0;
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  } else {
    fail(error_code::bad_request, prefix_ + std::string(key) + " must be an integer");
    return 0;
  }
  if (n < lo || n > hi) {
    fail(error_code::bad_request,
         prefix_ + std::string(key) + " must be from " + std::to_string(lo) + " to " + std::to_string(hi));
    return 0;
  }
  return n;
}

std::optional<std::int64_t> fields::opt_integer(std::string_view key, std::int64_t lo, std::int64_t hi) {
  auto* v = o_.if_contains(key);
  if (!v || v->is_null() || error_) return std::nullopt;
  return integer(key, lo, hi);
}

std::int64_t fields::id(std::string_view key) {
  auto* v = need(key);
  if (!v) return 0;
  if (!v->is_string()) {
    fail(error_code::bad_request, prefix_ + std::string(key) + " must be an id string");
    return 0;
  }
  return parse_id(v->get_string());
}

const boost::json::array* fields::array_of(std::string_view key, std::size_t max_items,
                                           const std::string& what) {
  auto* v = need(key);
  if (!v) return nullptr;
  if (!v->is_array()) {
    fail(error_code::bad_request, prefix_ + std::string(key) + " must be " + what);
    return nullptr;
  }
  if (v->get_array().size() > max_items) {
    fail(error_code::too_large,
         prefix_ + std::string(key) + " has more than " + std::to_string(max_items) + " items");
    return nullptr;
  }
  return &v->get_array();
}

std::vector<std::int64_t> fields::id_list(std::string_view key, std::size_t max_items) {
  const std::string what = "an array of id strings";
  std::vector<std::int64_t> out;
  auto* a = array_of(key, max_items, what);
  if (!a) return out;
  for (const auto& e : *a) {
    if (!e.is_string()) {
      fail(error_code::bad_request, prefix_ + std::string(key) + " must be " + what);
      return {};
    }
    out.push_back(parse_id(e.get_string()));
  }
  return out;
}

std::vector<std::int64_t> fields::id_set(std::string_view key, std::size_t max_items) {
  auto ids = id_list(key, max_items);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<std::string> fields::str_list(std::string_view key, std::size_t max_items,
                                          std::size_t max_bytes) {
  const std::string what = "an array of strings of 1 to " + std::to_string(max_bytes) + " bytes";
  std::vector<std::string> out;
  auto* a = array_of(key, max_items, what);
  if (!a) return out;
  for (const auto& e : *a) {
    if (!e.is_string() || e.get_string().empty() || e.get_string().size() > max_bytes) {
      fail(error_code::bad_request, prefix_ + std::string(key) + " must be " + what);
      return {};
    }
    out.emplace_back(e.get_string());
  }
  return out;
}

std::string fields::mobile(std::string_view key) {
  auto m = str(key, 1, 32);
  if (ok() && !is_e164(m))
    fail(error_code::bad_request, prefix_ + std::string(key) + " must be E.164, e.g. +8613800000000");
  return m;
}

std::optional<std::string> fields::opt_mobile(std::string_view key) {
  auto* v = o_.if_contains(key);
  if (!v || v->is_null() || error_) return std::nullopt;
  return mobile(key);
}

const boost::json::object* fields::object(std::string_view key) {
  auto* v = need(key);
  if (!v) return nullptr;
  if (!v->is_object()) {
    fail(error_code::bad_request, prefix_ + std::string(key) + " must be an object");
    return nullptr;
  }
  return &v->get_object();
}

}  // namespace switchboard::protocol
