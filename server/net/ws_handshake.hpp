// The server's side of the WebSocket opening handshake (RFC 6455 §4.2): the checks on the upgrade
// request, and the 101 answer with Sec-WebSocket-Accept and the compression agreed (RFC 7692).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>

#include "protocol/errors.hpp"

namespace switchboard::server {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;

struct ws_handshake {
  bool accepted = false;
  std::string response;  // accepted: the 101 answer, whole, as it goes on the wire
  int deflate_bits = 0;  // accepted with permessage-deflate: the server's window bits; else 0
  // refused: the error for the HTTP answer (bad_request, or upgrade_required for a version other
  // than 13, which is answered with Sec-WebSocket-Version: 13)
  protocol::error refusal{protocol::error_code::bad_request, ""};
};

// `permessage_deflate`: server.permessage_deflate, whether compression may be agreed.
ws_handshake answer_upgrade(const http_request& req, bool permessage_deflate);

// base64(SHA-1(key + the RFC's GUID)), the Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string sec_websocket_accept(std::string_view key);

}  // namespace switchboard::server
