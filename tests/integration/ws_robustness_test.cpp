// The WebSocket endpoint against hostile input: Origin rules, random frames, repeated hello.
#include <catch2/catch.hpp>

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
}  // namespace

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
  // With permessage-deflate configured, Beast writes (and would compress) each frame itself.
  const bool deflate = GENERATE(false, true);
  INFO("permessage_deflate " << deflate);
  org_fixture fx(env{{"SWITCHBOARD_SERVER_PERMESSAGE_DEFLATE", deflate ? "true" : "false"},
                     {"SWITCHBOARD_LIMITS_OUTBOUND_QUEUE_BYTES", "16777216"},
                     {"SWITCHBOARD_LIMITS_SENDS_PER_SECOND", "100000"},
                     {"SWITCHBOARD_LIMITS_SEND_BURST", "100000"},
                     {"SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND", "100000"},
                     {"SWITCHBOARD_LIMITS_REQUEST_BURST", "100000"}});
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a(fx.port()), b(fx.port());
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
  if (deflate)
    CHECK(writes == frames);
  else
    CHECK(writes < frames);
}
