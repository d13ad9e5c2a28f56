// The WebSocket endpoint against hostile input: Origin rules, random frames, repeated hello.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <boost/json.hpp>
#include <random>
#include <thread>

#include "fixture.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"
#include "ws_replies.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {
std::map<std::string, std::string> upgrade_headers(const std::string& origin) {
  std::map<std::string, std::string> h{{"Connection", "Upgrade"},
                                       {"Upgrade", "websocket"},
                                       {"Sec-WebSocket-Version", "13"},
                                       {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}};
  if (!origin.empty()) h["Origin"] = origin;
  return h;
}

// A client frame, masked unless told otherwise.
std::string client_frame(unsigned first_byte, std::string_view payload, bool masked = true) {
  std::string out{static_cast<char>(first_byte)};
  const char m = masked ? static_cast<char>(0x80) : 0;
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(m | static_cast<char>(payload.size())));
  } else {
    out.push_back(static_cast<char>(m | 126));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size() & 0xff));
  }
  const char key[4] = {0x11, 0x22, 0x33, 0x44};
  if (masked) out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out.push_back(masked ? payload[i] ^ key[i % 4] : payload[i]);
  return out;
}

// A WebSocket client that writes bytes as they are given and reads server frames one by one,
// on a plain blocking socket with a receive timeout.
class raw_ws {
 public:
  raw_ws(int port, const std::string& version = "13") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    send(
        "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: " +
        version + "\r\n\r\n");
    while (in_.find("\r\n\r\n") == std::string::npos)
      if (!fill()) break;
    auto end = in_.find("\r\n\r\n");
    head = in_.substr(0, end == std::string::npos ? in_.size() : end + 4);
    in_.erase(0, head.size());
  }
  ~raw_ws() { ::close(fd_); }
  void send(const std::string& bytes) {
    REQUIRE(::write(fd_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }
  struct frame {
    unsigned opcode;
    std::string payload;
    int close_code() const {
      return payload.size() >= 2
                 ? (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1])
                 : 0;
    }
  };
  // The next frame the server sent, or nullopt at the end of the stream (or after 5 s).
  std::optional<frame> next() {
    while (true) {
      if (in_.size() >= 2) {
        std::size_t len = static_cast<unsigned char>(in_[1]) & 0x7f, pos = 2;
        if (len == 126 && in_.size() >= 4) {
          len = (static_cast<unsigned char>(in_[2]) << 8) | static_cast<unsigned char>(in_[3]);
          pos = 4;
        }
        REQUIRE(len != 127);  // (the frames these tests expect are short)
        REQUIRE((static_cast<unsigned char>(in_[1]) & 0x80) == 0);  // server frames are unmasked
        if (pos != 2 || len < 126) {
          if (in_.size() >= pos + len) {
            frame f{static_cast<unsigned char>(in_[0]) & 0x0fu, in_.substr(pos, len)};
            CHECK((static_cast<unsigned char>(in_[0]) & 0x80) != 0);  // and whole
            in_.erase(0, pos + len);
            return f;
          }
        }
      }
      if (!fill()) return std::nullopt;
    }
  }
  // True when the server ends the TCP connection (within 5 s) with nothing more sent.
  bool ended() {
    char c;
    return in_.empty() && ::recv(fd_, &c, 1, 0) == 0;
  }
  std::string head;

 private:
  bool fill() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  int fd_;
  std::string in_;
};
}  // namespace

