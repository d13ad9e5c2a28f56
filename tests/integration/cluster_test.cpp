// Several nodes, one service (PROTOCOL.md "Clusters"): three real `switchboard serve` processes on
// one database and a real nats-server. Every cross-node event type, order under concurrent writers
// on two nodes, presence across nodes and node death, limits over the cluster, and the bus lost.
#include <catch2/catch.hpp>

#include <atomic>
#include <boost/json.hpp>
#include <set>
#include <thread>

#include "api_client.hpp"
#include "cluster.hpp"
#include "http_client.hpp"
#include "tools/soak/fault_proxy.hpp"
#include "ws_client.hpp"
#include "ws_replies.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {

// A logged-in client on one node.
std::unique_ptr<ws_client> on_node(cluster_fixture& fx, std::size_t node, const account& a,
                                   const std::string& device = "dev-1",
                                   const std::string& version = "1.0.0") {
  auto ws = std::make_unique<ws_client>(fx.port(node));
  ok_data(ws->hello(a.token, device, version));
  return ws;
}

json::object event_data(ws_client& ws, const std::string& ev) {
  auto e = ws.wait_event(ev, 10s);
  INFO("waiting for " << ev);
  REQUIRE(e);
  return e->at("data").as_object();
}

std::int64_t seq_of(const json::object& message) {
  return message.at("seq").as_int64();
}
}  // namespace

TEST_CASE("cluster: every event of the protocol reaches sessions on other nodes") {
  cluster_fixture fx(3);
  auto& owner = fx.org.owner;
  auto bob = fx.org.add_user(owner, "Bob");
  auto carol = fx.org.add_user(owner, "Carol");
  auto a = on_node(fx, 0, owner);
  auto b = on_node(fx, 1, bob);
  auto b2 = on_node(fx, 2, bob, "dev-2");
  auto c = on_node(fx, 2, carol);

  // conv_update (created), message, typing, recalled, renamed, members_removed.
  auto group =
      ok_data(a->call("create_group", {{"name", "Ops"}, {"members", json::array{bob.id, carol.id}}}));
  auto conv = str(group.at("conv").at("conv"));
  CHECK(str(event_data(*a, "conv_update").at("reason")) == "created");  // the acting session too
  CHECK(str(event_data(*b, "conv_update").at("reason")) == "created");
  CHECK(str(event_data(*c, "conv_update").at("reason")) == "created");
  ok_data(a->call("send", text_send(conv, "m1", "hello from node 0")));
  for (auto* ws : {b.get(), b2.get(), c.get()}) {
    auto m = event_data(*ws, "message");
    CHECK(seq_of(m) == 1);
    CHECK(str(m.at("body").at("text")) == "hello from node 0");
  }
  ok_data(c->call("typing", {{"conv", conv}}));
  CHECK(str(event_data(*a, "typing").at("user")) == carol.id);
  CHECK(str(event_data(*b, "typing").at("user")) == carol.id);
  ok_data(a->call("recall", {{"conv", conv}, {"seq", 1}}));
  CHECK(event_data(*c, "recalled").at("seq").as_int64() == 1);
  CHECK(event_data(*b2, "recalled").at("seq").as_int64() == 1);
  ok_data(b->call("rename", {{"conv", conv}, {"name", "Ops 2"}}));
  auto up = event_data(*c, "conv_update");
  CHECK(str(up.at("reason")) == "renamed");
  CHECK(str(up.at("conv").at("name")) == "Ops 2");
  CHECK(str(event_data(*a, "conv_update").at("reason")) == "renamed");
  CHECK(str(event_data(*c, "message").at("body").at("event")) == "renamed");  // the system message, seq 2
  CHECK(seq_of(event_data(*b, "message")) == 2);
  ok_data(a->call("remove_members", {{"conv", conv}, {"users", json::array{carol.id}}}));
  CHECK(str(event_data(*c, "conv_update").at("reason")) == "members_removed");  // the removed learn it
  auto sys = event_data(*b, "message");
  CHECK(seq_of(sys) == 3);
  CHECK(str(sys.at("type")) == "system");
  CHECK(str(sys.at("body").at("event")) == "members_removed");

  // read: the reader's other sessions (another node) and the other member of a direct conversation.
  auto direct = str(ok_data(a->call("open_direct", {{"user", bob.id}})).at("conv").at("conv"));
  ok_data(a->call("send", text_send(direct, "d1", "psst")));
  CHECK(seq_of(event_data(*b, "message")) == 1);
  ok_data(b->call("read", {{"conv", direct}, {"seq", 1}}));
  auto rd = event_data(*a, "read");
  CHECK(str(rd.at("user")) == bob.id);
  CHECK(rd.at("seq").as_int64() == 1);
  CHECK(str(event_data(*b2, "read").at("conv")) == direct);

  // notice: every session of the organization, on every node.
  api_client admin{fx.port(0), owner.token};
  admin.ok("POST", "/v1/admin/notices", json::object{{"title", "Maintenance"}, {"body", "tonight"}}, 201);
  for (auto* ws : {b.get(), b2.get(), c.get()})
    CHECK(str(event_data(*ws, "notice").at("title")) == "Maintenance");
}

