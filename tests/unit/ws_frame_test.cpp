// The text frames a connection encodes itself for its gathered writes (server/net/gated_stream.hpp):
// RFC 6455 §5.2 headers at each length form's edges.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "server/net/gated_stream.hpp"

using switchboard::server::append_text_frame;

namespace {
std::vector<unsigned> header_of(std::size_t payload_size) {
  std::string out;
  append_text_frame(out, std::string(payload_size, 'a'));
  REQUIRE(out.size() >= payload_size);
  std::size_t header = out.size() - payload_size;
  CHECK(out.substr(header) == std::string(payload_size, 'a'));
  std::vector<unsigned> h;
  for (std::size_t i = 0; i < header; ++i) h.push_back(static_cast<unsigned char>(out[i]));
  return h;
}
}  // namespace

TEST_CASE("text frames: FIN and text opcode, unmasked, each length form at its edges") {
  CHECK(header_of(0) == std::vector<unsigned>{0x81, 0});
  CHECK(header_of(125) == std::vector<unsigned>{0x81, 125});
  CHECK(header_of(126) == std::vector<unsigned>{0x81, 126, 0x00, 126});
  CHECK(header_of(65535) == std::vector<unsigned>{0x81, 126, 0xff, 0xff});
  CHECK(header_of(65536) == std::vector<unsigned>{0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00});
  CHECK(header_of(300000) == std::vector<unsigned>{0x81, 127, 0, 0, 0, 0, 0, 0x04, 0x93, 0xe0});
}

TEST_CASE("text frames: appended one after another, each whole") {
  std::string out;
  append_text_frame(out, "{\"a\":1}");
  append_text_frame(out, "");
  append_text_frame(out, std::string(200, 'b'));
  CHECK(out.size() == (2 + 7) + 2 + (4 + 200));
  CHECK(out.substr(0, 9) == std::string("\x81\x07{\"a\":1}"));
  CHECK(out.substr(9, 2) == std::string("\x81\x00", 2));
  CHECK(static_cast<unsigned char>(out[11]) == 0x81);
  CHECK(static_cast<unsigned char>(out[12]) == 126);
  CHECK(static_cast<unsigned char>(out[14]) == 200);
}
