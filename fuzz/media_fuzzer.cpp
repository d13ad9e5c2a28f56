// libFuzzer target: what GET /v1/media/{id} and media sends read from clients. The first byte
// chooses: a Range header against an object size taken from the next 8 bytes (invariants: a
// partial range is non-empty and inside the object, whole covers it all); an If-None-Match list
// (nothing crashes; "*" matches); or a message body of type image, voice or file (invariants: an
// accepted body names a media and re-checks as itself).
#include <boost/json.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "protocol/http_range.hpp"
#include "protocol/json_util.hpp"
#include "protocol/message_body.hpp"

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      if (rest.size() < 8) return 0;
      std::uint64_t object = 0;
      std::memcpy(&object, rest.data(), 8);
      object %= (1ULL << 40);
      auto r = protocol::parse_range(rest.substr(8), object);
      using k = protocol::byte_range::kind;
      if (r.what == k::partial && (r.length == 0 || r.offset >= object || r.length > object - r.offset))
        __builtin_trap();
      if (r.what == k::whole && (r.offset != 0 || r.length != object)) __builtin_trap();
      return 0;
    }
    case 1: {
      protocol::etag_matches(rest, "\"0123abcd\"");
      if (!protocol::etag_matches(std::string(rest) + ",*", "\"x\"")) __builtin_trap();
      return 0;
    }
    default: {
      auto parsed = protocol::parse_untrusted_json(rest);
      if (!parsed || !parsed.value().is_object()) return 0;
      const auto& o = parsed.value().get_object();
      static const char* types[] = {"image", "voice", "file"};
      for (const char* t : types) {
        auto b = protocol::check_message_body(t, o);
        if (!b) {
          if (b.err().message.empty()) __builtin_trap();
          continue;
        }
        if (!b.value().media) __builtin_trap();
        auto again = protocol::check_message_body(t, boost::json::parse(b.value().json).as_object());
        if (!again || again.value().json != b.value().json) __builtin_trap();
      }
      return 0;
    }
  }
}
