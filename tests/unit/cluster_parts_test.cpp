// The cluster's I/O-free parts: bus messages from bytes, the per-conversation ordering of message
// events from several nodes, and tokens taken on other nodes.
#include <catch2/catch.hpp>

#include "server/base/limits.hpp"
#include "server/cluster/bus_message.hpp"
#include "server/cluster/conv_sequencer.hpp"

using namespace switchboard::server;
using namespace switchboard::server::cluster;

namespace {
sequenced msg(std::int64_t seq) {
  return {seq, std::make_shared<const std::string>("m" + std::to_string(seq)), nullptr};
}
std::vector<std::int64_t> seqs(const conv_sequencer::step& st) {
  std::vector<std::int64_t> out;
  for (const auto& m : st.deliver) out.push_back(m.seq);
  return out;
}
using v = std::vector<std::int64_t>;
}  // namespace

TEST_CASE("bus messages: every kind survives the round trip") {
  bus_message m;
  m.k = bus_message::kind::message;
  m.org = 7;
  m.conv = 42;
  m.seq = 9;
  m.body = R"({"ev":"message","data":{"text":"a\nb"}})";
  auto bytes = encode(m);
  auto back = parse_bus_message(bytes);
  REQUIRE(back);
  CHECK(back->k == bus_message::kind::message);
  CHECK(back->org == 7);
  CHECK(back->conv == 42);
  CHECK(back->seq == 9);
  CHECK(back->body == m.body);  // a newline in the body is the body's

  bus_message k;
  k.k = bus_message::kind::kick;
  k.code = 4403;
  k.by_device = true;
  k.reason = "replaced";
  k.body = "device with spaces";
  auto kbytes = encode(k);  // a parsed body points into the bytes: keep them
  auto kb = parse_bus_message(kbytes);
  REQUIRE(kb);
  CHECK(kb->code == 4403);
  CHECK(kb->by_device);
  CHECK(kb->reason == "replaced");
  CHECK(kb->body == "device with spaces");

  bus_message p;
  p.k = bus_message::kind::presence;
  p.online = false;
  p.last_seen_ms = 1700000000000;
  auto pbytes = encode(p);
  auto pb = parse_bus_message(pbytes);
  REQUIRE(pb);
  CHECK_FALSE(pb->online);
  CHECK(pb->last_seen_ms == 1700000000000);
  p.online = true;
  p.last_seen_ms.reset();
  pbytes = encode(p);
  pb = parse_bus_message(pbytes);
  REQUIRE(pb);
  CHECK(pb->online);
  CHECK_FALSE(pb->last_seen_ms);

  bus_message s;
  s.k = bus_message::kind::session;
  s.session = "0123456789abcdef";
  s.body = "{}";
  auto sbytes = encode(s);
  auto sb = parse_bus_message(sbytes);
  REQUIRE(sb);
  CHECK(sb->session == "0123456789abcdef");
  CHECK(sb->body == "{}");

  bus_message mv;
  mv.k = bus_message::kind::members;
  mv.conv = 77;
  auto mvbytes = encode(mv);
  auto mvb = parse_bus_message(mvbytes);
  REQUIRE(mvb);
  CHECK(mvb->conv == 77);

  bus_message t;
  t.k = bus_message::kind::tokens;
  t.limit = 2;
  t.body = "17";
  auto tbytes = encode(t);
  auto tb = parse_bus_message(tbytes);
  REQUIRE(tb);
  CHECK(tb->limit == 2);
  CHECK(tb->body == "17");
}

TEST_CASE("bus messages: anything malformed is refused") {
  for (std::string bad : {"",
                          "E",
                          "\n",
                          "Z\n",
                          "M 1 2\nx",
                          "M 1 2 0\nx",
                          "M 1 2 -3\nx",
                          "M a 2 3\nx",
                          "M 1 2 3 4\nx",
                          "K 99 t logout\nh",
                          "K 4401 x logout\nh",
                          "K 4401 t Log-Out\nh",
                          "T 1\n",
                          "T -1\nk",
                          "P 2 -\n",
                          "P 1 x\n",
                          "E extra\n",
                          "EE\n",
                          "M 99999999999999999999 1 1\nx",
                          "S\n{}",
                          "S a b\n{}",
                          "V\n",
                          "V 0\n",
                          "V x\n"})
    CHECK_FALSE(parse_bus_message(bad));
  CHECK(parse_bus_message("E\n"));  // an empty body is still a message (the receiver judges it)
}

TEST_CASE("sequencer: in order, everything goes at once, and a duplicate is dropped") {
  conv_sequencer s;
  CHECK(seqs(s.offer(1, 10, msg(1))) == v{1});
  CHECK(seqs(s.offer(1, 10, msg(2))) == v{2});
  CHECK(seqs(s.offer(1, 10, msg(2))).empty());
  CHECK(seqs(s.offer(1, 10, msg(1))).empty());
  CHECK(seqs(s.offer(1, 10, msg(3))) == v{3});
}

TEST_CASE("sequencer: a later seq waits for the one before it, which releases both") {
  conv_sequencer s;
  s.offer(1, 10, msg(1));
  auto st = s.offer(1, 10, msg(3));
  CHECK(st.deliver.empty());
  CHECK(st.arm_timer);
  CHECK_FALSE(s.offer(1, 10, msg(4)).arm_timer);  // one timer per gap
  CHECK(seqs(s.offer(1, 10, msg(2))) == v{2, 3, 4});
  // The timer that was armed finds nothing left.
  auto late = s.expired(1, 10);
  CHECK(late.deliver.empty());
  CHECK_FALSE(late.fill);
}