TEST_CASE("cluster: presence counts the sessions of every node") {
  cluster_fixture fx(3);
  auto& owner = fx.org.owner;
  auto dave = fx.org.add_user(owner, "Dave");
  auto watcher = on_node(fx, 0, owner);
  ok_data(watcher->call("presence_sub", {{"users", json::array{dave.id}}}));
  auto d1 = on_node(fx, 1, dave, "phone");
  auto on = event_data(*watcher, "presence");
  CHECK(on.at("online").as_bool());
  auto d2 = on_node(fx, 2, dave, "desktop");
  // Still online while the other node holds a session; the snapshot says so from any node.
  d1.reset();
  auto snap = ok_data(watcher->call("presence", {{"users", json::array{dave.id}}}));
  CHECK(snap.at("presence").at(dave.id).at("online").as_bool());
  CHECK_FALSE(watcher->wait_event("presence", 300ms));  // no offline while the desktop is live
  d2.reset();
  auto off = event_data(*watcher, "presence");
  CHECK_FALSE(off.at("online").as_bool());
  CHECK(off.at("last_seen").is_int64());
  auto after = ok_data(watcher->call("presence", {{"users", json::array{dave.id}}}));
  CHECK_FALSE(after.at("presence").at(dave.id).at("online").as_bool());
  CHECK(after.at("presence").at(dave.id).at("last_seen").as_int64() == off.at("last_seen").as_int64());
}

TEST_CASE("cluster: a node that dies takes its sessions' presence down within seconds") {
  cluster_fixture fx(3);
  auto& owner = fx.org.owner;
  auto erin = fx.org.add_user(owner, "Erin");
  auto watcher = on_node(fx, 0, owner);
  ok_data(watcher->call("presence_sub", {{"users", json::array{erin.id}}}));
  auto e = on_node(fx, 2, erin);
  CHECK(event_data(*watcher, "presence").at("online").as_bool());
  fx.kill_node(2);  // no shutdown: nothing runs on that node any more
  auto off = watcher->wait_event("presence", 15s);
  REQUIRE(off);
  CHECK_FALSE(off->at("data").at("online").as_bool());
  CHECK(e->wait_closed(5s) == 0);  // its connection just dropped
}

