// Strict JSON parsing for untrusted input: depth limit, NUL rejection, UTF-8 checks.
#pragma once

#include <boost/json/value.hpp>
#include <string_view>

#include "protocol/errors.hpp"

namespace switchboard::protocol {

// The spec: JSON nested deeper than 32 levels is bad_request.
inline constexpr std::size_t max_json_depth = 32;

// Parses one JSON document. Invalid JSON, depth > 32, invalid UTF-8 (including escaped lone
// surrogates) and strings containing U+0000 are bad_request.
result<boost::json::value> parse_untrusted_json(std::string_view text);

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace switchboard::protocol
