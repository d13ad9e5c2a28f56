// The WebSocket codec (protocol/ws_frames.cpp) and handshake answer (server/net/ws_handshake.cpp):
// RFC 6455 §5 frames as a client sends them (masked, split across reads, fragmented, broken) and
// as the server writes them, and RFC 7692's compression and its negotiation.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "protocol/ws_frames.hpp"
#include "server/net/ws_handshake.hpp"

namespace p = switchboard::protocol;

namespace {
// A client frame: masked with a fixed key.
std::string client_frame(unsigned first_byte, std::string_view payload, bool masked = true) {
  std::string out;
  out.push_back(static_cast<char>(first_byte));
  const std::size_t n = payload.size();
  const char m = masked ? static_cast<char>(0x80) : 0;
  if (n < 126) {
    out.push_back(static_cast<char>(m | static_cast<char>(n)));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(m | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(m | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
  if (masked) out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(masked ? static_cast<char>(payload[i] ^ static_cast<char>(key[i % 4])) : payload[i]);
  return out;
}
std::string text(std::string_view s) {
  return client_frame(0x81, s);
}

struct recorder : p::ws_decoder::events {
  std::vector<std::string> seen;
  void on_text(std::string_view t) override { seen.push_back("text:" + std::string(t)); }
  void on_ping(std::string_view t) override { seen.push_back("ping:" + std::string(t)); }
  void on_pong() override { seen.push_back("pong"); }
  void on_close(std::uint16_t code, std::string_view reason) override {
    seen.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
  }
  void on_error(std::uint16_t code, std::string_view) override {
    seen.push_back("error:" + std::to_string(code));
  }
};

// Feeds `bytes` in pieces of `piece` bytes (0: all at once).
std::vector<std::string> decode(std::string bytes, std::size_t piece = 0, std::size_t max = 65536,
                                bool deflate = false) {
  p::ws_decoder d(max, deflate);
  recorder r;
  if (piece == 0) piece = bytes.size() + 1;
  for (std::size_t pos = 0; pos < bytes.size(); pos += piece)
    d.feed(bytes.data() + pos, std::min(piece, bytes.size() - pos), r);
  return r.seen;
}
using seen = std::vector<std::string>;

std::vector<unsigned> header_of(std::size_t payload_size) {
  std::string out;
  p::append_text_frame(out, std::string(payload_size, 'a'));
  REQUIRE(out.size() >= payload_size);
  std::size_t header = out.size() - payload_size;
  CHECK(out.substr(header) == std::string(payload_size, 'a'));
  std::vector<unsigned> h;
  for (std::size_t i = 0; i < header; ++i) h.push_back(static_cast<unsigned char>(out[i]));
  return h;
}
}  // namespace

TEST_CASE("server frames: FIN and text opcode, unmasked, each length form at its edges") {
  CHECK(header_of(0) == std::vector<unsigned>{0x81, 0});
  CHECK(header_of(125) == std::vector<unsigned>{0x81, 125});
  CHECK(header_of(126) == std::vector<unsigned>{0x81, 126, 0x00, 126});
  CHECK(header_of(65535) == std::vector<unsigned>{0x81, 126, 0xff, 0xff});
  CHECK(header_of(65536) == std::vector<unsigned>{0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00});
  CHECK(header_of(300000) == std::vector<unsigned>{0x81, 127, 0, 0, 0, 0, 0, 0x04, 0x93, 0xe0});
}

TEST_CASE("server frames: appended one after another, each whole, and close frames with code and reason") {
  std::string out;
  p::append_text_frame(out, "{\"a\":1}");
  p::append_frame(out, 0xA, "hi");
  p::append_frame(out, 0x1, "zz", true);
  CHECK(out == std::string("\x81\x07{\"a\":1}\x8a\x02hi\xc1\x02zz"));
  std::string close;
  p::append_close_frame(close, 4429, "slow consumer");
  CHECK(close == std::string("\x88\x0f\x11\x4dslow consumer"));
  close.clear();
  p::append_close_frame(close, p::close_code::no_status, "ignored");
  CHECK(close == std::string("\x88\x00", 2));
  close.clear();
  // A long reason is cut to fit 125 bytes, never inside a character.
  std::string reason;
  for (int i = 0; i < 70; ++i) reason += "\xc3\xa9";  // é, two bytes each
  p::append_close_frame(close, 1000, reason);
  CHECK(static_cast<unsigned char>(close[1]) == 2 + 122);
  CHECK(p::valid_utf8(close.substr(4)));
}

TEST_CASE("client frames: whole, split at every byte, several in one read") {
  std::string two = text("{\"id\":\"1\"}") + text(std::string(300, 'x'));
  seen want{"text:{\"id\":\"1\"}", "text:" + std::string(300, 'x')};
  CHECK(decode(two) == want);
  CHECK(decode(two, 1) == want);
  CHECK(decode(two, 7) == want);
  CHECK(decode(text("")) == seen{"text:"});
  // The 64-bit length form.
  CHECK(decode(text(std::string(70000, 'y')), 4096, 100000) == seen{"text:" + std::string(70000, 'y')});
}

TEST_CASE("client frames: a fragmented message with a ping between its fragments") {
  std::string bytes = client_frame(0x01, "{\"a\":") + client_frame(0x89, "p1") + client_frame(0x00, "1") +
                      client_frame(0x80, "}") + client_frame(0x8A, "") + text("next");
  seen want{"ping:p1", "text:{\"a\":1}", "pong", "text:next"};
  CHECK(decode(bytes) == want);
  CHECK(decode(bytes, 1) == want);
  CHECK(decode(bytes, 3) == want);
}

TEST_CASE("client frames: protocol errors fail the connection with their close code") {
  CHECK(decode(client_frame(0x81, "x", false)) == seen{"error:1002"});             // unmasked
  CHECK(decode(client_frame(0x82, "x")) == seen{"error:1003"});                    // binary
  CHECK(decode(client_frame(0xA1, "x")) == seen{"error:1002"});                    // RSV2
  CHECK(decode(client_frame(0xC1, "x")) == seen{"error:1002"});                    // RSV1 without compression
  CHECK(decode(client_frame(0x83, "x")) == seen{"error:1002"});                    // reserved data opcode
  CHECK(decode(client_frame(0x8B, "x")) == seen{"error:1002"});                    // reserved control opcode
  CHECK(decode(client_frame(0x09, "x")) == seen{"error:1002"});                    // fragmented ping
  CHECK(decode(client_frame(0x89, std::string(126, 'p'))) == seen{"error:1002"});  // long ping
  CHECK(decode(client_frame(0x80, "x")) == seen{"error:1002"});                    // continuation of nothing
  CHECK(decode(client_frame(0x01, "x") + text("y")) == seen{"error:1002"});        // new message mid-message
  // Nothing after an error is decoded.
  CHECK(decode(client_frame(0x82, "x") + text("after")) == seen{"error:1003"});
}

TEST_CASE("client frames: too big, alone or fragment by fragment, is 1009 before the payload is read") {
  CHECK(decode(text(std::string(101, 'a')), 0, 100) == seen{"error:1009"});
  CHECK(decode(text(std::string(100, 'a')), 0, 100) == seen{"text:" + std::string(100, 'a')});
  CHECK(decode(client_frame(0x01, std::string(60, 'a')) + client_frame(0x80, std::string(41, 'a')), 0, 100) ==
        seen{"error:1009"});
  // Only the header of the oversized frame has to arrive.
  std::string header_only = text(std::string(5000, 'a')).substr(0, 8);
  CHECK(decode(header_only, 0, 100) == seen{"error:1009"});
}

TEST_CASE("client frames: text that is not UTF-8 is 1007, also when split across fragments") {
  CHECK(decode(text("{\"s\":\"\xff\xfe\"}")) == seen{"error:1007"});
  CHECK(decode(client_frame(0x01, "\xe2\x82") + client_frame(0x80, "\xac")) == seen{"text:\xe2\x82\xac"});
  CHECK(decode(client_frame(0x01, "\xe2\x82") + client_frame(0x80, "a")) == seen{"error:1007"});
}

TEST_CASE("UTF-8: overlong forms, surrogates and code points past U+10FFFF are refused") {
  CHECK(p::valid_utf8("plain ascii, long enough for the eight-byte path"));
  CHECK(p::valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));
  CHECK_FALSE(p::valid_utf8("\xc0\x80"));
  CHECK_FALSE(p::valid_utf8("\xe0\x80\x80"));
  CHECK_FALSE(p::valid_utf8("\xed\xa0\x80"));  // a surrogate
  CHECK_FALSE(p::valid_utf8("\xf4\x90\x80\x80"));
  CHECK_FALSE(p::valid_utf8("\xf5\x80\x80\x80"));
  CHECK_FALSE(p::valid_utf8("abc\xe2\x82"));  // cut short
  CHECK_FALSE(p::valid_utf8("abcdefgh\x80"));
}

TEST_CASE("client close frames: code and reason, or none, and malformed ones are errors") {
  auto close = [](std::uint16_t code, std::string_view reason) {
    std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    payload += reason;
    return client_frame(0x88, payload);
  };
  CHECK(decode(client_frame(0x88, "")) == seen{"close:1005:"});
  CHECK(decode(close(1000, "bye") + text("after")) == seen{"close:1000:bye"});
  CHECK(decode(close(4000, "")) == seen{"close:4000:"});
  CHECK(decode(client_frame(0x88, "x")) == seen{"error:1002"});
  CHECK(decode(close(1005, "")) == seen{"error:1002"});
  CHECK(decode(close(999, "")) == seen{"error:1002"});
  CHECK(decode(close(5000, "")) == seen{"error:1002"});
  CHECK(decode(close(1000, "\xff")) == seen{"error:1007"});
}

TEST_CASE("permessage-deflate: compressed messages whole or fragmented, bombs and garbage refused") {
  std::string body = "{\"id\":\"1\",\"op\":\"send\",\"data\":{\"text\":\"" + std::string(500, 'z') + "\"}}";
  std::string packed;
  p::deflate_message(body, 15, packed);
  CHECK(packed.size() < body.size() / 4);
  CHECK(decode(client_frame(0xC1, packed), 0, 65536, true) == seen{"text:" + body});
  CHECK(decode(client_frame(0xC1, packed), 5, 65536, true) == seen{"text:" + body});
  // Fragmented: RSV1 on the first fragment only.
  std::string frag = client_frame(0x41, packed.substr(0, 10)) + client_frame(0x80, packed.substr(10));
  CHECK(decode(frag, 0, 65536, true) == seen{"text:" + body});
  CHECK(decode(client_frame(0x41, packed.substr(0, 10)) + client_frame(0xC0, packed.substr(10)), 0, 65536,
               true) == seen{"error:1002"});
  // Uncompressed messages still pass when compression was agreed.
  CHECK(decode(text("plain"), 0, 65536, true) == seen{"text:plain"});
  // A small message that inflates past the limit.
  std::string bomb;
  p::deflate_message(std::string(200000, 'a'), 15, bomb);
  CHECK(bomb.size() < 1000);
  CHECK(decode(client_frame(0xC1, bomb), 0, 65536, true) == seen{"error:1009"});
  CHECK(decode(client_frame(0xC1, "\xff\xff\xff garbage"), 0, 65536, true) == seen{"error:1007"});
  // Each message stands alone (no context takeover): the same bytes inflate the same twice.
  CHECK(decode(client_frame(0xC1, packed) + client_frame(0xC1, packed), 0, 65536, true) ==
        seen{"text:" + body, "text:" + body});
}

TEST_CASE("permessage-deflate negotiation: the first offer that can be taken, without context takeover") {
  auto a = p::negotiate_deflate("permessage-deflate; client_max_window_bits");
  CHECK(a.agreed);
  CHECK(a.window_bits == 15);
  CHECK(a.response == "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  a = p::negotiate_deflate("permessage-deflate; server_max_window_bits=10");
  CHECK(a.agreed);
  CHECK(a.window_bits == 10);
  CHECK(a.response ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=10");
  CHECK_FALSE(p::negotiate_deflate("permessage-deflate; server_max_window_bits=8").agreed);
  CHECK_FALSE(p::negotiate_deflate("x-webkit-deflate-frame").agreed);
  CHECK_FALSE(p::negotiate_deflate("").agreed);
  CHECK_FALSE(p::negotiate_deflate("permessage-deflate; mystery").agreed);
  CHECK_FALSE(
      p::negotiate_deflate("permessage-deflate; client_no_context_takeover; client_no_context_takeover")
          .agreed);
  a = p::negotiate_deflate("permessage-deflate; mystery, permessage-deflate; server_no_context_takeover");
  CHECK(a.agreed);
  CHECK(a.window_bits == 15);
}

TEST_CASE("handshake: Sec-WebSocket-Accept is RFC 6455's example, refusals say why") {
  CHECK(switchboard::server::sec_websocket_accept("dGhlIHNhbXBsZSBub25jZQ==") ==
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  switchboard::server::http_request req{boost::beast::http::verb::get, "/v1/ws", 11};
  req.set(boost::beast::http::field::upgrade, "websocket");
  req.set(boost::beast::http::field::connection, "upgrade");
  req.set(boost::beast::http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  auto hs = switchboard::server::answer_upgrade(req, true);
  CHECK_FALSE(hs.accepted);
  CHECK(hs.refusal.code == p::error_code::upgrade_required);
  req.set(boost::beast::http::field::sec_websocket_version, "13");
  req.set(boost::beast::http::field::sec_websocket_extensions, "permessage-deflate; client_max_window_bits");
  hs = switchboard::server::answer_upgrade(req, true);
  REQUIRE(hs.accepted);
  CHECK(hs.deflate_bits == 15);
  CHECK(hs.response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);
  CHECK(hs.response.find("Sec-WebSocket-Extensions: permessage-deflate") != std::string::npos);
  CHECK(hs.response.substr(hs.response.size() - 4) == "\r\n\r\n");
  hs = switchboard::server::answer_upgrade(req, false);
  REQUIRE(hs.accepted);
  CHECK(hs.deflate_bits == 0);
  CHECK(hs.response.find("Extensions") == std::string::npos);
  req.set(boost::beast::http::field::sec_websocket_key, "short");
  hs = switchboard::server::answer_upgrade(req, false);
  CHECK_FALSE(hs.accepted);
  CHECK(hs.refusal.code == p::error_code::bad_request);
}
