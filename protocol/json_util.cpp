// Strict JSON parsing for untrusted input.
#include "protocol/json_util.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <cmath>

namespace switchboard::protocol {

namespace {

// Boost.JSON replaces an escaped lone surrogate (\ud800) with U+FFFD instead of failing, so the
// raw text is scanned for one before parsing.
bool has_lone_surrogate_escape(std::string_view t) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  auto read_u = [&](std::size_t i, unsigned& out) {  // t[i] == '\\', t[i+1] == 'u'
    if (i + 5 >= t.size()) return false;
    unsigned v = 0;
    for (std::size_t k = i + 2; k < i + 6; ++k) {
      int h = hex(t[k]);
      if (h < 0) return false;
      v = v * 16 + static_cast<unsigned>(h);
    }
    out = v;
    return true;
  };
  for (std::size_t i = 0; i + 5 < t.size(); ++i) {
    if (t[i] != '\\') continue;
    if (t[i + 1] != 'u') {
      ++i;  // skip the escaped character, so "\\\\u" is not misread
      continue;
    }
    unsigned v = 0;
    if (!read_u(i, v)) continue;
    if (v >= 0xDC00 && v <= 0xDFFF) return true;  // low surrogate without a high one before it
    if (v >= 0xD800 && v <= 0xDBFF) {
      unsigned lo = 0;
      if (i + 11 < t.size() && t[i + 6] == '\\' && t[i + 7] == 'u' && read_u(i + 6, lo) && lo >= 0xDC00 &&
          lo <= 0xDFFF) {
        i += 11;
        continue;
      }
      return true;
    }
    i += 5;
  }
  return false;
}

// What makes a parsed value unacceptable: a string with U+0000, or a number too large for a
// double (Boost.JSON reads 1e999 as infinity, which no JSON text can carry back: found by
// fuzz/request_fuzzer.cpp). Null when there is nothing.
const char* problem_in(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::string:
      return v.get_string().find('\0') != boost::json::string::npos ? "strings may not contain U+0000"
                                                                    : nullptr;
    case boost::json::kind::double_:
      return std::isfinite(v.get_double()) ? nullptr : "number out of range";
    case boost::json::kind::array:
      for (const auto& e : v.get_array())
        if (auto* why = problem_in(e)) return why;
      return nullptr;
    case boost::json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (kv.key().find('\0') != std::string_view::npos) return "strings may not contain U+0000";
        if (auto* why = problem_in(kv.value())) return why;
      }
      return nullptr;
    default:
      return nullptr;
  }
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int k = 1; k <= n; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

result<boost::json::value> parse_untrusted_json(std::string_view text) {
  if (!is_valid_utf8(text)) return error{error_code::bad_request, "invalid UTF-8"};
  if (has_lone_surrogate_escape(text))
    return error{error_code::bad_request, "invalid UTF-8: lone surrogate escape"};
  boost::json::parse_options opt;
  opt.max_depth = max_json_depth;
  boost::json::parser p(boost::json::storage_ptr(), opt);
  boost::system::error_code ec;
  p.write(text.data(), text.size(), ec);
  if (ec) {
    if (ec == boost::json::error::too_deep)
      return error{error_code::bad_request, "JSON nested deeper than 32 levels"};
    return error{error_code::bad_request, "malformed JSON"};
  }
  boost::json::value v = p.release();
  if (auto* why = problem_in(v)) return error{error_code::bad_request, why};
  return v;
}

}  // namespace switchboard::protocol
