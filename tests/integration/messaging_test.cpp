// The WebSocket protocol end to end: hello, conversations, durable ordered idempotent send, sync.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <csignal>
#include <set>
#include <thread>

#include "fixture.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"
#include "ws_replies.hpp"

using namespace sbtest;
namespace json = boost::json;

TEST_CASE("hello authenticates and returns the user, session and heartbeat") {
  org_fixture fx;
  ws_client ws(fx.port());
  auto data = ok_data(ws.hello(fx.owner.token));
  CHECK(str(data.at("user").at("user")) == fx.owner.id);
  CHECK_FALSE(str(data.at("session_id")).empty());
  CHECK(data.at("heartbeat_s").as_int64() == 30);
  CHECK(data.at("server_time").as_int64() > 0);
  CHECK(ok_data(ws.call("ping")).empty());
}

TEST_CASE("the first request must be hello with a valid token") {
  org_fixture fx;
  {
    ws_client ws(fx.port());
    CHECK(error_code_of(ws.call("convs")) == "unauthorized");
    CHECK(ws.wait_closed() == 4401);
  }
  {
    ws_client ws(fx.port());
    CHECK(error_code_of(ws.hello("not-a-token")) == "unauthorized");
    CHECK(ws.wait_closed() == 4401);
  }
  {
    ws_client ws(fx.port());
    CHECK(error_code_of(ws.call("hello", {{"device", json::object{}}})) == "unauthorized");
    CHECK(ws.wait_closed() == 4401);
  }
}

TEST_CASE("hello must arrive within hello_timeout") {
  org_fixture fx(env{{"SWITCHBOARD_SERVER_HELLO_TIMEOUT_MS", "300"}});
  ws_client ws(fx.port());
  CHECK(ws.wait_closed(5s) == 4408);
}

TEST_CASE("malformed frames get bad_request replies and the connection stays open") {
  org_fixture fx;
  ws_client ws(fx.port());
  ok_data(ws.hello(fx.owner.token));
  struct bad {
    std::string frame;
    std::string expect_message_part;
  };
  std::vector<bad> cases{
      {"not json", "malformed"},
      {"[1,2]", "JSON object"},
      {R"({"id":"x1"})", "op is required"},
      {R"({"id":"x2","op":"frobnicate","data":{}})", "unknown op"},
      {R"({"id":"x3","op":"send","data":"nope"})", "data must be an object"},
      {R"({"id":"x4","op":"send","data":{"conv":1}})", "data.conv"},
      {R"({"id":"x5","op":"sync","data":{"conv":"1","after_seq":"a"}})", "data.after_seq"},
      {R"({"id":"x6","op":"ping","data":{"s":"a\u0000b"}})", "U+0000"},
      {R"({"id":"x7","op":"ping","data":{"s":"\ud800"}})", "surrogate"},
      {std::string(R"({"id":"x8","op":"ping","data":)") + std::string(40, '[') + std::string(40, ']') + "}",
       "32"},
  };
  for (const auto& c : cases) {
    INFO(c.frame);
    ws.send_text(c.frame);
    auto f = ws.next_frame(5s);
    REQUIRE(f);
    auto v = json::parse(*f).as_object();
    CHECK_FALSE(v.at("ok").as_bool());
    CHECK(str(v.at("error").at("code")) == "bad_request");
    CHECK_THAT(str(v.at("error").at("message")), Catch::Contains(c.expect_message_part));
  }
  // Unreadable ids come back as null; readable ones are echoed.
  ws.send_text("not json");
  CHECK(json::parse(*ws.next_frame(5s)).at("id").is_null());
  ws.send_text(R"({"id":"keep-me","op":"nope"})");
  CHECK(str(json::parse(*ws.next_frame(5s)).at("id")) == "keep-me");
  CHECK(ok_data(ws.call("ping")).empty());
}

TEST_CASE("frames over max_frame_bytes close with 1009, binary frames with 1003") {
  org_fixture fx(env{{"SWITCHBOARD_LIMITS_MAX_FRAME_BYTES", "4096"}});
  {
    ws_client ws(fx.port());
    ok_data(ws.hello(fx.owner.token));
    ws.send_text(R"({"id":"1","op":"ping","data":{"pad":")" + std::string(8000, 'x') + "\"}}");
    CHECK(ws.wait_closed() == 1009);
  }
  {
    ws_client ws(fx.port());
    ok_data(ws.hello(fx.owner.token));
    ws.send_binary("\x01\x02");
    CHECK(ws.wait_closed() == 1003);
  }
  CHECK(http_get(fx.port(), "/healthz").status == 200);
}

