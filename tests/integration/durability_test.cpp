// Durability and back-pressure: acks survive a PostgreSQL restart, an outage stores nothing,
// slow consumers and silent peers are closed.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "fixture.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {
std::string str(const json::value& v) {
  return std::string(v.as_string());
}
json::object text_send(const std::string& conv, const std::string& cmid, const std::string& text) {
  return {{"conv", conv}, {"client_msg_id", cmid}, {"type", "text"}, {"body", json::object{{"text", text}}}};
}
// A small outbound queue, and no rate limit in the way of a flood.
env slow_consumer_env() {
  return env{{"SWITCHBOARD_LIMITS_OUTBOUND_QUEUE_BYTES", "65536"},
             {"SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND", "100000"},
             {"SWITCHBOARD_LIMITS_REQUEST_BURST", "100000"},
             {"SWITCHBOARD_LIMITS_SENDS_PER_SECOND", "100000"},
             {"SWITCHBOARD_LIMITS_SEND_BURST", "100000"}};
}
}  // namespace

TEST_CASE("a message acked before PostgreSQL restarts is there afterwards", "[disruptive]") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a(fx.port());
  REQUIRE(a.hello(fx.owner.token).at("ok").as_bool());
  auto conv = str(a.call("open_direct", {{"user", bob.id}}).at("data").at("conv").at("conv"));
  auto ack = a.call("send", text_send(conv, "durable-1", "kept"));
  REQUIRE(ack.at("ok").as_bool());
  auto msg_id = str(ack.at("data").at("msg_id"));

  {
    cluster_outage outage;
    outage.end();
  }

  CHECK(fx.db.scalar("SELECT body FROM messages WHERE id = " + msg_id) == R"({"text":"kept"})");
  // The server recovers by itself: the next send is accepted once its connections are back.
  CHECK(eventually([&] { return http_get(fx.port(), "/readyz").status == 200; }, 15s));
  bool sent = eventually(
      [&] { return a.call("send", text_send(conv, "durable-2", "after")).at("ok").as_bool(); }, 15s);
  CHECK(sent);
  // Each pooled connection notices the restart on its first use and answers `unavailable` once.
  json::object synced;
  CHECK(eventually(
      [&] {
        synced = a.call("sync", {{"conv", conv}, {"after_seq", 0}});
        return synced.at("ok").as_bool();
      },
      15s));
  CHECK(synced.at("data").at("messages").as_array().size() == 2);
}

TEST_CASE("sending while PostgreSQL is down answers unavailable and stores nothing", "[disruptive]") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  auto carol = fx.add_user(fx.owner, "Carol");  // her token is not seen by this node before the outage
  ws_client a(fx.port());
  REQUIRE(a.hello(fx.owner.token).at("ok").as_bool());
  ws_client b(fx.port());
  REQUIRE(b.hello(bob.token).at("ok").as_bool());
  auto conv = str(a.call("open_direct", {{"user", bob.id}}).at("data").at("conv").at("conv"));
  REQUIRE(a.call("typing", {{"conv", conv}}).at("ok").as_bool());  // membership now in memory
  REQUIRE(b.wait_event("typing").has_value());

  cluster_outage outage;
  {
    // A hello whose token must be looked up (the batched lookup fails with the database): unavailable,
    // then close 1001, reconnect and try again.
    ws_client c(fx.port());
    auto r = c.hello(carol.token);
    CHECK_FALSE(r.at("ok").as_bool());
    CHECK(str(r.at("error").at("code")) == "unavailable");
    CHECK(c.wait_closed() == 1001);
  }
  for (int i = 0; i < 3; ++i) {
    auto r = a.call("send", text_send(conv, "down-" + std::to_string(i), "lost?"));
    CHECK_FALSE(r.at("ok").as_bool());
    CHECK(str(r.at("error").at("code")) == "unavailable");
  }
  auto sync = a.call("sync", {{"conv", conv}, {"after_seq", 0}});
  CHECK(str(sync.at("error").at("code")) == "unavailable");
  CHECK(http_get(fx.port(), "/healthz").status == 200);
  // What memory can answer still works, and the live connections stay open: ping, typing (to a
  // conversation whose members are cached), presence, and a hello with a token already seen.
  CHECK(a.call("ping").at("ok").as_bool());
  CHECK(a.call("typing", {{"conv", conv}}).at("ok").as_bool());
  CHECK(b.wait_event("typing").has_value());
  auto p = a.call("presence", {{"users", json::array{json::value(bob.id)}}});
  REQUIRE(p.at("ok").as_bool());
  CHECK(p.at("data").at("presence").at(bob.id).at("online").as_bool());
  ws_client a2(fx.port());
  CHECK(a2.hello(fx.owner.token, "second-device").at("ok").as_bool());
  outage.end();
  // The lookup that failed left nothing stuck: the same token's hello now succeeds.
  CHECK(eventually(
      [&] {
        ws_client c(fx.port());
        return c.hello(carol.token).at("ok").as_bool();
      },
      15s));

  CHECK(fx.db.scalar("SELECT count(*) FROM messages") == "0");
  CHECK(fx.db.scalar("SELECT last_seq FROM conversations WHERE id = " + conv) == "0");
  // The resend after the outage settles it, with seq 1: no gap was left behind.
  bool ok =
      eventually([&] { return a.call("send", text_send(conv, "down-0", "again")).at("ok").as_bool(); }, 15s);
  REQUIRE(ok);
  CHECK(fx.db.scalar("SELECT seq FROM messages WHERE client_msg_id = 'down-0'") == "1");
}

