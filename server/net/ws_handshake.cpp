// The server's side of the WebSocket opening handshake.
#include "server/net/ws_handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <boost/beast/http/field.hpp>

#include "protocol/ws_frames.hpp"

namespace switchboard::server {

namespace http = boost::beast::http;

namespace {
// A Sec-WebSocket-Key is the base64 of 16 random bytes: 24 characters ending in "==".
bool plausible_key(std::string_view k) {
  if (k.size() != 24 || k.substr(22) != "==") return false;
  for (char c : k.substr(0, 22))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  return true;
}
}  // namespace

std::string sec_websocket_accept(std::string_view key) {
  std::string in(key);
  in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

ws_handshake answer_upgrade(const http_request& req, bool permessage_deflate) {
  ws_handshake hs;
  auto version = req.find(http::field::sec_websocket_version);
  if (version == req.end() || version->value() != "13") {
    hs.refusal = {protocol::error_code::upgrade_required, "WebSocket version 13 is the one spoken here"};
    return hs;
  }
  auto key = req.find(http::field::sec_websocket_key);
  if (key == req.end() || !plausible_key(std::string_view(key->value().data(), key->value().size()))) {
    hs.refusal = {protocol::error_code::bad_request, "missing or malformed Sec-WebSocket-Key"};
    return hs;
  }
  hs.accepted = true;
  hs.response =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Server: switchboard\r\n"
      "Sec-WebSocket-Accept: ";
  hs.response += sec_websocket_accept(std::string_view(key->value().data(), key->value().size()));
  hs.response += "\r\n";
  if (permessage_deflate) {
    // Every Sec-WebSocket-Extensions line, as one list.
    std::string offers;
    auto lines = req.equal_range(http::field::sec_websocket_extensions);
    for (auto it = lines.first; it != lines.second; ++it) {
      if (!offers.empty()) offers += ',';
      offers.append(it->value().data(), it->value().size());
    }
    auto agreed = protocol::negotiate_deflate(offers);
    if (agreed.agreed) {
      hs.deflate_bits = agreed.window_bits;
      hs.response += "Sec-WebSocket-Extensions: " + agreed.response + "\r\n";
    }
  }
  hs.response += "\r\n";
  return hs;
}

}  // namespace switchboard::server