TEST_CASE("requests over the rate limit get rate_limited with retry_after_ms") {
  org_fixture fx(
      env{{"SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND", "5"}, {"SWITCHBOARD_LIMITS_REQUEST_BURST", "5"}});
  ws_client ws(fx.port());
  ok_data(ws.hello(fx.owner.token));
  int limited = 0;
  for (int i = 0; i < 12; ++i) {
    auto r = ws.call("ping");
    if (!r.at("ok").as_bool()) {
      CHECK(str(r.at("error").at("code")) == "rate_limited");
      CHECK(r.at("error").at("retry_after_ms").as_int64() > 0);
      ++limited;
    }
  }
  CHECK(limited >= 5);
  CHECK(limit_hits(fx.port(), "request_rate") == limited);
}

TEST_CASE("direct conversations: one per pair, idempotent and race-free") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a(fx.port()), b(fx.port());
  ok_data(a.hello(fx.owner.token));
  ok_data(b.hello(bob.token));
  auto c1 = ok_data(a.call("open_direct", {{"user", bob.id}})).at("conv").as_object();
  CHECK(str(c1.at("kind")) == "direct");
  CHECK(str(c1.at("name")) == "");
  CHECK(c1.at("owner").is_null());
  CHECK(c1.at("member_count").as_int64() == 2);
  CHECK(c1.at("last_seq").as_int64() == 0);
  auto c2 = ok_data(b.call("open_direct", {{"user", fx.owner.id}})).at("conv").as_object();
  CHECK(str(c1.at("conv")) == str(c2.at("conv")));
  auto created = b.wait_event("conv_update");
  REQUIRE(created);
  CHECK(str(created->at("data").at("reason")) == "created");

  // Two concurrent open_direct calls for a new pair agree.
  auto carol = fx.add_user(fx.owner, "Carol");
  ws_client c(fx.port());
  ok_data(c.hello(carol.token));
  std::string x, y;
  std::thread t([&] {
    x = str(a.call("open_direct", {{"user", carol.id}}).at("data").at("conv").at("conv"));
  });
  y = str(c.call("open_direct", {{"user", fx.owner.id}}).at("data").at("conv").at("conv"));
  t.join();
  CHECK(x == y);
  CHECK(fx.db.scalar("SELECT count(*) FROM conversations WHERE kind = 'direct'") == "2");
  CHECK(error_code_of(a.call("open_direct", {{"user", "999999999"}})) == "not_found");
}

TEST_CASE("send is acked after commit, fans out to every other session, and resends are idempotent") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a1(fx.port()), a2(fx.port()), b(fx.port());
  ok_data(a1.hello(fx.owner.token, "phone"));
  ok_data(a2.hello(fx.owner.token, "laptop"));
  ok_data(b.hello(bob.token));
  auto conv = str(ok_data(a1.call("open_direct", {{"user", bob.id}})).at("conv").at("conv"));

  auto ack = ok_data(a1.call("send", text_send(conv, "m-1", "hello bob")));
  CHECK(ack.at("seq").as_int64() == 1);
  CHECK_FALSE(ack.contains("duplicate"));
  std::string msg_id = str(ack.at("msg_id"));
  // On disk at ack time.
  CHECK(fx.db.scalar("SELECT body FROM messages WHERE id = " + msg_id) == R"({"text":"hello bob"})");

  for (auto* w : {&a2, &b}) {
    auto ev = w->wait_event("message");
    REQUIRE(ev);
    auto m = ev->at("data").as_object();
    CHECK(str(m.at("conv")) == conv);
    CHECK(m.at("seq").as_int64() == 1);
    CHECK(str(m.at("msg_id")) == msg_id);
    CHECK(str(m.at("from")) == fx.owner.id);
    CHECK(str(m.at("client_msg_id")) == "m-1");
    CHECK(str(m.at("type")) == "text");
    CHECK(str(m.at("body").at("text")) == "hello bob");
  }
  CHECK_FALSE(a1.wait_event("message", 300ms));  // not the sending session

  // A resend, from another session of the sender, returns the original ack and no new event.
  auto again = ok_data(a2.call("send", text_send(conv, "m-1", "different body is ignored")));
  CHECK(again.at("duplicate").as_bool());
  CHECK(again.at("seq").as_int64() == 1);
  CHECK(str(again.at("msg_id")) == msg_id);
  CHECK(again.at("ts").as_int64() == ack.at("ts").as_int64());
  CHECK_FALSE(b.wait_event("message", 300ms));
  CHECK(fx.db.scalar("SELECT count(*) FROM messages") == "1");

  // The sender's read cursor moved; the receiver's did not.
  auto convs_a = ok_data(a1.call("convs")).at("convs").as_array();
  REQUIRE(convs_a.size() == 1);
  CHECK(convs_a[0].at("read_seq").as_int64() == 1);
  CHECK(convs_a[0].at("unread").as_int64() == 0);
  auto convs_b = ok_data(b.call("convs")).at("convs").as_array();
  CHECK(convs_b[0].at("unread").as_int64() == 1);
}