TEST_CASE(
    "WebSocket frames on the wire: fragments, pings between them, pongs, the close handshake, protocol "
    "errors") {
  org_fixture fx;
  {
    raw_ws ws(fx.port());
    CHECK(ws.head.rfind("HTTP/1.1 101", 0) == 0);
    CHECK(ws.head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);
    // A hello in three fragments, split mid-header, with a ping between the fragments.
    std::string hello = R"({"id":"h","op":"hello","data":{"token":")" + fx.owner.token +
                        R"(","device":{"id":"raw","platform":"linux","version":"1.0.0"}}})";
    std::string bytes = client_frame(0x01, hello.substr(0, 20)) + client_frame(0x89, "are you there") +
                        client_frame(0x00, hello.substr(20, 30)) + client_frame(0x80, hello.substr(50));
    ws.send(bytes.substr(0, 5));
    std::this_thread::sleep_for(50ms);
    ws.send(bytes.substr(5, 40));
    std::this_thread::sleep_for(50ms);
    ws.send(bytes.substr(45));
    auto pong = ws.next();
    REQUIRE(pong);
    CHECK(pong->opcode == 0xA);
    CHECK(pong->payload == "are you there");
    auto reply = ws.next();
    REQUIRE(reply);
    CHECK(reply->opcode == 0x1);
    auto v = json::parse(reply->payload).as_object();
    CHECK(str(v.at("id")) == "h");
    CHECK(v.at("ok").as_bool());
    // The client closes: the server answers with the same code, then ends the connection.
    ws.send(client_frame(0x88, std::string("\x0f\xa0"
                                           "bye",
                                           5)));
    std::optional<raw_ws::frame> f;
    while ((f = ws.next()) && f->opcode != 0x8) {
    }
    REQUIRE(f);
    CHECK(f->close_code() == 4000);
    CHECK(ws.ended());
  }
  {
    raw_ws ws(fx.port());
    ws.send(client_frame(0x81, R"({"id":"1","op":"ping"})", false));  // unmasked
    auto f = ws.next();
    REQUIRE(f);
    CHECK(f->opcode == 0x8);
    CHECK(f->close_code() == 1002);
    CHECK(ws.ended());
  }
  {
    raw_ws ws(fx.port());
    ws.send(client_frame(0x82, "\x01\x02"));  // binary
    auto f = ws.next();
    REQUIRE(f);
    CHECK(f->close_code() == 1003);
    CHECK(ws.ended());
  }
  {
    raw_ws ws(fx.port(), "12");
    CHECK(ws.head.rfind("HTTP/1.1 426", 0) == 0);
    CHECK(ws.head.find("Sec-WebSocket-Version: 13") != std::string::npos);
  }
  CHECK(http_get(fx.port(), "/healthz").status == 200);
}

TEST_CASE("the WebSocket upgrade honours server.allowed_origins, no Origin is allowed") {
  org_fixture fx(
      env{{"SWITCHBOARD_SERVER_ALLOWED_ORIGINS", "https://chat.example.com, https://app.example.com"}});
  auto evil = http_call(fx.port(), "GET", "/v1/ws", "", upgrade_headers("https://evil.example.net"));
  CHECK(evil.status == 403);
  CHECK_THAT(evil.body, Catch::Contains("forbidden"));
  CHECK_THROWS(ws_client(fx.port(), {{"Origin", "https://evil.example.net"}}));
  ws_client good(fx.port(), {{"Origin", "https://app.example.com"}});
  CHECK(good.hello(fx.owner.token).at("ok").as_bool());
  ws_client native(fx.port());
  CHECK(native.hello(fx.owner.token).at("ok").as_bool());
  CHECK(http_call(fx.port(), "GET", "/v2/ws", "", upgrade_headers("")).status == 404);
  CHECK(limit_hits(fx.port(), "origin") == 2);
}

TEST_CASE("a second hello is bad_request and the session carries on") {
  org_fixture fx;
  ws_client ws(fx.port());
  REQUIRE(ws.hello(fx.owner.token).at("ok").as_bool());
  auto again = ws.hello(fx.owner.token);
  CHECK_FALSE(again.at("ok").as_bool());
  CHECK(again.at("error").at("code").as_string() == "bad_request");
  CHECK(ws.call("ping").at("ok").as_bool());
}

