// Calls (PROTOCOL.md "Calls"): every transition and end reason, devices ringing together, glare,
// the timers with short configured times, group calls, signalling, TURN credentials and call
// minutes, against the real server and PostgreSQL; and a node killed while its call rings.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <thread>

#include "cluster.hpp"
#include "fixture.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"
#include "ws_replies.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {

// Short timers: a call rings 2 s, a dropped party has 2 s, the sweep looks every 100 ms.
env short_timers() {
  return {
      {"SWITCHBOARD_CALLS_RING_TIMEOUT_S", "2"},
      {"SWITCHBOARD_CALLS_RECONNECT_GRACE_S", "2"},
      {"SWITCHBOARD_CALLS_SWEEP_MS", "100"},
      {"SWITCHBOARD_CALLS_TURN_URIS", "turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349"},
      {"SWITCHBOARD_CALLS_TURN_SECRET", "s3cret-shared-with-coturn"},
      {"SWITCHBOARD_CALLS_TURN_TTL_S", "600"}};
}

json::object credit(const std::string& db_url, const std::string& org, int minutes, const std::string& ref) {
  auto r =
      run_binary({"org", "credit-minutes", "--org", org, "--minutes", std::to_string(minutes), "--ref", ref},
                 {{"SWITCHBOARD_DATABASE_URL", db_url}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out).as_object();
}

std::unique_ptr<ws_client> connect(int port, const account& a, const std::string& device = "dev-1") {
  auto ws = std::make_unique<ws_client>(port);
  ok_data(ws->hello(a.token, device));
  return ws;
}

json::object event_data(ws_client& ws, const std::string& ev, std::chrono::milliseconds timeout = 10s) {
  auto e = ws.wait_event(ev, timeout);
  INFO("waiting for " << ev);
  REQUIRE(e);
  return e->at("data").as_object();
}

std::string direct_conv(ws_client& ws, const account& other) {
  return str(ok_data(ws.call("open_direct", {{"user", other.id}})).at("conv").at("conv"));
}

json::object invite(ws_client& ws, const std::string& conv, const std::string& cid,
                    const std::string& media = "audio") {
  return ws.call("call_invite", {{"conv", conv}, {"media", media}, {"client_call_id", cid}});
}

// The newest message of a conversation (a call's system message once it ended).
json::object last_message(ws_client& ws, const std::string& conv) {
  auto page = ok_data(ws.call("history", {{"conv", conv}, {"limit", 1}}));
  auto msgs = page.at("messages").as_array();
  REQUIRE(msgs.size() == 1);
  return msgs[0].as_object();
}

json::object admin_get(int port, const account& admin, const std::string& path) {
  auto r = http_call(port, "GET", path, "", {{"Authorization", "Bearer " + admin.token}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body).as_object();
}

std::string hello_session(ws_client& ws, const account& a, const std::string& device) {
  return str(ok_data(ws.hello(a.token, device)).at("session_id"));
}

// An organization with call minutes, its owner and Bob online, and their direct conversation.
struct two_members {
  explicit two_members(int minutes) : fx(short_timers()), bob(fx.add_user(fx.owner, "Bob")) {
    credit(fx.db.url(), fx.owner.org, minutes, "order-1");
    a = connect(fx.port(), fx.owner);
    b = connect(fx.port(), bob);
    conv = direct_conv(*a, bob);
  }
  org_fixture fx;
  account bob;
  std::unique_ptr<ws_client> a, b;
  std::string conv;
};

// An organization's owner and Bob, Carol and Dave online; `minutes` credited when above 0.
struct four_members {
  four_members(env e, int minutes)
      : fx(std::move(e)),
        bob(fx.add_user(fx.owner, "Bob")),
        carol(fx.add_user(fx.owner, "Carol")),
        dave(fx.add_user(fx.owner, "Dave")) {
    if (minutes > 0) credit(fx.db.url(), fx.owner.org, minutes, "order-1");
    a = connect(fx.port(), fx.owner);
    b = connect(fx.port(), bob);
    c = connect(fx.port(), carol);
    d = connect(fx.port(), dave);
  }
  org_fixture fx;
  account bob, carol, dave;
  std::unique_ptr<ws_client> a, b, c, d;
};

}  // namespace

TEST_CASE(
    "calls: a direct call rings every device, the first accept wins, signals reach the accepting device") {
  org_fixture fx(short_timers());
  auto bob = fx.add_user(fx.owner, "Bob");
  credit(fx.db.url(), fx.owner.org, 10, "order-1");
  ws_client a(fx.port()), b1(fx.port()), b2(fx.port());
  auto sa = hello_session(a, fx.owner, "a-phone");
  auto sb1 = hello_session(b1, bob, "b-phone");
  auto sb2 = hello_session(b2, bob, "b-desk");
  auto conv = direct_conv(a, bob);

  auto inv = ok_data(invite(a, conv, "c-1", "video"));
  auto call = inv.at("call").as_object();
  auto id = str(call.at("call"));
  CHECK(str(call.at("state")) == "ringing");
  CHECK(str(call.at("media")) == "video");
  CHECK(str(call.at("initiator")) == fx.owner.id);
  CHECK(call.at("answered_at").is_null());
  CHECK(call.at("parties").as_array().size() == 1);
  CHECK(str(call.at("parties").as_array()[0].at("session")) == sa);
  CHECK_FALSE(inv.contains("glare"));
  CHECK(inv.at("turn").at("uris").as_array().size() == 2);
  // A repeated invite (same client_call_id) is the same call, and rings nobody again.
  CHECK(str(ok_data(invite(a, conv, "c-1", "video")).at("call").at("call")) == id);
  // Another invite into the conversation while it rings is a conflict.
  CHECK(error_code_of(invite(a, conv, "c-2")) == "conflict");

  // Both of Bob's devices ring, once.
  CHECK(str(event_data(b1, "call_incoming").at("call")) == id);
  CHECK(str(event_data(b2, "call_incoming").at("call")) == id);
  CHECK_FALSE(b1.wait_event("call_incoming", 300ms));
  CHECK_FALSE(a.wait_event("call_incoming", 10ms));

  // The desk accepts first; the phone stops ringing and its late accept is a conflict.
  auto acc = ok_data(b2.call("call_accept", {{"call", id}}));
  CHECK(str(acc.at("call").at("state")) == "active");
  CHECK(acc.at("call").at("answered_at").is_int64());
  CHECK(acc.at("call").at("parties").as_array().size() == 2);
  CHECK(str(acc.at("turn").at("username")).find(":" + bob.id) != std::string::npos);
  auto elsewhere = event_data(b1, "call_ended");
  CHECK(str(elsewhere.at("reason")) == "answered_elsewhere");
  CHECK(error_code_of(b1.call("call_accept", {{"call", id}})) == "conflict");
  auto up = event_data(a, "call_update");
  CHECK(str(up.at("state")) == "active");
  // The same device accepting again is answered with the call (a retry after a lost reply).
  CHECK(str(ok_data(b2.call("call_accept", {{"call", id}})).at("call").at("state")) == "active");

  // Signals go to the one session named, between the call's parties only.
  json::object sdp{{"type", "offer"}, {"sdp", "v=0 o=- 1 2 IN IP4 127.0.0.1"}};
  ok_data(a.call("call_signal", {{"call", id}, {"to", sb2}, {"kind", "offer"}, {"payload", sdp}}));
  auto sig = event_data(b2, "call_signal");
  CHECK(str(sig.at("call")) == id);
  CHECK(str(sig.at("from")) == sa);
  CHECK(str(sig.at("from_user")) == fx.owner.id);
  CHECK(str(sig.at("kind")) == "offer");
  CHECK(sig.at("payload") == json::value(sdp));
  CHECK_FALSE(b1.wait_event("call_signal", 300ms));
  ok_data(b2.call("call_signal", {{"call", id}, {"to", sa}, {"kind", "answer"}, {"payload", sdp}}));
  CHECK(str(event_data(a, "call_signal").at("kind")) == "answer");
  // SDP to the device that did not answer, or from it, is refused.
  CHECK(error_code_of(a.call(
            "call_signal", {{"call", id}, {"to", sb1}, {"kind", "offer"}, {"payload", sdp}})) == "forbidden");
  CHECK(error_code_of(b1.call("call_signal",
                              {{"call", id}, {"to", sa}, {"kind", "ice"}, {"payload", sdp}})) == "forbidden");
  // The payload is at most 16 KiB; kind is one of four.
  json::object big{{"sdp", std::string(16 * 1024, 'x')}};
  CHECK(error_code_of(a.call(
            "call_signal", {{"call", id}, {"to", sb2}, {"kind", "offer"}, {"payload", big}})) == "too_large");
  json::object fits{{"sdp", std::string(16 * 1024 - 20, 'x')}};
  ok_data(a.call("call_signal", {{"call", id}, {"to", sb2}, {"kind", "ice"}, {"payload", fits}}));
  CHECK(event_data(b2, "call_signal").at("payload").at("sdp").as_string().size() == 16 * 1024 - 20);
  CHECK(error_code_of(a.call(
            "call_signal", {{"call", id}, {"to", sb2}, {"kind", "sdp"}, {"payload", sdp}})) == "bad_request");
  CHECK(error_code_of(a.call("call_signal", {{"call", id}, {"to", sb2}, {"kind", "offer"}})) ==
        "bad_request");

  // `calls` lists it for both sides.
  CHECK(ok_data(a.call("calls")).at("calls").as_array().size() == 1);
  CHECK(ok_data(b1.call("calls")).at("calls").as_array().size() == 1);

  // Bob hangs up: the call ends for everyone it rang, and the history says so.
  ok_data(b2.call("call_hangup", {{"call", id}}));
  for (auto* ws : {&a, &b2}) {
    auto end = event_data(*ws, "call_ended");
    CHECK(str(end.at("call")) == id);
    CHECK(str(end.at("reason")) == "hangup");
    CHECK(end.at("duration_ms").as_int64() >= 0);
  }
  auto sys = last_message(a, conv);
  CHECK(str(sys.at("type")) == "system");
  CHECK(str(sys.at("body").at("event")) == "call");
  CHECK(str(sys.at("body").at("call")) == id);
  CHECK(str(sys.at("body").at("actor")) == fx.owner.id);
  CHECK(str(sys.at("body").at("media")) == "video");
  CHECK(str(sys.at("body").at("result")) == "completed");
  CHECK(sys.at("body").at("duration_ms").is_int64());
  CHECK(str(event_data(b1, "message").at("body").at("event")) == "call");
  CHECK(ok_data(a.call("calls")).at("calls").as_array().empty());
  // Over: accept and signal are refused, hang-up is a no-op.
  CHECK(error_code_of(b1.call("call_accept", {{"call", id}})) == "conflict");
  CHECK(error_code_of(a.call("call_signal",
                             {{"call", id}, {"to", sb2}, {"kind", "ice"}, {"payload", sdp}})) == "not_found");
  ok_data(a.call("call_hangup", {{"call", id}}));

  // The admin's records: one call of at most one minute, billed.
  auto records = admin_get(fx.port(), fx.owner, "/v1/admin/calls");
  REQUIRE(records.at("items").as_array().size() == 1);
  auto rec = records.at("items").as_array()[0].as_object();
  CHECK(str(rec.at("call")) == id);
  CHECK(str(rec.at("end_reason")) == "hangup");
  CHECK(rec.at("billed_minutes").as_int64() == 1);
  auto minutes = admin_get(fx.port(), fx.owner, "/v1/admin/call_minutes");
  CHECK(minutes.at("balance_minutes").as_int64() == 9);
  CHECK(minutes.at("used_minutes").as_int64() == 1);
  CHECK(minutes.at("credited_minutes").as_int64() == 10);
  REQUIRE(minutes.at("packages").as_array().size() == 1);
  CHECK(str(minutes.at("packages").as_array()[0].at("ref")) == "order-1");
  // A member may not read them.
  auto r =
      http_call(fx.port(), "GET", "/v1/admin/call_minutes", "", {{"Authorization", "Bearer " + bob.token}});
  CHECK(r.status == 403);

  auto metrics = http_call(fx.port(), "GET", "/metrics", "");
  CHECK(metrics.body.find("switchboard_call_setups_total 1") != std::string::npos);
  CHECK(metrics.body.find("switchboard_call_ends_total{reason=\"hangup\"} 1") != std::string::npos);
  CHECK(metrics.body.find("switchboard_call_minutes_billed_total 1") != std::string::npos);
}

TEST_CASE("calls: cancelled, declined, missed and dropped, each with its system message") {
  two_members t(10);
  auto& [fx, bob, a, b, conv] = t;

  auto ends_with = [&](ws_client& x, ws_client& y, const std::string& id, const std::string& reason,
                       const std::string& result) {
    for (auto* ws : {&x, &y}) {
      auto end = event_data(*ws, "call_ended", 8s);
      CHECK(str(end.at("call")) == id);
      CHECK(str(end.at("reason")) == reason);
    }
    auto sys = last_message(x, conv);
    CHECK(str(sys.at("body").at("result")) == result);
    CHECK(str(sys.at("body").at("call")) == id);
  };

  SECTION("the caller hangs up before an answer: cancelled") {
    auto id = str(ok_data(invite(*a, conv, "c1")).at("call").at("call"));
    event_data(*b, "call_incoming");
    ok_data(a->call("call_hangup", {{"call", id}}));
    ends_with(*a, *b, id, "cancelled", "cancelled");
    CHECK(last_message(*a, conv).at("body").at("duration_ms").as_int64() == 0);
  }
  SECTION("the callee rejects: declined") {
    auto id = str(ok_data(invite(*a, conv, "c1")).at("call").at("call"));
    event_data(*b, "call_incoming");
    ok_data(b->call("call_reject", {{"call", id}}));
    ends_with(*a, *b, id, "declined", "declined");
    ok_data(b->call("call_reject", {{"call", id}}));  // again: nothing rings any more
  }
  SECTION("nobody answers within the ring timeout: missed") {
    auto id = str(ok_data(invite(*a, conv, "c1")).at("call").at("call"));
    event_data(*b, "call_incoming");
    CHECK_FALSE(a->wait_event("call_ended", 1200ms));  // still ringing well inside the 2 s
    ends_with(*a, *b, id, "missed", "missed");
    // A new call may start once it ended.
    ok_data(invite(*a, conv, "c2"));
  }
  SECTION("a party's session drops and does not come back: dropped") {
    auto id = str(ok_data(invite(*a, conv, "c1")).at("call").at("call"));
    ok_data(b->call("call_accept", {{"call", id}}));
    event_data(*a, "call_update");
    b->drop();
    auto up = event_data(*a, "call_update", 5s);  // Bob's party is dropped: in the call, no session
    bool dropped_seen = false;
    for (const auto& p : up.at("parties").as_array())
      if (str(p.at("user")) == bob.id) dropped_seen = p.at("session").is_null();
    CHECK(dropped_seen);
    auto end = event_data(*a, "call_ended", 8s);
    CHECK(str(end.at("reason")) == "dropped");
    CHECK(str(last_message(*a, conv).at("body").at("result")) == "dropped");
  }
  SECTION("a party that comes back within the grace rejoins on its new session") {
    auto id = str(ok_data(invite(*a, conv, "c1")).at("call").at("call"));
    ok_data(b->call("call_accept", {{"call", id}}));
    b->drop();
    event_data(*a, "call_update", 5s);
    auto b_again = std::make_unique<ws_client>(fx.port());
    auto session = hello_session(*b_again, bob, "dev-1");
    auto calls = ok_data(b_again->call("calls")).at("calls").as_array();
    REQUIRE(calls.size() == 1);
    CHECK(str(calls[0].at("state")) == "active");
    auto joined = ok_data(b_again->call("call_join", {{"call", id}}));
    bool on_new = false;
    for (const auto& p : joined.at("call").at("parties").as_array())
      if (str(p.at("user")) == bob.id) on_new = str(p.at("session")) == session;
    CHECK(on_new);
    CHECK(joined.at("turn").is_object());
    // Past the grace, the call still runs.
    CHECK_FALSE(a->wait_event("call_ended", 3s));
    ok_data(a->call("call_hangup", {{"call", id}}));
    CHECK(str(event_data(*b_again, "call_ended").at("reason")) == "hangup");
  }
}

TEST_CASE("calls: glare, both sides inviting at once, ends in one call whatever the timing") {
  two_members t(100);
  auto& [fx, bob, a, b, conv] = t;
  for (int round = 0; round < 8; ++round) {
    INFO("round " << round);
    json::object ra, rb;
    std::thread ta([&] { ra = invite(*a, conv, "a" + std::to_string(round)); });
    std::thread tb([&] { rb = invite(*b, conv, "b" + std::to_string(round)); });
    ta.join();
    tb.join();
    auto da = ok_data(ra), db = ok_data(rb);
    auto id = str(da.at("call").at("call"));
    CHECK(str(db.at("call").at("call")) == id);
    // Exactly one of the two answered the other's call.
    CHECK(int(da.contains("glare")) + int(db.contains("glare")) == 1);
    auto& answered = da.contains("glare") ? da : db;
    CHECK(str(answered.at("call").at("state")) == "active");
    CHECK(answered.at("call").at("parties").as_array().size() == 2);
    ok_data(a->call("call_hangup", {{"call", id}}));
    for (auto* ws : {a.get(), b.get()}) {
      // Every event of this round, up to its end (call_incoming, call_update on either side).
      auto end = event_data(*ws, "call_ended");
      CHECK(str(end.at("call")) == id);
      CHECK(str(end.at("reason")) == "hangup");
    }
  }
  auto records = admin_get(fx.port(), fx.owner, "/v1/admin/calls?limit=100");
  CHECK(records.at("items").as_array().size() == 8);
}

TEST_CASE("calls: a group call rings the others, three join, parties leave, the mesh has a limit") {
  auto e = short_timers();
  e["SWITCHBOARD_CALLS_MAX_PARTIES"] = "3";
  four_members t(e, 10);
  auto& [fx, bob, carol, dave, a, b, c, d] = t;
  auto group = ok_data(
      a->call("create_group", {{"name", "Standup"}, {"members", json::array{bob.id, carol.id, dave.id}}}));
  auto conv = str(group.at("conv").at("conv"));

  auto id = str(ok_data(invite(*a, conv, "g1")).at("call").at("call"));
  for (auto* ws : {b.get(), c.get(), d.get()}) CHECK(str(event_data(*ws, "call_incoming").at("call")) == id);
  // Another invite is a conflict; members join with call_join.
  CHECK(error_code_of(invite(*b, conv, "g2")) == "conflict");
  CHECK(str(ok_data(b->call("call_accept", {{"call", id}})).at("call").at("state")) == "active");
  auto joined = ok_data(c->call("call_join", {{"call", id}}));
  CHECK(joined.at("call").at("parties").as_array().size() == 3);
  // A fourth is over calls.max_parties.
  CHECK(error_code_of(d->call("call_join", {{"call", id}})) == "too_large");
  // Dave's reject only stops his ringing.
  ok_data(d->call("call_reject", {{"call", id}}));
  CHECK(str(event_data(*d, "call_ended").at("reason")) == "declined");
  CHECK_FALSE(a->wait_event("call_ended", 300ms));
  // Signals between any two parties.
  std::string sc;
  for (const auto& p : joined.at("call").at("parties").as_array())
    if (str(p.at("user")) == carol.id) sc = str(p.at("session"));
  REQUIRE_FALSE(sc.empty());
  ok_data(b->call("call_signal", {{"call", id}, {"to", sc}, {"kind", "offer"}, {"payload", json::object{}}}));
  CHECK(str(event_data(*c, "call_signal").at("from_user")) == bob.id);
  // Carol leaves; two remain and the call goes on.
  ok_data(c->call("call_hangup", {{"call", id}}));
  auto up = event_data(*a, "call_update");
  while (up.at("parties").as_array().size() != 2) up = event_data(*a, "call_update");
  CHECK(str(up.at("state")) == "active");
  CHECK_FALSE(a->wait_event("call_ended", 300ms));
  // Carol may come back; then Bob and Carol leave and one remains: the call ends.
  ok_data(c->call("call_join", {{"call", id}}));
  ok_data(b->call("call_hangup", {{"call", id}}));
  CHECK_FALSE(a->wait_event("call_ended", 300ms));
  ok_data(c->call("call_hangup", {{"call", id}}));
  for (auto* ws : {a.get(), b.get(), c.get(), d.get()}) {
    auto end = event_data(*ws, "call_ended");
    while (str(end.at("reason")) != "hangup") end = event_data(*ws, "call_ended");
    CHECK(str(end.at("call")) == id);
  }
  CHECK(str(last_message(*a, conv).at("body").at("result")) == "completed");

  SECTION("nobody joins a group call: missed") {
    auto id2 = str(ok_data(invite(*a, conv, "g3")).at("call").at("call"));
    auto end = event_data(*a, "call_ended", 8s);
    while (str(end.at("call")) != id2) end = event_data(*a, "call_ended", 8s);
    CHECK(str(end.at("reason")) == "missed");
  }
}

TEST_CASE("calls: call minutes, a 61 s call bills 2, concurrent calls drain a balance to exactly 0") {
  four_members t(short_timers(), 0);
  auto& [fx, bob, carol, dave, a, b, c, d] = t;
  auto ab = direct_conv(*a, bob);
  auto cd = direct_conv(*c, dave);

  // No minutes: a new call is quota_exceeded.
  CHECK(error_code_of(invite(*a, ab, "q0")) == "quota_exceeded");

  // A 61 s call bills 2 minutes. The server stamps time: the test moves the call's answer back in
  // the database rather than waiting a minute (the sweep then reserves the second minute).
  auto first = credit(fx.db.url(), fx.owner.org, 5, "order-1");
  CHECK(first.at("balance_minutes").as_int64() == 5);
  auto id = str(ok_data(invite(*a, ab, "q1")).at("call").at("call"));
  ok_data(b->call("call_accept", {{"call", id}}));
  fx.db.exec("UPDATE calls SET answered_at = answered_at - 61000 WHERE id = " + id);
  std::this_thread::sleep_for(500ms);
  CHECK(fx.db.scalar("SELECT reserved_minutes FROM calls WHERE id = " + id) == "2");
  ok_data(a->call("call_hangup", {{"call", id}}));
  auto end = event_data(*b, "call_ended");
  CHECK(str(event_data(*a, "call_ended").at("call")) == id);
  CHECK(end.at("duration_ms").as_int64() >= 61000);
  CHECK(end.at("duration_ms").as_int64() < 62000);
  CHECK(fx.db.scalar("SELECT billed_minutes FROM calls WHERE id = " + id) == "2");
  CHECK(admin_get(fx.port(), fx.owner, "/v1/admin/call_minutes").at("balance_minutes").as_int64() == 3);

  // Two calls at once on 3 minutes: each takes its first (1 left); a minute later one gets the
  // last and the other ends quota_exhausted; a minute after that the survivor ends too.
  auto x = str(ok_data(invite(*a, ab, "q2")).at("call").at("call"));
  auto y = str(ok_data(invite(*c, cd, "q3")).at("call").at("call"));
  ok_data(b->call("call_accept", {{"call", x}}));
  ok_data(d->call("call_accept", {{"call", y}}));
  CHECK(fx.db.scalar("SELECT balance_minutes FROM call_minutes WHERE org_id = " + fx.owner.org) == "1");
  fx.db.exec("UPDATE calls SET answered_at = answered_at - 60500 WHERE id IN (" + x + "," + y + ")");
  std::string first_out;
  {
    auto ea = a->wait_event("call_ended", 5s);
    auto ec = c->wait_event("call_ended", 300ms);
    REQUIRE((ea || ec));
    REQUIRE_FALSE((ea && ec));
    auto e1 = (ea ? *ea : *ec).at("data").as_object();
    CHECK(str(e1.at("reason")) == "quota_exhausted");
    CHECK(e1.at("duration_ms").as_int64() == 60000);  // it ends where its paid minute ended
    first_out = str(e1.at("call"));
  }
  CHECK(fx.db.scalar("SELECT balance_minutes FROM call_minutes WHERE org_id = " + fx.owner.org) == "0");
  auto survivor = first_out == x ? y : x;
  auto& survivor_ws = survivor == x ? *a : *c;
  fx.db.exec("UPDATE calls SET answered_at = answered_at - 60000 WHERE id = " + survivor);
  auto e2 = event_data(survivor_ws, "call_ended", 5s);
  CHECK(str(e2.at("call")) == survivor);
  CHECK(str(e2.at("reason")) == "quota_exhausted");
  CHECK(e2.at("duration_ms").as_int64() == 120000);
  CHECK(str(last_message(survivor_ws, survivor == x ? ab : cd).at("body").at("result")) == "completed");

  auto m = admin_get(fx.port(), fx.owner, "/v1/admin/call_minutes");
  CHECK(m.at("balance_minutes").as_int64() == 0);
  CHECK(m.at("used_minutes").as_int64() == 5);
  CHECK(m.at("credited_minutes").as_int64() == 5);
  CHECK(fx.db.scalar("SELECT min(balance_minutes) FROM call_minutes") == "0");
  CHECK(fx.db.scalar("SELECT sum(billed_minutes) FROM calls") == "5");
  CHECK(error_code_of(invite(*a, ab, "q4")) == "quota_exceeded");

  // A new package lets calls start again; the ledger lists both packages.
  CHECK(credit(fx.db.url(), fx.owner.org, 2, "order-2").at("balance_minutes").as_int64() == 2);
  CHECK(admin_get(fx.port(), fx.owner, "/v1/admin/call_minutes").at("packages").as_array().size() == 2);
  ok_data(invite(*a, ab, "q5"));
}

TEST_CASE("calls: answering at a zero balance ends the call, and signals are rate-limited per session") {
  auto e = short_timers();
  e["SWITCHBOARD_CALLS_SIGNALS_PER_SECOND"] = "1";  // bursts of 2
  four_members t(e, 1);
  auto& [fx, bob, carol, dave, a, b, c, d] = t;
  auto ab = direct_conv(*a, bob);
  auto cd = direct_conv(*c, dave);
  // Both ring while one minute is left; the first answer takes it.
  auto x = str(ok_data(invite(*a, ab, "z1")).at("call").at("call"));
  auto y = str(ok_data(invite(*c, cd, "z2")).at("call").at("call"));
  auto accepted = ok_data(b->call("call_accept", {{"call", x}}));
  CHECK(fx.db.scalar("SELECT balance_minutes FROM call_minutes WHERE org_id = " + fx.owner.org) == "0");
  // The second answer finds none: refused, and the call ends for both sides.
  CHECK(error_code_of(d->call("call_accept", {{"call", y}})) == "quota_exceeded");
  auto end = event_data(*c, "call_ended");
  CHECK(str(end.at("call")) == y);
  CHECK(str(end.at("reason")) == "quota_exhausted");
  CHECK(fx.db.scalar("SELECT balance_minutes FROM call_minutes WHERE org_id = " + fx.owner.org) == "0");
  CHECK(fx.db.scalar("SELECT billed_minutes FROM calls WHERE id = " + y) == "0");

  // Signals: a burst of 2, then rate_limited with a retry time; the call is unaffected.
  std::string sb;
  for (const auto& p : accepted.at("call").at("parties").as_array())
    if (str(p.at("user")) == bob.id) sb = str(p.at("session"));
  json::object sig{{"call", x}, {"to", sb}, {"kind", "ice"}, {"payload", json::object{}}};
  ok_data(a->call("call_signal", sig));
  ok_data(a->call("call_signal", sig));
  auto limited = a->call("call_signal", sig);
  CHECK(error_code_of(limited) == "rate_limited");
  CHECK(limited.at("error").at("retry_after_ms").as_int64() > 0);
  std::this_thread::sleep_for(1100ms);
  ok_data(a->call("call_signal", sig));
  int got = 0;
  while (b->wait_event("call_signal", 500ms)) ++got;
  CHECK(got == 3);
}

TEST_CASE("calls: TURN credentials follow coturn's REST convention (HMAC-SHA1 of the username)") {
  org_fixture fx(short_timers());
  auto a = connect(fx.port(), fx.owner);
  auto before =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto turn = ok_data(a->call("turn")).at("turn").as_object();
  auto username = str(turn.at("username"));
  auto colon = username.find(':');
  REQUIRE(colon != std::string::npos);
  CHECK(username.substr(colon + 1) == fx.owner.id);
  auto expiry = std::stoll(username.substr(0, colon));
  CHECK(expiry >= before + 600);
  CHECK(expiry <= before + 602);
  CHECK(turn.at("ttl_s").as_int64() == 600);
  CHECK(turn.at("uris").as_array().size() == 2);
  CHECK(str(turn.at("uris").as_array()[0]) == "turn:turn.example.com:3478?transport=udp");

  const std::string secret = "s3cret-shared-with-coturn";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac, &len);
  REQUIRE(len == 20);
  std::string b64(28, '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), mac, static_cast<int>(len));
  CHECK(str(turn.at("password")) == b64);

  // Without a TURN server configured: no URIs.
  org_fixture plain;
  auto p = connect(plain.port(), plain.owner);
  CHECK(ok_data(p->call("turn")).at("turn").at("uris").as_array().empty());
}

TEST_CASE("calls: other organizations' and non-members' conversations and calls are not_found") {
  org_fixture fx(short_timers());
  auto bob = fx.add_user(fx.owner, "Bob");
  auto carol = fx.add_user(fx.owner, "Carol");
  auto other = fx.new_org("Other");
  credit(fx.db.url(), fx.owner.org, 10, "o1");
  credit(fx.db.url(), other.org, 10, "o2");
  auto a = connect(fx.port(), fx.owner);
  auto b = connect(fx.port(), bob);
  auto c = connect(fx.port(), carol);
  auto x = connect(fx.port(), other);
  auto ab = direct_conv(*a, bob);
  auto id = str(ok_data(invite(*a, ab, "n1")).at("call").at("call"));

  CHECK(error_code_of(invite(*c, ab, "n2")) == "not_found");  // not a member
  CHECK(error_code_of(invite(*x, ab, "n3")) == "not_found");  // another organization
  CHECK(error_code_of(invite(*a, "999999999", "n4")) == "not_found");
  for (const auto* op : {"call_accept", "call_join", "call_reject", "call_hangup"}) {
    INFO(op);
    CHECK(error_code_of(c->call(op, {{"call", id}})) == "not_found");
    CHECK(error_code_of(x->call(op, {{"call", id}})) == "not_found");
  }
  CHECK(error_code_of(x->call("call_signal",
                              {{"call", id}, {"to", "s"}, {"kind", "ice"}, {"payload", json::object{}}})) ==
        "not_found");
  CHECK(ok_data(x->call("calls")).at("calls").as_array().empty());
  // Malformed requests name the field.
  CHECK(error_code_of(a->call(
            "call_invite", {{"conv", ab}, {"media", "hologram"}, {"client_call_id", "z"}})) == "bad_request");
  CHECK(error_code_of(a->call("call_invite", {{"conv", ab}, {"media", "audio"}, {"client_call_id", ""}})) ==
        "bad_request");
  CHECK(error_code_of(a->call(
            "call_invite", {{"conv", ab}, {"media", "audio"}, {"client_call_id", std::string(65, 'x')}})) ==
        "bad_request");
  CHECK(error_code_of(a->call("call_accept", {})) == "bad_request");
  // Another organization's admin sees none of these calls.
  auto r = admin_get(fx.port(), other, "/v1/admin/calls");
  CHECK(r.at("items").as_array().empty());
  CHECK(admin_get(fx.port(), other, "/v1/admin/call_minutes").at("balance_minutes").as_int64() == 10);
}

TEST_CASE("calls: a restricted member's call ops are forbidden, a suspended member's call ends") {
  org_fixture fx(short_timers());
  auto bob = fx.add_user(fx.owner, "Bob");
  auto carol = fx.add_user(fx.owner, "Carol");
  credit(fx.db.url(), fx.owner.org, 10, "o1");
  auto a = connect(fx.port(), fx.owner);
  auto b = connect(fx.port(), bob);
  auto c = connect(fx.port(), carol);
  auto ab = direct_conv(*a, bob);
  auto ac = direct_conv(*a, carol);
  auto post = [&](const std::string& path, const json::object& body) {
    auto r = http_call(fx.port(), "POST", path, json::serialize(body),
                       {{"Authorization", "Bearer " + fx.owner.token}});
    INFO(r.body);
    REQUIRE(r.status == 200);
  };

  // Restricting `call` refuses the ops (the session takes the change at once).
  post("/v1/admin/users/" + carol.id + "/restrict", {{"features", json::array{"call"}}});
  std::this_thread::sleep_for(300ms);
  auto cb = direct_conv(*c, bob);
  CHECK(error_code_of(invite(*c, cb, "r1")) == "forbidden");
  CHECK(error_code_of(c->call("turn")) == "forbidden");
  CHECK(error_code_of(c->call("calls")) == "forbidden");
  // A call to a restricted member ends: the sweep takes her out of it.
  auto rid = str(ok_data(invite(*a, ac, "r2")).at("call").at("call"));
  auto rend = event_data(*a, "call_ended", 5s);
  CHECK(str(rend.at("call")) == rid);
  post("/v1/admin/users/" + carol.id + "/restrict", {{"features", json::array{}}});

  // Suspending Bob mid-call ends it.
  auto id = str(ok_data(invite(*a, ab, "s1")).at("call").at("call"));
  ok_data(b->call("call_accept", {{"call", id}}));
  post("/v1/admin/users/" + bob.id + "/suspend", {{"reason", "test"}});
  auto end = event_data(*a, "call_ended", 5s);
  while (str(end.at("call")) != id) end = event_data(*a, "call_ended", 5s);
  CHECK(str(end.at("reason")) == "hangup");
  CHECK(fx.db.scalar("SELECT state FROM calls WHERE id = " + id) == "ended");
}

TEST_CASE("calls: the operator command credits minutes and checks its arguments") {
  org_fixture fx;
  auto out = credit(fx.db.url(), fx.owner.org, 120, "invoice 2026-0042");
  CHECK(out.at("balance_minutes").as_int64() == 120);
  CHECK_FALSE(str(out.at("package")).empty());
  CHECK(credit(fx.db.url(), fx.owner.org, 30, "invoice 2026-0043").at("balance_minutes").as_int64() == 150);
  env e{{"SWITCHBOARD_DATABASE_URL", fx.db.url()}};
  CHECK(run_binary({"org", "credit-minutes", "--org", fx.owner.org, "--minutes", "0", "--ref", "x"}, e)
            .exit_code == 2);
  CHECK(run_binary({"org", "credit-minutes", "--org", fx.owner.org, "--minutes", "-5", "--ref", "x"}, e)
            .exit_code == 2);
  CHECK(run_binary({"org", "credit-minutes", "--org", fx.owner.org, "--minutes", "5"}, e).exit_code == 2);
  auto missing =
      run_binary({"org", "credit-minutes", "--org", "987654321", "--minutes", "5", "--ref", "x"}, e);
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("not found") != std::string::npos);
  CHECK(fx.db.scalar("SELECT balance_minutes FROM call_minutes WHERE org_id = " + fx.owner.org) == "150");
}