TEST_CASE("cluster: kicks and admin changes reach sessions on other nodes") {
  cluster_fixture fx(3);
  auto& owner = fx.org.owner;
  auto bob = fx.org.add_user(owner, "Bob");
  auto carol = fx.org.add_user(owner, "Carol");
  auto frank = fx.org.add_user(owner, "Frank");
  api_client admin{fx.port(0), owner.token};

  // logout on one node closes that token's sessions on another.
  auto b = on_node(fx, 1, bob);
  api_client{fx.port(0), bob.token}.call("POST", "/v1/auth/logout", json::object{});
  CHECK(str(event_data(*b, "kicked").at("reason")) == "logout");
  CHECK(b->wait_closed() == 4401);

  // A second hello from the same device, on another node, replaces the first session.
  auto c1 = on_node(fx, 1, carol, "laptop");
  auto c2 = on_node(fx, 2, carol, "laptop");
  CHECK(str(event_data(*c1, "kicked").at("reason")) == "replaced");
  CHECK(c1->wait_closed() == 1000);

  // Suspension through node 0 closes the sessions on node 2 (4403).
  admin.ok("POST", "/v1/admin/users/" + carol.id + "/suspend", json::object{{"reason", "policy"}});
  CHECK(str(event_data(*c2, "kicked").at("reason")) == "suspended");
  CHECK(c2->wait_closed() == 4403);

  // A raised minimum client version closes older clients on every node (4426).
  auto f_old = on_node(fx, 1, frank, "old-phone", "1.0.0");
  auto f_new = on_node(fx, 2, frank, "new-phone", "2.0.0");
  admin.ok("PUT", "/v1/admin/policy", json::object{{"min_client_version", "2.0.0"}});
  CHECK(str(event_data(*f_old, "kicked").at("reason")) == "client_too_old");
  CHECK(f_old->wait_closed() == 4426);
  CHECK(ok_data(f_new->call("ping")).empty());
}

TEST_CASE("cluster: concurrent senders on two nodes reach a third node's sessions in seq order, once each") {
  cluster_fixture fx(
      3, {{"SWITCHBOARD_LIMITS_SENDS_PER_SECOND", "10000"}, {"SWITCHBOARD_LIMITS_SEND_BURST", "10000"}});
  auto& owner = fx.org.owner;
  auto s2 = fx.org.add_user(owner, "Sender 2");
  auto r = fx.org.add_user(owner, "Reader");
  auto a = on_node(fx, 0, owner);
  auto conv = str(ok_data(a->call("create_group", {{"name", "Race"}, {"members", json::array{s2.id, r.id}}}))
                      .at("conv")
                      .at("conv"));
  auto reader = on_node(fx, 2, r);
  auto reader2 = on_node(fx, 2, r, "tablet");
  constexpr int per_sender = 150;
  // Catch's assertions are not thread-safe: the sending threads only count what went wrong.
  auto sa = on_node(fx, 0, owner, "sender-a");
  auto sb = on_node(fx, 1, s2, "sender-b");
  std::atomic<int> refused{0};
  auto send_all = [&](ws_client* ws, const std::string& tag) {
    for (int i = 0; i < per_sender; ++i)
      if (!ws->call("send", text_send(conv, tag + std::to_string(i), tag)).at("ok").as_bool()) ++refused;
  };
  std::thread t1(send_all, sa.get(), "a");
  std::thread t2(send_all, sb.get(), "b");
  t1.join();
  t2.join();
  REQUIRE(refused.load() == 0);
  for (auto* ws : {reader.get(), reader2.get()}) {
    std::vector<std::int64_t> got;
    while (got.size() < 2 * per_sender) {
      auto m = ws->wait_event("message", 10s);
      INFO("received " << got.size() << " of " << 2 * per_sender);
      REQUIRE(m);
      got.push_back(m->at("data").at("seq").as_int64());
    }
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("position " << i);
      REQUIRE(got[i] == static_cast<std::int64_t>(i) + 1);  // no gap, no duplicate, in order
    }
    CHECK_FALSE(ws->wait_event("message", 300ms));  // and nothing more
  }
}