TEST_CASE("send validates type and body") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a(fx.port());
  ok_data(a.hello(fx.owner.token));
  auto conv = str(ok_data(a.call("open_direct", {{"user", bob.id}})).at("conv").at("conv"));
  CHECK(error_code_of(a.call("send", text_send(conv, "e1", ""))) == "bad_request");
  CHECK(error_code_of(a.call("send", text_send(conv, "e2", std::string(8193, 'x')))) == "too_large");
  CHECK(ok_data(a.call("send", text_send(conv, "e3", std::string(8192, 'x')))).at("seq").as_int64() == 1);
  CHECK(error_code_of(a.call("send", text_send(conv, std::string(65, 'c'), "x"))) == "bad_request");
  CHECK(error_code_of(a.call("send", text_send(conv, "", "x"))) == "bad_request");
  auto sys = text_send(conv, "e4", "x");
  sys["type"] = "system";
  CHECK(error_code_of(a.call("send", sys)) == "bad_request");
  auto weird = text_send(conv, "e5", "x");
  weird["type"] = "hologram";
  CHECK(error_code_of(a.call("send", weird)) == "bad_request");
  json::object image{{"conv", conv},
                     {"client_msg_id", "e6"},
                     {"type", "image"},
                     {"body", json::object{{"media_id", "123"}, {"width", 10}, {"height", 10}}}};
  CHECK(error_code_of(a.call("send", image)) == "not_found");
  CHECK(error_code_of(a.call("send", text_send("999999999", "e7", "x"))) == "not_found");
  CHECK(fx.db.scalar("SELECT count(*) FROM messages") == "1");
}

TEST_CASE("a non-member sending is forbidden, another org's ids are not_found for every op") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  auto eve = fx.add_user(fx.owner, "Eve");
  auto mallory = fx.new_org("Other");
  ws_client a(fx.port()), e(fx.port()), m(fx.port());
  ok_data(a.hello(fx.owner.token));
  ok_data(e.hello(eve.token));
  ok_data(m.hello(mallory.token));
  auto conv = str(ok_data(a.call("open_direct", {{"user", bob.id}})).at("conv").at("conv"));
  ok_data(a.call("send", text_send(conv, "s1", "secret")));

  CHECK(error_code_of(e.call("send", text_send(conv, "x", "hi"))) == "forbidden");
  CHECK(error_code_of(e.call("sync", {{"conv", conv}, {"after_seq", 0}})) == "forbidden");

  std::vector<std::pair<std::string, json::object>> ops{
      {"send", text_send(conv, "y", "hi")},
      {"sync", {{"conv", conv}, {"after_seq", 0}}},
      {"history", {{"conv", conv}}},
      {"conv_info", {{"conv", conv}}},
      {"read", {{"conv", conv}, {"seq", 1}}},
      {"typing", {{"conv", conv}}},
      {"recall", {{"conv", conv}, {"seq", 1}}},
      {"add_members", {{"conv", conv}, {"users", json::array{}}}},
      {"remove_members", {{"conv", conv}, {"users", json::array{}}}},
      {"leave", {{"conv", conv}}},
      {"rename", {{"conv", conv}, {"name", "x"}}},
      {"open_direct", {{"user", bob.id}}},
      {"presence", {{"users", json::array{json::value(bob.id)}}}},
      {"presence_sub", {{"users", json::array{json::value(bob.id)}}}},
      {"create_group", {{"name", "g"}, {"members", json::array{json::value(bob.id)}}}},
  };
  for (auto& [op, data] : ops) {
    INFO(op);
    CHECK(error_code_of(m.call(op, data)) == "not_found");
  }
  CHECK(fx.db.scalar("SELECT count(*) FROM messages") == "1");
}

