// The envelope of a WebSocket request ({"id", "op", "data"}, PROTOCOL.md "Framing"), read from
// one text frame before the op itself is looked at.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/errors.hpp"

namespace switchboard::protocol {

struct ws_envelope {
  boost::json::value id;     // echoed as given: a string or a number; null when it was unreadable
  std::string op;            // empty when it was unreadable
  boost::json::object data;  // {} when absent or null
};

// Reads one frame. On failure `error` says why and `id` keeps the request's id when it could be
// read, so that the error reply can still name the request.
struct ws_envelope_result {
  ws_envelope envelope;
  std::optional<error> failure;
};
ws_envelope_result parse_ws_envelope(std::string_view text);

// The reply frames: {"id", "ok": true, "data"} and {"id", "ok": false, "error"}.
std::string encode_ws_reply(const boost::json::value& id, boost::json::object data);
std::string encode_ws_error(const boost::json::value& id, const error& e);
// A server event: {"ev": name, "data": data}.
std::string encode_ws_event(std::string_view name, boost::json::object data);

}  // namespace switchboard::protocol