TEST_CASE("thousands of random and mutated frames get replies and never take the server down") {
  org_fixture fx(env{{"SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND", "100000"},
                     {"SWITCHBOARD_LIMITS_REQUEST_BURST", "100000"}});
  ws_client ws(fx.port());
  REQUIRE(ws.hello(fx.owner.token).at("ok").as_bool());
  std::mt19937 rng(20261129);  // fixed seed: a failure reproduces
  const std::vector<std::string> seeds{
      R"({"id":"1","op":"send","data":{"conv":"1","client_msg_id":"a","type":"text","body":{"text":"x"}}})",
      R"({"id":"2","op":"sync","data":{"conv":"1","after_seq":0,"limit":10}})",
      R"({"id":"3","op":"create_group","data":{"name":"g","members":["1","2"]}})",
      R"({"id":"4","op":"presence","data":{"users":["1"]}})",
      R"({"id":"5","op":"read","data":{"conv":"1","seq":1}})",
  };
  const std::string alphabet = "{}[]\":,0123456789abcdefnulltrue\\u00 \t\xff\xc3";
  int replies = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string f = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !f.empty(); ++e) {
      auto pos = rng() % f.size();
      switch (rng() % 3) {
        case 0:
          f[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          f.erase(pos, 1 + rng() % 3);
          break;
        default:
          f.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
      }
    }
    // Invalid UTF-8 in a text frame is a protocol error (1007) by RFC 6455: keep frames valid UTF-8
    // here so the session survives the whole run; the 1007 path has its own check below.
    bool valid = true;
    for (unsigned char c : f) valid = valid && c < 0x80;
    if (!valid) continue;
    ws.send_text(f);
    if (ws.next_frame(5s)) ++replies;
  }
  CHECK(replies > 1000);
  CHECK(ws.call("ping").at("ok").as_bool());
  CHECK(http_get(fx.port(), "/healthz").status == 200);

  ws_client bad_utf8(fx.port());
  REQUIRE(bad_utf8.hello(fx.owner.token).at("ok").as_bool());
  bad_utf8.send_text("{\"id\":\"1\",\"op\":\"ping\",\"data\":{\"s\":\"\xff\xfe\"}}");
  CHECK(bad_utf8.wait_closed() == 1007);
  CHECK(http_get(fx.port(), "/healthz").status == 200);
}