TEST_CASE("groups: create, info, add, remove, rename, leave write system messages and conv_update") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  auto carol = fx.add_user(fx.owner, "Carol");
  auto dave = fx.add_user(fx.owner, "Dave");
  ws_client a(fx.port()), b(fx.port()), c(fx.port()), d(fx.port());
  ok_data(a.hello(fx.owner.token));
  ok_data(b.hello(bob.token));
  ok_data(c.hello(carol.token));
  ok_data(d.hello(dave.token));

  auto g = ok_data(a.call("create_group", {{"name", "Team"}, {"members", json::array{json::value(bob.id)}}}))
               .at("conv")
               .as_object();
  auto conv = str(g.at("conv"));
  CHECK(str(g.at("kind")) == "group");
  CHECK(str(g.at("owner")) == fx.owner.id);
  CHECK(g.at("member_count").as_int64() == 2);
  CHECK(g.at("last_seq").as_int64() == 0);  // creating writes no message
  REQUIRE(b.wait_event("conv_update"));

  auto added =
      ok_data(b.call("add_members", {{"conv", conv}, {"users", json::array{json::value(carol.id)}}}));
  CHECK(added.at("conv").at("member_count").as_int64() == 3);
  auto sys = c.wait_event("message");
  REQUIRE(sys);
  CHECK(str(sys->at("data").at("type")) == "system");
  CHECK(sys->at("data").at("seq").as_int64() == 1);
  CHECK(str(sys->at("data").at("body").at("event")) == "members_added");
  CHECK(str(sys->at("data").at("body").at("actor")) == bob.id);
  auto upd = c.wait_event("conv_update");
  REQUIRE(upd);
  CHECK(str(upd->at("data").at("reason")) == "members_added");
  // Each recipient's conv_update carries its own cursor: Carol joined at seq 0 and has not read
  // the system message; Bob, who added her, neither (read moves on send, not on membership ops).
  CHECK(upd->at("data").at("conv").at("last_seq").as_int64() == 1);
  CHECK(upd->at("data").at("conv").at("read_seq").as_int64() == 0);
  CHECK(upd->at("data").at("conv").at("unread").as_int64() == 1);

  auto info = ok_data(c.call("conv_info", {{"conv", conv}})).at("conv").as_object();
  CHECK(info.at("members").as_array().size() == 3);
  bool owner_found = false;
  for (const auto& m : info.at("members").as_array())
    if (str(m.at("user")) == fx.owner.id) owner_found = str(m.at("role")) == "owner";
  CHECK(owner_found);

  // Only the owner (or an org admin) removes members.
  CHECK(error_code_of(
            b.call("remove_members", {{"conv", conv}, {"users", json::array{json::value(carol.id)}}})) ==
        "forbidden");
  ok_data(a.call("remove_members", {{"conv", conv}, {"users", json::array{json::value(carol.id)}}}));
  auto removed = c.wait_event("conv_update");
  REQUIRE(removed);
  CHECK(str(removed->at("data").at("reason")) == "members_removed");
  CHECK(error_code_of(c.call("sync", {{"conv", conv}, {"after_seq", 0}})) == "forbidden");

  ok_data(b.call("rename", {{"conv", conv}, {"name", "Renamed"}}));
  auto ren = a.wait_event("conv_update");
  while (ren && str(ren->at("data").at("reason")) != "renamed") ren = a.wait_event("conv_update");
  REQUIRE(ren);
  CHECK(str(ren->at("data").at("conv").at("name")) == "Renamed");

  ok_data(a.call("leave", {{"conv", conv}}));
  auto after = ok_data(b.call("conv_info", {{"conv", conv}})).at("conv").as_object();
  CHECK(str(after.at("owner")) == bob.id);  // ownership passed on
  CHECK(after.at("member_count").as_int64() == 1);
  auto history = ok_data(b.call("history", {{"conv", conv}})).at("messages").as_array();
  std::vector<std::string> events;
  for (const auto& m : history) events.push_back(str(m.at("body").at("event")));
  CHECK(events == std::vector<std::string>{"members_added", "members_removed", "renamed", "left"});
  for (std::size_t i = 0; i < history.size(); ++i)
    CHECK(history[i].at("seq").as_int64() == static_cast<int64_t>(i + 1));

  CHECK(error_code_of(
            a.call("create_group", {{"name", "X"}, {"members", json::array{json::value("424242424")}}})) ==
        "not_found");
  CHECK(error_code_of(a.call("create_group", {{"name", ""}, {"members", json::array{}}})) == "bad_request");
}