TEST_CASE(
    "calls: across nodes a call rings, signals and ends, and a killed node's ringing call is ended by "
    "another") {
  cluster_fixture fx(2, short_timers());
  auto& owner = fx.org.owner;
  auto bob = fx.org.add_user(owner, "Bob");
  credit(fx.org.db.url(), owner.org, 10, "o1");
  {
    auto a = connect(fx.port(0), owner);
    ws_client b(fx.port(1));
    auto sb = hello_session(b, bob, "dev-1");
    auto conv = direct_conv(*a, bob);
    auto id = str(ok_data(invite(*a, conv, "x1")).at("call").at("call"));
    CHECK(str(event_data(b, "call_incoming").at("call")) == id);
    ok_data(b.call("call_accept", {{"call", id}}));
    CHECK(str(event_data(*a, "call_update").at("state")) == "active");
    ok_data(
        a->call("call_signal",
                {{"call", id}, {"to", sb}, {"kind", "offer"}, {"payload", json::object{{"sdp", "v=0"}}}}));
    CHECK(str(event_data(b, "call_signal").at("payload").at("sdp")) == "v=0");
    ok_data(a->call("call_hangup", {{"call", id}}));
    CHECK(str(event_data(b, "call_ended").at("reason")) == "hangup");
    CHECK(str(event_data(b, "message").at("body").at("event")) == "call");
  }
  {
    // A party whose connection to node 1 drops comes back through node 0 within the grace.
    auto a = connect(fx.port(0), owner);
    auto b = connect(fx.port(1), bob);
    auto conv = direct_conv(*a, bob);
    auto id = str(ok_data(invite(*a, conv, "x3")).at("call").at("call"));
    ok_data(b->call("call_accept", {{"call", id}}));
    b->drop();
    ws_client b2(fx.port(0));
    auto sb2 = hello_session(b2, bob, "dev-1");
    auto joined = ok_data(b2.call("call_join", {{"call", id}}));
    CHECK(str(joined.at("call").at("state")) == "active");
    ok_data(
        a->call("call_signal", {{"call", id}, {"to", sb2}, {"kind", "ice"}, {"payload", json::object{}}}));
    CHECK(str(event_data(b2, "call_signal").at("from_user")) == owner.id);
    CHECK_FALSE(a->wait_event("call_ended", 2500ms));  // past the 2 s grace: still on
    ok_data(b2.call("call_hangup", {{"call", id}}));
    auto end = event_data(*a, "call_ended");
    while (str(end.at("call")) != id) end = event_data(*a, "call_ended");
    CHECK(str(end.at("reason")) == "hangup");
  }
  // The caller's node dies while the call rings: node 1 ends it when the ringing is over.
  auto b = connect(fx.port(1), bob);
  auto id = [&] {
    auto a = connect(fx.port(0), owner);
    auto conv = direct_conv(*a, bob);
    auto r = str(ok_data(invite(*a, conv, "x2")).at("call").at("call"));
    CHECK(str(event_data(*b, "call_incoming").at("call")) == r);
    fx.kill_node(0);
    return r;
  }();
  auto end = event_data(*b, "call_ended", 15s);
  CHECK(str(end.at("call")) == id);
  CHECK((str(end.at("reason")) == "missed" || str(end.at("reason")) == "dropped"));
  CHECK(fx.org.db.scalar("SELECT state FROM calls WHERE id = " + id) == "ended");
  CHECK(fx.org.db.scalar("SELECT count(*) FROM messages WHERE type = 'system' AND body::jsonb->>'call' = '" +
                         id + "'") == "1");
}