TEST_CASE("cluster: a user's send limit counts the sends made on every node") {
  cluster_fixture fx(2,
                     {{"SWITCHBOARD_LIMITS_SENDS_PER_SECOND", "1"}, {"SWITCHBOARD_LIMITS_SEND_BURST", "3"}});
  auto& owner = fx.org.owner;
  auto bob = fx.org.add_user(owner, "Bob");
  auto b0 = on_node(fx, 0, bob, "phone");
  auto b1 = on_node(fx, 1, bob, "desktop");
  auto conv = str(ok_data(b0->call("open_direct", {{"user", owner.id}})).at("conv").at("conv"));
  for (int i = 0; i < 3; ++i) ok_data(b0->call("send", text_send(conv, "x" + std::to_string(i), "x")));
  // The desktop has seen the phone's three messages: the tokens they took went over the same subject
  // before them, so node 1 has counted them.
  for (int i = 1; i <= 3; ++i) CHECK(seq_of(event_data(*b1, "message")) == i);
  auto refused = b1->call("send", text_send(conv, "y", "y"));
  CHECK(error_code_of(refused) == "rate_limited");
  CHECK(refused.at("error").at("retry_after_ms").as_int64() > 0);
}

TEST_CASE("cluster: a restarted nats-server brings resync, and nothing acked is lost") {
  cluster_fixture fx(2);
  auto& owner = fx.org.owner;
  auto bob = fx.org.add_user(owner, "Bob");
  auto a = on_node(fx, 0, owner);
  auto b = on_node(fx, 1, bob);
  auto conv = str(ok_data(a->call("open_direct", {{"user", bob.id}})).at("conv").at("conv"));
  fx.nats.stop();
  // The database is the truth: sends are still acknowledged while the bus is away.
  for (int i = 0; i < 5; ++i) ok_data(a->call("send", text_send(conv, "during" + std::to_string(i), "x")));
  fx.nats.restart();
  for (auto* ws : {a.get(), b.get()}) CHECK(ws->wait_event("resync", 20s));
  auto page = ok_data(b->call("sync", {{"conv", conv}, {"after_seq", 0}}));
  CHECK(page.at("messages").as_array().size() == 5);
  // The bus works again afterwards.
  ok_data(a->call("send", text_send(conv, "after", "y")));
  std::int64_t last = 0;
  while (auto m = b->wait_event("message", 5s)) {
    last = m->at("data").at("seq").as_int64();
    if (last == 6) break;
  }
  CHECK(last == 6);
}

TEST_CASE("cluster: a node killed mid-traffic loses no acked message, and its clients carry on elsewhere") {
  cluster_fixture fx(3);
  auto& owner = fx.org.owner;
  auto bob = fx.org.add_user(owner, "Bob");
  auto reader = on_node(fx, 0, owner);
  auto conv = str(ok_data(reader->call("open_direct", {{"user", bob.id}})).at("conv").at("conv"));
  // Bob comes through haproxy (the shipped configuration) in front of nodes 1 and 2.
  haproxy_process lb({fx.port(1), fx.port(2)});
  std::set<std::string> acked;
  {
    auto b = std::make_unique<ws_client>(lb.port());
    ok_data(b->hello(bob.token));
    for (int i = 0; i < 20; ++i) {
      auto id = "k" + std::to_string(i);
      ok_data(b->call("send", text_send(conv, id, id)));
      acked.insert(id);
    }
    // The node haproxy chose is the one with a WebSocket open.
    auto websockets = [&](std::size_t node) {
      return metric_value(fx.port(node), "switchboard_connections{kind=\"websocket\"}") == 1;
    };
    std::size_t landed = websockets(1) ? 1 : 2;
    REQUIRE(websockets(landed));
    fx.kill_node(landed);
    CHECK(b->wait_closed(5s) == 0);
  }
  // The client reconnects through haproxy (to the node left), resends what it had in flight
  // (nothing new), and goes on.
  auto b = std::make_unique<ws_client>(lb.port());
  ok_data(b->hello(bob.token));
  auto again = ok_data(b->call("send", text_send(conv, "k19", "k19")));
  CHECK(again.at("duplicate").as_bool());
  for (int i = 20; i < 30; ++i) {
    auto id = "k" + std::to_string(i);
    ok_data(b->call("send", text_send(conv, id, id)));
    acked.insert(id);
  }
  auto page = ok_data(reader->call("sync", {{"conv", conv}, {"after_seq", 0}, {"limit", 500}}));
  std::set<std::string> stored;
  std::int64_t expect = 1;
  for (const auto& m : page.at("messages").as_array()) {
    CHECK(m.at("seq").as_int64() == expect++);
    CHECK(stored.insert(str(m.at("client_msg_id"))).second);  // once each
  }
  CHECK(stored == acked);
}