TEST_CASE("group size is limited by max_group_members") {
  org_fixture fx(env{{"SWITCHBOARD_LIMITS_MAX_GROUP_MEMBERS", "3"}});
  auto b = fx.add_user(fx.owner, "B");
  auto c = fx.add_user(fx.owner, "C");
  auto d = fx.add_user(fx.owner, "D");
  ws_client a(fx.port());
  ok_data(a.hello(fx.owner.token));
  CHECK(error_code_of(a.call("create_group", {{"name", "big"},
                                              {"members", json::array{json::value(b.id), json::value(c.id),
                                                                      json::value(d.id)}}})) == "too_large");
  auto g = ok_data(a.call("create_group",
                          {{"name", "ok"}, {"members", json::array{json::value(b.id), json::value(c.id)}}}));
  auto conv = str(g.at("conv").at("conv"));
  CHECK(error_code_of(a.call("add_members", {{"conv", conv}, {"users", json::array{json::value(d.id)}}})) ==
        "too_large");
}

TEST_CASE("50 concurrent senders into one group: gapless seqs, every member sees them in order") {
  org_fixture fx;
  constexpr int senders = 50;
  constexpr int per_sender = 4;
  std::vector<account> users;
  for (int i = 0; i < senders; ++i) users.push_back(fx.add_user(fx.owner, "U" + std::to_string(i)));
  json::array members;
  for (auto& u : users) members.emplace_back(u.id);
  ws_client owner(fx.port());
  ok_data(owner.hello(fx.owner.token));
  auto conv = str(
      ok_data(owner.call("create_group", {{"name", "load"}, {"members", members}})).at("conv").at("conv"));

  std::vector<std::unique_ptr<ws_client>> clients;
  for (auto& u : users) {
    clients.push_back(std::make_unique<ws_client>(fx.port()));
    ok_data(clients.back()->hello(u.token));
  }
  std::vector<std::thread> threads;
  std::atomic<int> acked{0};
  for (int i = 0; i < senders; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < per_sender; ++k) {
        auto r =
            clients[i]->call("send", text_send(conv, "c" + std::to_string(k), "from " + std::to_string(i)));
        if (r.at("ok").as_bool()) ++acked;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(acked == senders * per_sender);
  const int total = senders * per_sender;
  CHECK(fx.db.scalar("SELECT count(*) FROM messages WHERE conv_id = " + conv) == std::to_string(total));
  CHECK(fx.db.scalar("SELECT max(seq) FROM messages WHERE conv_id = " + conv) == std::to_string(total));
  CHECK(fx.db.scalar("SELECT last_seq FROM conversations WHERE id = " + conv) == std::to_string(total));

  // The owner did not send: it receives all of them, in seq order.
  std::int64_t expect = 1;
  for (int n = 0; n < total; ++n) {
    auto ev = owner.wait_event("message");
    REQUIRE(ev);
    CHECK(ev->at("data").at("seq").as_int64() == expect);
    ++expect;
  }
  // A sender receives everyone else's messages, also in order.
  std::int64_t last = 0;
  for (int n = 0; n < total - per_sender; ++n) {
    auto ev = clients[0]->wait_event("message");
    REQUIRE(ev);
    auto seq = ev->at("data").at("seq").as_int64();
    CHECK(seq > last);
    last = seq;
  }
}

TEST_CASE("after a dropped connection, a resend gives one message and sync returns exactly what was missed") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a(fx.port());
  ok_data(a.hello(fx.owner.token));
  auto conv = str(ok_data(a.call("open_direct", {{"user", bob.id}})).at("conv").at("conv"));
  std::int64_t bob_has = 0;
  {
    ws_client b(fx.port());
    ok_data(b.hello(bob.token));
    ok_data(a.call("send", text_send(conv, "a1", "one")));
    auto ev = b.wait_event("message");
    REQUIRE(ev);
    bob_has = ev->at("data").at("seq").as_int64();
    // Bob sends, loses the connection before reading the ack, and resends on a new connection.
    b.send_text(json::serialize(
        json::object{{"id", "lost"}, {"op", "send"}, {"data", text_send(conv, "b1", "mine")}}));
    b.drop();
  }
  ok_data(a.call("send", text_send(conv, "a2", "two")));
  ok_data(a.call("send", text_send(conv, "a3", "three")));

  ws_client b(fx.port());
  ok_data(b.hello(bob.token));
  auto resend = ok_data(b.call("send", text_send(conv, "b1", "mine")));
  CHECK(fx.db.scalar("SELECT count(*) FROM messages WHERE client_msg_id = 'b1'") == "1");
  auto synced = ok_data(b.call("sync", {{"conv", conv}, {"after_seq", bob_has}}));
  auto msgs = synced.at("messages").as_array();
  CHECK_FALSE(synced.at("has_more").as_bool());
  std::set<std::string> texts;
  std::int64_t prev = bob_has;
  for (const auto& m : msgs) {
    CHECK(m.at("seq").as_int64() == prev + 1);
    prev = m.at("seq").as_int64();
    texts.insert(str(m.at("body").at("text")));
  }
  CHECK(texts == std::set<std::string>{"mine", "two", "three"});
  CHECK(msgs.size() == 3);

  // Paging: limit and has_more; history from the end.
  auto page = ok_data(b.call("sync", {{"conv", conv}, {"after_seq", 0}, {"limit", 2}}));
  CHECK(page.at("messages").as_array().size() == 2);
  CHECK(page.at("has_more").as_bool());
  auto hist = ok_data(b.call("history", {{"conv", conv}, {"limit", 2}}));
  auto hm = hist.at("messages").as_array();
  REQUIRE(hm.size() == 2);
  CHECK(hm[0].at("seq").as_int64() == 3);
  CHECK(hm[1].at("seq").as_int64() == 4);
  CHECK(hist.at("has_more").as_bool());
  auto older = ok_data(b.call("history", {{"conv", conv}, {"before_seq", 3}}));
  CHECK(older.at("messages").as_array().size() == 2);
  CHECK_FALSE(older.at("has_more").as_bool());
  CHECK(ok_data(b.call("sync", {{"conv", conv}, {"after_seq", 0}, {"limit", 100000}}))
            .at("messages")
            .as_array()
            .size() == 4);
}

