// libFuzzer target: one WebSocket text payload through the request path's validation: the
// untrusted-JSON parser (depth, NUL, surrogates, UTF-8), the id/op/data envelope, and the typed
// field reads every op makes. Invariants: nothing crashes or leaks; whatever parses serializes
// and parses back to the same value; every error names a code that encodes.
#include <boost/json.hpp>
#include <cstdint>
#include <string_view>

#include "protocol/errors.hpp"
#include "protocol/fields.hpp"
#include "protocol/json_util.hpp"
#include "protocol/validate.hpp"

using namespace switchboard::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_untrusted_json(text);
  if (!parsed) {
    (void)encode_http_error(parsed.err());
    return 0;
  }
  // Round trip: what we accept, we can write and read again unchanged.
  auto again = parse_untrusted_json(boost::json::serialize(parsed.value()));
  if (!again || again.value() != parsed.value()) __builtin_trap();
  if (!parsed.value().is_object()) return 0;
  const auto& obj = parsed.value().get_object();
  const auto* d = obj.if_contains("data");
  if (!d || !d->is_object()) return 0;
  // The reads the ops make, in the shapes they make them.
  fields f(d->get_object());
  (void)f.id("conv");
  (void)f.str("client_msg_id", 1, 64);
  (void)f.opt_str("name", 1, 200);
  (void)f.integer("seq", 0, INT64_MAX);
  (void)f.opt_integer("limit", 1, INT64_MAX);
  (void)f.id_list("users", 500);
  if (const auto* body = f.object("body")) {
    fields b(*body, "data.body.");
    (void)b.str("text", 1, 8192);
  }
  if (!f.ok()) (void)encode_http_error(f.err());
  if (const auto* m = d->get_object().if_contains("mobile"); m && m->is_string()) (void)is_e164(m->get_string());
  return 0;
}