TEST_CASE("a session that stops reading is closed 4429 as a slow consumer, the server carries on") {
  org_fixture fx(slow_consumer_env());
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a(fx.port());
  REQUIRE(a.hello(fx.owner.token).at("ok").as_bool());
  ws_client slow(fx.port(), {}, 4096);
  REQUIRE(slow.hello(bob.token).at("ok").as_bool());
  auto conv = str(a.call("open_direct", {{"user", bob.id}}).at("data").at("conv").at("conv"));
  slow.pause_reading();
  std::string big(8000, 'z');
  std::optional<int> closed;
  for (int i = 0; i < 3000 && !closed; ++i) {
    a.send_text(json::serialize(json::object{{"id", "f" + std::to_string(i)},
                                             {"op", "send"},
                                             {"data", text_send(conv, "flood-" + std::to_string(i), big)}}));
    if (i % 100 == 99) closed = slow.wait_closed(1ms);
  }
  // Nothing is lost for the slow reader: everything acked is stored for its next sync.
  CHECK(a.call("ping", {}, 60s).at("ok").as_bool());
  CHECK(std::stoi(fx.db.scalar("SELECT count(*) FROM messages")) > 0);
  // The close frame cannot reach a client that does not read; the server ends the TCP connection
  // after its close deadline. What matters: the server stays healthy and the session is gone.
  CHECK(eventually(
      [&] {
        return http_get(fx.port(), "/metrics").body.find("switchboard_connections{kind=\"websocket\"} 1\n") !=
               std::string::npos;
      },
      30s));
  CHECK(fx.srv->proc().output().find("slow consumer") != std::string::npos);
  CHECK(limit_hits(fx.port(), "slow_consumer") == 1);
}

TEST_CASE(
    "a slow consumer is offline from the moment its close starts, and gets the 4429 frame on resuming") {
  org_fixture fx(slow_consumer_env());
  auto bob = fx.add_user(fx.owner, "Bob");
  auto carol = fx.add_user(fx.owner, "Carol");
  ws_client a(fx.port());
  REQUIRE(a.hello(fx.owner.token).at("ok").as_bool());
  ws_client watcher(fx.port());
  REQUIRE(watcher.hello(carol.token).at("ok").as_bool());
  REQUIRE(watcher.call("presence_sub", {{"users", json::array{bob.id}}}).at("ok").as_bool());
  ws_client phone(fx.port(), {}, 4096);
  REQUIRE(phone.hello(bob.token).at("ok").as_bool());
  REQUIRE(watcher.wait_event("presence", 10s));  // Bob came online
  auto online = [&] {
    auto r = a.call("presence", {{"users", json::array{bob.id}}});
    return r.at("data").at("presence").at(bob.id).at("online").as_bool();
  };
  REQUIRE(online());
  auto conv = str(a.call("open_direct", {{"user", bob.id}}).at("data").at("conv").at("conv"));

  phone.pause_reading();  // the app goes to the background
  std::string big(8000, 'z');
  std::optional<json::object> offline;
  for (int i = 0; i < 3000 && !offline; ++i) {
    a.send_text(json::serialize(json::object{{"id", "f" + std::to_string(i)},
                                             {"op", "send"},
                                             {"data", text_send(conv, "pause-" + std::to_string(i), big)}}));
    if (i % 50 == 49) offline = watcher.wait_event("presence", 1ms);
  }
  if (!offline) offline = watcher.wait_event("presence", 30s);  // the server may still be catching up
  // The close started: Bob is offline now, while the connection still waits for its close frame
  // to get through.
  REQUIRE(offline);
  CHECK(str(offline->at("data").at("user")) == bob.id);
  CHECK_FALSE(offline->at("data").at("online").as_bool());
  CHECK_FALSE(online());
  CHECK(phone.wait_closed(2s) == std::nullopt);  // not cut off yet

  phone.resume_reading();  // back in the foreground within 10 s: it learns why it was dropped
  CHECK(phone.wait_closed(30s) == 4429);
  CHECK(limit_hits(fx.port(), "slow_consumer") == 1);
}

TEST_CASE("a peer that answers no pings is closed after two heartbeats") {
  org_fixture fx(env{{"SWITCHBOARD_SERVER_HEARTBEAT_S", "1"}});
  ws_client ws(fx.port());
  REQUIRE(ws.hello(fx.owner.token).at("ok").as_bool());
  ws.pause_reading();
  // The read already in progress still answers pings until a frame completes it: this reply does.
  ws.send_text(R"({"id":"last","op":"ping","data":{}})");
  CHECK(eventually(
      [&] {
        return http_get(fx.port(), "/metrics").body.find("switchboard_connections{kind=\"websocket\"} 0\n") !=
               std::string::npos;
      },
      10s));
}