TEST_CASE("read cursors only move forward, clamp to last_seq, and notify") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a(fx.port()), b1(fx.port()), b2(fx.port());
  ok_data(a.hello(fx.owner.token));
  ok_data(b1.hello(bob.token, "b-phone"));
  ok_data(b2.hello(bob.token, "b-laptop"));
  auto conv = str(ok_data(a.call("open_direct", {{"user", bob.id}})).at("conv").at("conv"));
  for (int i = 1; i <= 3; ++i) ok_data(a.call("send", text_send(conv, "r" + std::to_string(i), "x")));
  ok_data(b1.call("read", {{"conv", conv}, {"seq", 2}}));
  for (auto* w : {&b2, &a}) {
    auto ev = w->wait_event("read");
    REQUIRE(ev);
    CHECK(str(ev->at("data").at("user")) == bob.id);
    CHECK(ev->at("data").at("seq").as_int64() == 2);
  }
  ok_data(b1.call("read", {{"conv", conv}, {"seq", 1}}));   // backwards: nothing changes
  ok_data(b1.call("read", {{"conv", conv}, {"seq", 99}}));  // clamped to 3
  auto convs = ok_data(b1.call("convs")).at("convs").as_array();
  CHECK(convs[0].at("read_seq").as_int64() == 3);
  CHECK(convs[0].at("unread").as_int64() == 0);
  CHECK(error_code_of(b1.call("read", {{"conv", conv}, {"seq", -1}})) == "bad_request");
  // Someone else's conversation, and one that does not exist.
  auto carol = fx.add_user(fx.owner, "Carol");
  ws_client c(fx.port());
  ok_data(c.hello(carol.token));
  CHECK(error_code_of(c.call("read", {{"conv", conv}, {"seq", 1}})) == "forbidden");
  CHECK(error_code_of(c.call("read", {{"conv", "987654321"}, {"seq", 1}})) == "not_found");
  CHECK(fx.db.scalar("SELECT read_seq FROM conv_members WHERE conv_id = " + conv +
                     " AND user_id = " + bob.id) == "3");
}