TEST_CASE("cluster: a node cut off from the bus only keeps acking, and its sessions resync when it is back") {
  cluster_fixture fx(1);
  // Node 1 reaches NATS through a proxy that can black-hole it; the database stays reachable.
  boost::asio::io_context ioc;
  switchboard::soak::fault_proxy proxy(
      ioc, {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(fx.nats.port())});
  std::thread proxy_thread([&] { ioc.run(); });
  auto node1 =
      fx.add_node({{"SWITCHBOARD_CLUSTER_NATS_URL", "nats://127.0.0.1:" + std::to_string(proxy.port())}});
  auto& owner = fx.org.owner;
  auto bob = fx.org.add_user(owner, "Bob");
  auto a = on_node(fx, 0, owner);
  auto b = on_node(fx, node1, bob);
  auto conv = str(ok_data(a->call("open_direct", {{"user", bob.id}})).at("conv").at("conv"));
  ok_data(b->call("send", text_send(conv, "before", "x")));
  CHECK(seq_of(event_data(*a, "message")) == 1);  // the bus works through the proxy

  proxy.set_stalled(true);
  // Node 1 notices within a few seconds (its pings go unanswered); meanwhile, and after, it serves.
  REQUIRE(eventually([&] { return metric_value(fx.port(node1), "switchboard_bus_connected") == 0; }, 20s));
  for (int i = 0; i < 3; ++i) ok_data(b->call("send", text_send(conv, "cut" + std::to_string(i), "x")));
  proxy.set_stalled(false);
  CHECK(b->wait_event("resync", 20s));
  // Node 0 never lost the bus: its session learns of the messages by events (sent when node 1's
  // buffer is flushed on reconnecting) or by sync; either way nothing is missing.
  auto page = ok_data(a->call("sync", {{"conv", conv}, {"after_seq", 0}}));
  CHECK(page.at("messages").as_array().size() == 4);
  // Live events flow both ways again.
  ok_data(a->call("send", text_send(conv, "after", "y")));
  bool got = false;
  while (auto m = b->wait_event("message", 10s))
    if ((got = m->at("data").at("seq").as_int64() == 5)) break;
  CHECK(got);
  proxy.close();
  ioc.stop();
  proxy_thread.join();
}

TEST_CASE("cluster: a member added on one node gets the very next message sent through another") {
  cluster_fixture fx(3);
  auto& owner = fx.org.owner;
  auto s2 = fx.org.add_user(owner, "Sender");
  auto late = fx.org.add_user(owner, "Late joiner");
  auto a = on_node(fx, 0, owner);
  auto b = on_node(fx, 1, s2);
  auto n = on_node(fx, 2, late);
  auto conv = str(ok_data(a->call("create_group", {{"name", "G"}, {"members", json::array{s2.id}}}))
                      .at("conv")
                      .at("conv"));
  // Node 1 sends into the group first, so whatever it caches of the members is the old list.
  ok_data(b->call("send", text_send(conv, "m1", "before")));
  ok_data(a->call("add_members", {{"conv", conv}, {"users", json::array{late.id}}}));
  ok_data(b->call("send", text_send(conv, "m2", "after")));
  std::vector<std::int64_t> got;
  while (auto m = n->wait_event("message", 10s)) {
    got.push_back(m->at("data").at("seq").as_int64());
    if (got.back() == 3) break;
  }
  // seq 2 is the system message of the addition, seq 3 the message sent right after it (seq 1 may
  // come first: the node reads what its session may lack when it first hears of the conversation).
  REQUIRE(got.size() >= 2);
  CHECK(got[got.size() - 2] == 2);
  CHECK(got.back() == 3);
}