TEST_CASE("calls: coturn with deploy/coturn's configuration accepts the credentials the server issues") {
  const std::string secret = "a-secret-both-sides-share";
  auto dir = make_temp_dir();
  int turn_port = free_port();
  // The shipped file, with what a test on loopback must change (port, addresses, no TLS files).
  child_process turn("/usr/bin/turnserver",
                     {"-c",
                      SWITCHBOARD_SOURCE_DIR "/deploy/coturn/turnserver.conf",
                      "--listening-port",
                      std::to_string(turn_port),
                      "--listening-ip",
                      "127.0.0.1",
                      "--relay-ip",
                      "127.0.0.1",
                      "--static-auth-secret",
                      secret,
                      "--no-tls",
                      "--no-dtls",
                      "--log-file",
                      "stdout",
                      "--pidfile",
                      dir + "/turnserver.pid",
                      "--userdb",
                      dir + "/turndb",
                      "--cert",
                      "/dev/null",
                      "--pkey",
                      "/dev/null"},
                     {});
  // Ready once its TCP listener accepts (its log to a pipe is buffered).
  auto listening = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(turn_port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return ok;
  };
  for (int i = 0; i < 100 && !listening(); ++i) std::this_thread::sleep_for(100ms);
  REQUIRE(listening());
  org_fixture fx({{"SWITCHBOARD_CALLS_TURN_URIS", "turn:127.0.0.1:" + std::to_string(turn_port)},
                  {"SWITCHBOARD_CALLS_TURN_SECRET", secret}});
  auto a = connect(fx.port(), fx.owner);
  auto t = ok_data(a->call("turn")).at("turn").as_object();
  auto allocate = [&](const std::string& user, const std::string& password) {
    // One allocation (-n 1 -m 1) over UDP; -y makes the client its own peer, on this host, which
    // the configuration refuses to relay to: a granted allocation shows as a 403 on the channel
    // bind that follows, refused credentials as an allocation that never completes.
    auto r = run_program("/usr/bin/turnutils_uclient",
                         {"-p", std::to_string(turn_port), "-u", user, "-w", password, "-n", "1", "-m", "1",
                          "-y", "127.0.0.1"},
                         {}, 20s);
    return r.out + r.err;
  };
  auto granted = allocate(str(t.at("username")), str(t.at("password")));
  INFO(granted);
  CHECK(granted.find("Cannot complete Allocation") == std::string::npos);
  CHECK(granted.find("403 (Forbidden IP)") != std::string::npos);
  auto forged = allocate(str(t.at("username")), "AAAA" + str(t.at("password")));
  INFO(forged);
  CHECK(forged.find("Cannot complete Allocation") != std::string::npos);
  // Another user's name with this password: the HMAC does not match.
  auto name = str(t.at("username"));
  auto other = allocate(name.substr(0, name.find(':')) + ":987654", str(t.at("password")));
  INFO(other);
  CHECK(other.find("Cannot complete Allocation") != std::string::npos);
}
