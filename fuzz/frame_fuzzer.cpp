// libFuzzer target: raw bytes from a client, after a valid WebSocket upgrade, through Beast's
// frame decoder with the server's settings (65,536-byte messages, masking required), each
// message then through the request parser. Beast runs on an in-memory stream (beast::test).
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdint>
#include <string>

#include "protocol/json_util.hpp"

namespace beast = boost::beast;
namespace websocket = beast::websocket;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::asio::io_context ioc;
  beast::test::stream client(ioc), server_side(ioc);
  client.connect(server_side);
  websocket::stream<beast::test::stream&> ws(server_side);
  ws.read_message_max(65536);
  // The upgrade, then the fuzzed frames, then the end of the stream.
  std::string upgrade =
      "GET /v1/ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  server_side.append(upgrade);
  server_side.append(beast::string_view(reinterpret_cast<const char*>(data), size));
  client.close();  // once the input is read, the server sees the end of the stream
  beast::error_code ec;
  ws.accept(ec);
  if (ec) return 0;
  for (int i = 0; i < 1000; ++i) {
    beast::flat_buffer buf;
    ws.read(buf, ec);
    if (ec) break;
    auto d = buf.data();
    (void)switchboard::protocol::parse_untrusted_json(
        std::string_view(static_cast<const char*>(d.data()), d.size()));
  }
  return 0;
}
