// HTTP conditional and range requests as GET /v1/media/{id} serves them: a single byte range
// (RFC 9110 14.2) and If-None-Match's weak comparison (13.1.2).
#pragma once

#include <cstdint>
#include <string_view>

namespace switchboard::protocol {

// A Range header against an object of `size` bytes: the single range to send, the whole object
// (no Range, or one this server does not serve: several ranges, other units, nonsense), or
// unsatisfiable (416). A partial range is never empty and never passes the end.
struct byte_range {
  enum class kind { whole, partial, unsatisfiable } what = kind::whole;
  std::uint64_t offset = 0, length = 0;
};
byte_range parse_range(std::string_view header, std::uint64_t size);

// `s` without the spaces and tabs around it (HTTP's optional whitespace).
std::string_view trim_ows(std::string_view s);
// A header's decimal number (Content-Length, a range bound): 1 to 19 digits, nothing else.
bool parse_u64(std::string_view s, std::uint64_t& out);

// Whether an If-None-Match header matches `etag` (a quoted entity tag), weak comparison.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace switchboard::protocol
