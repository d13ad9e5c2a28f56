// libFuzzer target: one WebSocket text payload through the request path's validation: the
// untrusted-JSON parser (depth, NUL, surrogates, UTF-8), the id/op/data envelope, and the typed
// field reads every op makes. Invariants: nothing crashes or leaks; whatever parses serializes
// and parses back to the same value; every error names a code that encodes.
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "protocol/errors.hpp"
#include "protocol/fields.hpp"
#include "protocol/json_util.hpp"
#include "protocol/validate.hpp"

using namespace switchboard::protocol;

namespace {
bool same(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    double x = a.get_double(), y = b.get_double();
    return x == y || std::fabs(x - y) <= std::fabs(x) * 1e-15;
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object()) {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const auto* other = y.if_contains(kv.key());
      if (!other || !same(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_untrusted_json(text);
  if (!parsed) {
    (void)encode_http_error(parsed.err());
    return 0;
  }
  // Round trip: what we accept, we can write and read again, the same up to a double's last bit
  // (Boost.JSON 1.81 does not round long decimal numbers correctly, so a 300-digit integer read
  // as a double may come back one unit in the last place away: found by this target).
  auto again = parse_untrusted_json(boost::json::serialize(parsed.value()));
  if (!again || !same(again.value(), parsed.value())) __builtin_trap();
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
  if (const auto* m = d->get_object().if_contains("mobile"); m && m->is_string())
    (void)is_e164(m->get_string());
  return 0;
}