TEST_CASE("queued frames go out many to a write, whole and in order, with pings answered among them") {
  // With permessage-deflate agreed, frames of 128 bytes and more go compressed, in the same batches.
  const bool deflate = GENERATE(false, true);
  INFO("permessage_deflate " << deflate);
  org_fixture fx(env{{"SWITCHBOARD_SERVER_PERMESSAGE_DEFLATE", deflate ? "true" : "false"},
                     {"SWITCHBOARD_LIMITS_OUTBOUND_QUEUE_BYTES", "16777216"},
                     {"SWITCHBOARD_LIMITS_SENDS_PER_SECOND", "100000"},
                     {"SWITCHBOARD_LIMITS_SEND_BURST", "100000"},
                     {"SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND", "100000"},
                     {"SWITCHBOARD_LIMITS_REQUEST_BURST", "100000"}});
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a(fx.port(), {}, 0, deflate), b(fx.port(), {}, 0, deflate);
  CHECK(b.extensions().rfind(
            deflate ? "permessage-deflate; server_no_context_takeover; client_no_context_takeover" : "", 0) ==
        0);
  if (!deflate) CHECK(b.extensions().empty());
  ok_data(a.hello(fx.owner.token));
  ok_data(b.hello(bob.token));
  auto conv = str(ok_data(a.call("open_direct", {{"user", bob.id}})).at("conv").at("conv"));
  long writes_before = metric_value(fx.port(), "switchboard_ws_writes_total");
  long frames_before = metric_value(fx.port(), "switchboard_ws_frames_written_total");

  // Sends without waiting for acks, so Bob's session has many deliveries queued at once. Texts of
  // up to 2,000 bytes: frames with the 2-byte and the 7-bit length forms (the acks).
  constexpr int n = 400;
  auto text_of = [](int i) {
    return std::to_string(i) + ":" + std::string(static_cast<std::size_t>(i * 97 % 2000), 'x');
  };
  std::string ping_error;
  std::thread pinger([&] {
    try {
      for (int i = 0; i < 150; ++i) b.send_ping();  // each pong is written between two batches
    } catch (const std::exception& e) {
      ping_error = e.what();
    }
  });
  struct joiner {
    std::thread& t;
    ~joiner() {
      if (t.joinable()) t.join();
    }
  } join_pinger{pinger};
  for (int i = 0; i < n; ++i) {
    json::object req{{"id", "s" + std::to_string(i)},
                     {"op", "send"},
                     {"data", text_send(conv, "m" + std::to_string(i), text_of(i))}};
    a.send_text(json::serialize(req));
  }
  pinger.join();
  CHECK(ping_error.empty());

  std::int64_t last_seq = 0;
  for (int i = 0; i < n; ++i) {
    auto ev = b.wait_event("message", 15s);
    REQUIRE(ev);
    const auto& m = ev->at("data").as_object();
    CHECK(str(m.at("body").at("text")) == text_of(i));
    CHECK(m.at("seq").as_int64() == last_seq + 1);
    last_seq = m.at("seq").as_int64();
  }
  for (int acks = 0; acks < n;) {
    auto f = a.next_frame(15s);
    REQUIRE(f);
    auto v = json::parse(*f).as_object();
    if (v.contains("ev")) continue;  // conv_update (created)
    INFO(*f);
    CHECK(v.at("ok").as_bool());
    ++acks;
  }
  // A history page over 64 KiB: one frame with the 8-byte length form.
  auto page = ok_data(b.call("history", {{"conv", conv}, {"limit", 100}})).at("messages").as_array();
  CHECK(page.size() == 100);
  CHECK(json::serialize(page).size() > 65536);
  CHECK(ok_data(b.call("ping")).empty());

  // The deliveries shared writes: fewer writes than frames.
  long writes = metric_value(fx.port(), "switchboard_ws_writes_total") - writes_before;
  long frames = metric_value(fx.port(), "switchboard_ws_frames_written_total") - frames_before;
  CHECK(frames >= 2 * n);
  CHECK(writes < frames);
}

TEST_CASE(
    "with compression agreed, a group's messages reach every member whole (one deflate shared by "
    "recipients)") {
  org_fixture fx(env{{"SWITCHBOARD_SERVER_PERMESSAGE_DEFLATE", "true"}});
  auto bob = fx.add_user(fx.owner, "Bob");
  auto carol = fx.add_user(fx.owner, "Carol");
  ws_client a(fx.port(), {}, 0, true), b(fx.port(), {}, 0, true), c(fx.port(), {}, 0, true);
  ok_data(a.hello(fx.owner.token));
  ok_data(b.hello(bob.token));
  ok_data(c.hello(carol.token));
  auto conv = str(
      ok_data(a.call("create_group",
                     {{"name", "g"}, {"members", json::array{json::value(bob.id), json::value(carol.id)}}}))
          .at("conv")
          .at("conv"));
  auto text_of = [](int i) {
    return std::to_string(i) + ":" + std::string(static_cast<std::size_t>(200 + i * 37), 'z');
  };
  for (int i = 0; i < 20; ++i) ok_data(a.call("send", text_send(conv, "g" + std::to_string(i), text_of(i))));
  for (auto* member : {&b, &c}) {
    for (int i = 0; i < 20; ++i) {
      auto ev = member->wait_event("message", 10s);
      REQUIRE(ev);
      CHECK(str(ev->at("data").at("body").at("text")) == text_of(i));
    }
  }
}
