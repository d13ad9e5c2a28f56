// The WebSocket request envelope.
#include "protocol/ws_envelope.hpp"

#include <boost/json/serialize.hpp>

#include "protocol/json_util.hpp"

namespace switchboard::protocol {

ws_envelope_result parse_ws_envelope(std::string_view text) {
  ws_envelope_result out;
  auto& env = out.envelope;
  auto fail = [&](std::string why) {
    out.failure = error{error_code::bad_request, std::move(why)};
    return out;
  };
  auto parsed = parse_untrusted_json(text);
  if (!parsed) {
    out.failure = parsed.err();
    return out;
  }
  if (!parsed.value().is_object()) return fail("a request must be a JSON object");
  auto& obj = parsed.value().get_object();
  if (auto* id = obj.if_contains("id"); id && (id->is_string() || id->is_number())) env.id = *id;
  auto* op = obj.if_contains("op");
  if (!op || !op->is_string()) return fail("op is required");
  env.op = std::string(op->get_string());
  if (env.id.is_null()) return fail("id is required");
  if (auto* d = obj.if_contains("data"); d && !d->is_null()) {
    if (!d->is_object()) return fail("data must be an object");
    env.data = std::move(d->get_object());
  }
  return out;
}

std::string encode_ws_reply(const boost::json::value& id, boost::json::object data) {
  return boost::json::serialize(boost::json::object{{"id", id}, {"ok", true}, {"data", std::move(data)}});
}

std::string encode_ws_error(const boost::json::value& id, const error& e) {
  boost::json::object err{{"code", to_string(e.code)}, {"message", e.message}};
  if (e.retry_after_ms) err["retry_after_ms"] = *e.retry_after_ms;
  return boost::json::serialize(boost::json::object{{"id", id}, {"ok", false}, {"error", std::move(err)}});
}

std::string encode_ws_event(std::string_view name, boost::json::object data) {
  return boost::json::serialize(boost::json::object{{"ev", name}, {"data", std::move(data)}});
}

}  // namespace switchboard::protocol
