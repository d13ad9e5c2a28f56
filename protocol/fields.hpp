// Typed reads of request fields with errors that name the field, for every request path.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errors.hpp"

namespace switchboard::protocol {

// A field reader over one JSON object; the first problem found is kept and later reads are no-ops.
class fields {
 public:
  fields(const boost::json::object& o, std::string prefix = "data.") : o_(o), prefix_(std::move(prefix)) {}

  std::string str(std::string_view key, std::size_t min_bytes, std::size_t max_bytes);
  std::optional<std::string> opt_str(std::string_view key, std::size_t min_bytes, std::size_t max_bytes);
  std::int64_t integer(std::string_view key, std::int64_t lo, std::int64_t hi);
  std::optional<std::int64_t> opt_integer(std::string_view key, std::int64_t lo, std::int64_t hi);
  // An id: a JSON string. A string that is not one of our ids reads as 0, which matches nothing
  // (so it behaves as an id that does not exist: not_found).
  std::int64_t id(std::string_view key);
  std::vector<std::int64_t> id_list(std::string_view key, std::size_t max_items);
  // id_list sorted, without repeats.
  std::vector<std::int64_t> id_set(std::string_view key, std::size_t max_items);
  // A mobile number, E.164 by format.
  std::string mobile(std::string_view key);
  std::optional<std::string> opt_mobile(std::string_view key);
  // An array of strings, each 1 to max_bytes bytes.
  std::vector<std::string> str_list(std::string_view key, std::size_t max_items, std::size_t max_bytes);
  const boost::json::object* object(std::string_view key);

  bool ok() const { return !error_; }
  const error& err() const { return *error_; }
  void fail(error_code code, std::string message);

 private:
  const boost::json::value* need(std::string_view key);
  const boost::json::array* array_of(std::string_view key, std::size_t max_items, const std::string& what);
  const boost::json::object& o_;
  std::string prefix_;
  std::optional<error> error_;
};

// Parses one of our decimal ids; 0 when `s` is not one (nothing has id 0).
std::int64_t parse_id(std::string_view s);

}  // namespace switchboard::protocol
