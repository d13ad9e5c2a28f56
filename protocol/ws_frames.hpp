// WebSocket framing (RFC 6455 §5) and per-message compression (RFC 7692), without I/O: the server
// side's decoder of what a client sends, and the encoders of what the server sends.
//
// The connection (server/net/ws_connection.cpp) reads whatever the socket has into a scratch
// buffer and feeds it here. A frame that is whole in that buffer is unmasked in place and handed
// on as a view, so an idle connection holds no read buffer and a busy one copies nothing; only a
// message split across reads (or across fragments) is gathered in the decoder's own string, which
// is given back once the message is done.
//
// Compression, when negotiated, is without context takeover both ways: each message is deflated
// and inflated on its own, with zlib streams kept per thread, so a connection holds no zlib state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/close_codes.hpp"

namespace switchboard::protocol {

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool valid_utf8(std::string_view s);

// A close code a peer may send (RFC 6455 §7.4): 1000-1003, 1007-1014, 3000-4999.
bool valid_close_code(std::uint16_t code);

class ws_decoder {
 public:
  // What the decoder found, in the order the peer sent it.
  class events {
   public:
    virtual ~events() = default;
    // A whole text message: valid UTF-8, inflated if it came compressed. The view lasts for the
    // call only.
    virtual void on_text(std::string_view text) = 0;
    virtual void on_ping(std::string_view payload) = 0;
    virtual void on_pong() = 0;
    // The peer's close frame: its code (no_status when it carried none) and reason.
    virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
    // The peer broke the protocol: the connection is failed with this close code. Nothing more is
    // decoded.
    virtual void on_error(std::uint16_t code, std::string_view reason) = 0;
  };

  // `max_message`: the largest message (after inflating) accepted; larger is too_big.
  // `deflate`: permessage-deflate was negotiated (RSV1 marks a compressed message).
  ws_decoder(std::size_t max_message, bool deflate) : max_message_(max_message), deflate_(deflate) {}

  // Decodes `n` bytes at `data`, which it may change (it unmasks in place). Stops early once a
  // close frame or an error was found; the rest is not looked at.
  void feed(char* data, std::size_t n, events& e);
  // A close frame or an error was found: nothing more will be decoded.
  bool done() const { return done_; }

 private:
  void parse_header(events& e);
  void payload(char* p, std::size_t m, events& e);
  void frame_done(events& e);
  void deliver(std::string_view payload, bool compressed, events& e);
  void fail(events& e, std::uint16_t code, std::string_view reason);

  const std::size_t max_message_;
  const bool deflate_;
  bool done_ = false;
  // The frame being read: its header, gathered byte by byte when split across reads.
  std::array<unsigned char, 14> header_{};
  std::size_t header_have_ = 0;
  bool in_payload_ = false;
  bool fin_ = false;
  unsigned opcode_ = 0;
  std::array<unsigned char, 4> mask_{};
  std::uint64_t length_ = 0;     // this frame's payload length
  std::uint64_t remaining_ = 0;  // of it, still to come
  // The message being read (a text message of several fragments, or one split across reads).
  bool in_message_ = false;
  bool compressed_ = false;
  std::string message_;
  std::string control_;  // a control frame's payload split across reads
};

// Appends one unmasked, unfragmented server frame (RFC 6455 §5.2) to `out`.
// `opcode`: 0x1 text, 0x8 close, 0x9 ping, 0xA pong; `rsv1`: a compressed message.
void append_frame(std::string& out, unsigned opcode, std::string_view payload, bool rsv1 = false);
inline void append_text_frame(std::string& out, std::string_view payload) {
  append_frame(out, 0x1, payload);
}
// A close frame: `code` and `reason` (cut to fit the 125 bytes a control frame carries); no_status
// sends a close frame with no payload.
void append_close_frame(std::string& out, std::uint16_t code, std::string_view reason);

// permessage-deflate without context takeover, for a message of its own.
// Appends `payload` compressed (the trailing 0x00 0x00 0xff 0xff taken off, RFC 7692 §7.2.1).
void deflate_message(std::string_view payload, int window_bits, std::string& out);
// Inflates one compressed message into `out`; false if it is corrupt or inflates past `max` bytes
// (then `too_big` says which).
bool inflate_message(std::string_view compressed, std::size_t max, std::string& out, bool& too_big);

// The answer to a client's Sec-WebSocket-Extensions when the server compresses: the first
// permessage-deflate offer it can take. `window_bits` is the server's LZ77 window for it.
struct deflate_agreement {
  bool agreed = false;
  int window_bits = 15;
  std::string response;  // the server's Sec-WebSocket-Extensions value
};
deflate_agreement negotiate_deflate(std::string_view offers);

}  // namespace switchboard::protocol