TEST_CASE("sequencer: a gap that does not close is read from the database") {
  conv_sequencer s;
  s.offer(1, 10, msg(1));
  s.offer(1, 10, msg(4));
  s.offer(1, 10, msg(5));
  auto st = s.expired(1, 10);
  REQUIRE(st.fill);
  CHECK_FALSE(st.first_sight);
  CHECK(st.fill->first == 1);                   // after seq 1
  CHECK(st.fill->second == 4);                  // before seq 4
  CHECK(seqs(s.offer(1, 10, msg(6))).empty());  // held while the fill runs
  CHECK(seqs(s.offer(1, 10, msg(2))).empty());  // even the next in line: the fill delivers it
  std::vector<sequenced> read{msg(3), msg(2)};
  CHECK(seqs(s.filled(1, 10, st.line, std::move(read))) == v{2, 3, 4, 5, 6});
  CHECK(seqs(s.offer(1, 10, msg(7))) == v{7});
  CHECK(seqs(s.offer(1, 10, msg(3))).empty());  // the late original of a filled one: a duplicate
}

TEST_CASE("sequencer: a fill settles only the seqs before its end, and a later gap waits again") {
  conv_sequencer s;
  s.offer(1, 10, msg(1));
  s.offer(1, 10, msg(3));
  auto st = s.expired(1, 10);
  REQUIRE(st.fill);
  CHECK(st.fill->second == 3);
  CHECK(seqs(s.offer(1, 10, msg(5))).empty());  // arrives while the fill runs; 4 is still on its way
  auto done = s.filled(1, 10, st.line, {msg(2)});
  CHECK(seqs(done) == v{2, 3});  // not 5: 4 is in the database, just not read yet
  CHECK(done.arm_timer);
  CHECK(seqs(s.offer(1, 10, msg(4))) == v{4, 5});
}

TEST_CASE("sequencer: a fill missing a seq the database no longer has delivers the rest anyway") {
  conv_sequencer s;
  s.offer(1, 10, msg(1));
  s.offer(1, 10, msg(4));
  auto st = s.expired(1, 10);
  REQUIRE(st.fill);
  CHECK(seqs(s.filled(1, 10, st.line, {msg(3)})) == v{3, 4});
  CHECK(seqs(s.offer(1, 10, msg(5))) == v{5});
}

TEST_CASE("sequencer: the first message seen reads its predecessors from the database first") {
  conv_sequencer s;
  auto st = s.offer(1, 10, msg(6));
  CHECK(st.deliver.empty());
  REQUIRE(st.fill);
  CHECK(st.first_sight);
  CHECK(st.fill->second == 6);                  // before seq 6 (how far back: the session's age)
  CHECK(seqs(s.offer(1, 10, msg(5))).empty());  // a copy arriving meanwhile waits with it
  CHECK(seqs(s.offer(1, 10, msg(7))).empty());
  // The database had 4 and 5 from this session's time; 3 and before came before the session.
  CHECK(seqs(s.filled(1, 10, st.line, {msg(4), msg(5)})) == v{4, 5, 6, 7});
  CHECK(seqs(s.offer(1, 10, msg(8))) == v{8});
  CHECK(seqs(s.offer(1, 10, msg(3))).empty());  // older than the line: the client has it from sync
}

TEST_CASE("sequencer: a fill for a line that was forgotten meanwhile is dropped") {
  conv_sequencer s;
  auto st = s.offer(1, 10, msg(6));
  REQUIRE(st.fill);
  s.clear();  // a resync
  auto again = s.offer(1, 10, msg(9));
  REQUIRE(again.fill);
  CHECK(again.line != st.line);
  CHECK(s.filled(1, 10, st.line, {msg(5)}).deliver.empty());  // the old line's answer
  CHECK(seqs(s.filled(1, 10, again.line, {msg(8)})) == v{8, 9});
}

TEST_CASE("sequencer: seq 1 needs no wait, and lines are per user and per conversation") {
  conv_sequencer s;
  CHECK(seqs(s.offer(1, 10, msg(1))) == v{1});
  CHECK(seqs(s.offer(2, 10, msg(1))) == v{1});
  CHECK(seqs(s.offer(1, 11, msg(1))) == v{1});
  CHECK(s.keys() == 3);
  s.forget_user(1);
  CHECK(s.keys() == 1);
  CHECK(s.offer(1, 10, msg(2)).first_sight);  // forgotten: a first sight again
}

TEST_CASE("sequencer: too much held fills at once") {
  conv_sequencer s;
  s.offer(1, 10, msg(1));
  std::optional<std::pair<std::int64_t, std::int64_t>> fill;
  for (std::int64_t q = 3; q < 3 + static_cast<std::int64_t>(conv_sequencer::max_held) + 1 && !fill; ++q)
    fill = s.offer(1, 10, msg(q)).fill;
  REQUIRE(fill);
  CHECK(fill->first == 1);
  CHECK(fill->second == 3);
}

TEST_CASE("limits: tokens taken on another node are gone here too, and paid back before a take") {
  keyed_rate_limiter l(1.0, 2.0);  // 1 a second, burst 2
  std::int64_t retry = 0;
  l.debit("u", 2);
  CHECK_FALSE(l.take("u", retry));
  CHECK(retry > 0);
  keyed_rate_limiter deep(1.0, 2.0);
  deep.debit("u", 100);  // bounded: never more than one burst owed
  CHECK_FALSE(deep.take("u", retry));
  CHECK(retry <= 3000);
  CHECK(retry > 2000);
}
