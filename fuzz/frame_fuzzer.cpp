// libFuzzer target: raw bytes from a client after the WebSocket upgrade, through the server's frame
// decoder (protocol/ws_frames.cpp) with its settings (65,536-byte messages, masking required),
// each message then through the request parser: once without compression and whole, once with
// compression agreed and fed in pieces of growing size, as reads from a socket would deliver it.
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/json_util.hpp"
#include "protocol/ws_frames.hpp"

namespace {
struct sink : switchboard::protocol::ws_decoder::events {
  void on_text(std::string_view text) override { (void)switchboard::protocol::parse_untrusted_json(text); }
  void on_ping(std::string_view) override {}
  void on_pong() override {}
  void on_close(std::uint16_t, std::string_view) override {}
  void on_error(std::uint16_t, std::string_view) override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (bool deflate : {false, true}) {
    std::vector<char> bytes(data, data + size);
    switchboard::protocol::ws_decoder d(65536, deflate);
    sink s;
    // Whole, or pieces of 1, 2, 3, ... bytes and then the rest (split headers and payloads).
    std::size_t pos = 0, piece = 1;
    while (pos < bytes.size() && !d.done()) {
      std::size_t n = deflate && piece < 64 ? std::min(piece, bytes.size() - pos) : bytes.size() - pos;
      d.feed(bytes.data() + pos, n, s);
      pos += n;
      ++piece;
    }
  }
  return 0;
}