TEST_CASE("typing, recall and presence") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a(fx.port()), b(fx.port());
  ok_data(a.hello(fx.owner.token));
  ok_data(b.hello(bob.token));
  auto conv = str(ok_data(a.call("open_direct", {{"user", bob.id}})).at("conv").at("conv"));

  ok_data(a.call("typing", {{"conv", conv}}));
  auto t = b.wait_event("typing");
  REQUIRE(t);
  CHECK(str(t->at("data").at("user")) == fx.owner.id);

  ok_data(a.call("send", text_send(conv, "rc1", "oops")));
  CHECK(error_code_of(b.call("recall", {{"conv", conv}, {"seq", 1}})) == "forbidden");  // not the sender
  ok_data(a.call("recall", {{"conv", conv}, {"seq", 1}}));
  for (auto* w : {&a, &b}) {
    auto ev = w->wait_event("recalled");
    REQUIRE(ev);
    CHECK(ev->at("data").at("seq").as_int64() == 1);
    CHECK(str(ev->at("data").at("by")) == fx.owner.id);
  }
  auto m =
      ok_data(b.call("sync", {{"conv", conv}, {"after_seq", 0}})).at("messages").as_array().at(0).as_object();
  CHECK(m.at("recalled").as_bool());
  CHECK(m.at("body").as_object().empty());
  CHECK(fx.db.scalar("SELECT body FROM messages WHERE conv_id = " + conv) == "{}");

  auto p =
      ok_data(a.call("presence", {{"users", json::array{json::value(bob.id)}}})).at("presence").as_object();
  CHECK(p.at(bob.id).at("online").as_bool());
  CHECK(p.at(bob.id).at("last_seen").is_null());
  ok_data(a.call("presence_sub", {{"users", json::array{json::value(bob.id)}}}));
  b.drop();
  auto off = a.wait_event("presence");
  REQUIRE(off);
  CHECK_FALSE(off->at("data").at("online").as_bool());
  CHECK(off->at("data").at("last_seen").as_int64() > 0);
  ws_client b2(fx.port());
  ok_data(b2.hello(bob.token));
  auto on = a.wait_event("presence");
  REQUIRE(on);
  CHECK(on->at("data").at("online").as_bool());
}

TEST_CASE("a new hello from the same device replaces the older session") {
  org_fixture fx;
  ws_client first(fx.port());
  ok_data(first.hello(fx.owner.token, "same-device"));
  ws_client second(fx.port());
  ok_data(second.hello(fx.owner.token, "same-device"));
  auto k = first.wait_event("kicked");
  REQUIRE(k);
  CHECK(str(k->at("data").at("reason")) == "replaced");
  CHECK(first.wait_closed().has_value());
  CHECK(ok_data(second.call("ping")).empty());
}

TEST_CASE("SIGTERM closes WebSockets with 1001") {
  org_fixture fx;
  ws_client ws(fx.port());
  ok_data(ws.hello(fx.owner.token));
  fx.srv->proc().signal(SIGTERM);
  CHECK(ws.wait_closed() == 1001);
  CHECK(fx.srv->proc().wait_exit(10s) == 0);
}

TEST_CASE("conv_update carries each recipient's own read_seq and unread") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a(fx.port()), b(fx.port());
  ok_data(a.hello(fx.owner.token));
  ok_data(b.hello(bob.token));
  auto conv =
      str(ok_data(a.call("create_group", {{"name", "g"}, {"members", json::array{json::value(bob.id)}}}))
              .at("conv")
              .at("conv"));
  REQUIRE(a.wait_event("conv_update"));
  REQUIRE(b.wait_event("conv_update"));
  ok_data(b.call("send", text_send(conv, "hi", "hi")));         // seq 1; Bob's cursor moves to 1
  ok_data(a.call("rename", {{"conv", conv}, {"name", "g2"}}));  // seq 2
  auto for_a = a.wait_event("conv_update");
  auto for_b = b.wait_event("conv_update");
  REQUIRE(for_a);
  REQUIRE(for_b);
  CHECK(for_a->at("data").at("conv").at("last_seq").as_int64() == 2);
  CHECK(for_a->at("data").at("conv").at("read_seq").as_int64() == 0);
  CHECK(for_a->at("data").at("conv").at("unread").as_int64() == 2);
  CHECK(for_b->at("data").at("conv").at("read_seq").as_int64() == 1);
  CHECK(for_b->at("data").at("conv").at("unread").as_int64() == 1);
}
