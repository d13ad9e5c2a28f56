// Untrusted JSON, UTF-8, E.164 and error-code mapping.
#include <catch2/catch.hpp>

#include "protocol/errors.hpp"
#include "protocol/json_util.hpp"
#include "protocol/validate.hpp"

using namespace switchboard::protocol;

TEST_CASE("error codes map to the spec's names and HTTP statuses") {
  CHECK(to_string(error_code::bad_request) == "bad_request");
  CHECK(http_status(error_code::bad_request) == 400);
  CHECK(http_status(error_code::unauthorized) == 401);
  CHECK(http_status(error_code::quota_exceeded) == 403);
  CHECK(to_string(error_code::quota_exceeded) == "quota_exceeded");
  CHECK(http_status(error_code::upgrade_required) == 426);
  CHECK(http_status(error_code::rate_limited) == 429);
  CHECK(http_status(error_code::unavailable) == 503);
  CHECK(http_status(error_code::internal) == 500);
  CHECK(encode_http_error({error_code::not_found, "user 42 not found"}) ==
        R"({"error":{"code":"not_found","message":"user 42 not found"}})");
  CHECK(encode_http_error({error_code::rate_limited, "slow down", 1500}) ==
        R"({"error":{"code":"rate_limited","message":"slow down","retry_after_ms":1500}})");
}

TEST_CASE("well-formed JSON parses") {
  auto r = parse_untrusted_json(R"({"id":"1","op":"ping","data":{"s":"\u00e9\ud83d\ude00"}})");
  REQUIRE(r.ok());
  CHECK(r.value().as_object().at("op").as_string() == "ping");
}

TEST_CASE("bad JSON is bad_request with a reason") {
  for (std::string bad : {"", "{", "{\"a\":}", "[1,2", "nul", "{\"a\":1}x"}) {
    INFO(bad);
    auto r = parse_untrusted_json(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == error_code::bad_request);
  }
}

TEST_CASE("nesting deeper than 32 is refused, 32 is fine") {
  std::string ok = std::string(32, '[') + std::string(32, ']');
  CHECK(parse_untrusted_json(ok).ok());
  std::string deep = std::string(33, '[') + std::string(33, ']');
  auto r = parse_untrusted_json(deep);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.err().message, Catch::Contains("32"));
}

TEST_CASE("U+0000 in strings and keys is refused") {
  CHECK_FALSE(parse_untrusted_json(R"({"a":"x\u0000y"})").ok());
  CHECK_FALSE(parse_untrusted_json(R"({"a\u0000":1})").ok());
  CHECK_FALSE(parse_untrusted_json(R"(["\u0000"])").ok());
}

TEST_CASE("lone surrogate escapes and raw invalid UTF-8 are refused") {
  CHECK_FALSE(parse_untrusted_json(R"({"a":"\ud800"})").ok());
  CHECK_FALSE(parse_untrusted_json(R"({"a":"\udc00x"})").ok());
  CHECK_FALSE(parse_untrusted_json(R"({"a":"\ud800\u0041"})").ok());
  CHECK(parse_untrusted_json(R"({"a":"\\ud800"})").ok());  // an escaped backslash, not an escape
  CHECK_FALSE(parse_untrusted_json("{\"a\":\"\xff\"}").ok());
  CHECK_FALSE(parse_untrusted_json("{\"a\":\"\xc0\xaf\"}").ok());      // overlong '/'
  CHECK_FALSE(parse_untrusted_json("{\"a\":\"\xed\xa0\x80\"}").ok());  // raw surrogate
}

TEST_CASE("UTF-8 validation") {
  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("\xe4\xbd\xa0\xe5\xa5\xbd"));
  CHECK(is_valid_utf8("\xf0\x9f\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xe4\xbd"));          // truncated
  CHECK_FALSE(is_valid_utf8("\x80"));
}

TEST_CASE("E.164 mobile numbers") {
  CHECK(is_e164("+8613800000000"));
  CHECK(is_e164("+12345678"));
  CHECK(is_e164("+123456789012345"));
  CHECK_FALSE(is_e164("+1234567"));
  CHECK_FALSE(is_e164("+1234567890123456"));
  CHECK_FALSE(is_e164("+0123456789"));
  CHECK_FALSE(is_e164("8613800000000"));
  CHECK_FALSE(is_e164("+86 138000000"));
  CHECK_FALSE(is_e164(""));
}

TEST_CASE("numbers beyond a double's range are refused (found by fuzz_request)") {
  using switchboard::protocol::parse_untrusted_json;
  for (const char* t : {"829e944", "[1e999]", R"({"seq":-1e400})", R"({"a":{"b":[2E+500]}})"}) {
    INFO(t);
    auto r = parse_untrusted_json(t);
    REQUIRE_FALSE(r);
    CHECK(r.err().message == "number out of range");
  }
  CHECK(parse_untrusted_json("[1.7976931348623157e308, -4.9e-324, 1e-999]"));  // finite, or rounds to 0
}
