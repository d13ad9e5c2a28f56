// The ordered writer's I/O-free parts (storage/send_batch): batching, settling a batch whose
// COMMIT was lost, and completing a batch, where the sender is answered whatever the fan-out did.
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

#include <stdexcept>

#include "storage/send_batch.hpp"

using namespace switchboard;
using storage::send_outcome;
using storage::send_request;

namespace {
send_request send(std::int64_t conv, std::int64_t sender, std::string cmid) {
  send_request r;
  r.org = 1;
  r.conv = conv;
  r.sender = sender;
  r.client_msg_id = std::move(cmid);
  return r;
}
std::shared_ptr<spdlog::logger> quiet() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}
send_outcome stored(std::int64_t seq) {
  send_outcome o;
  o.msg_id = 100 + seq;
  o.seq = seq;
  o.ts = 1000 + seq;
  return o;
}
}  // namespace

TEST_CASE("a batch gathers the sends at the front of the queue, up to its size and never past a job") {
  std::deque<storage::writer_item> q;
  for (int i = 0; i < 3; ++i) q.emplace_back(send(1, 1, "a" + std::to_string(i)));
  q.emplace_back(storage::writer_job{});
  q.emplace_back(send(1, 1, "after-the-job"));
  std::vector<send_request> batch;
  CHECK(storage::gather_sends(q, batch, 10));  // a job is next: no point waiting for more sends
  REQUIRE(batch.size() == 3);
  CHECK(batch[2].client_msg_id == "a2");
  CHECK(q.size() == 2);
  CHECK(std::holds_alternative<storage::writer_job>(q.front()));

  std::deque<storage::writer_item> only_sends;
  for (int i = 0; i < 5; ++i) only_sends.emplace_back(send(1, 1, std::to_string(i)));
  std::vector<send_request> small;
  CHECK(storage::gather_sends(only_sends, small, 2));  // full
  CHECK(small.size() == 2);
  std::vector<send_request> rest;
  CHECK_FALSE(storage::gather_sends(only_sends, rest, 10));  // the queue ran dry: wait for more
  CHECK(rest.size() == 3);
  CHECK(only_sends.empty());
}

TEST_CASE(
    "a batch in doubt: what was stored completes in seq order, repeats are duplicates, the rest fails") {
  std::vector<send_request> batch;
  batch.push_back(send(7, 1, "x"));  // stored as seq 12
  batch.push_back(send(7, 1, "y"));  // not stored
  batch.push_back(send(7, 2, "z"));  // stored as seq 11 (the other writer's order within the batch)
  batch.push_back(send(7, 1, "x"));  // the same key again: stored once, by the first
  std::vector<std::optional<send_outcome>> found{stored(12), std::nullopt, stored(11), stored(12)};
  auto settled = storage::settle_in_doubt(batch, found);
  REQUIRE(settled.stored.size() == 3);
  REQUIRE(settled.absent.size() == 1);
  CHECK(settled.absent[0].client_msg_id == "y");
  CHECK(settled.stored[0].client_msg_id == "z");
  CHECK(settled.outcomes[0].seq == 11);
  CHECK(settled.stored[1].client_msg_id == "x");
  CHECK_FALSE(settled.outcomes[1].duplicate);
  CHECK(settled.stored[2].client_msg_id == "x");
  CHECK(settled.outcomes[2].duplicate);
  for (const auto& o : settled.outcomes) CHECK(o.st == send_outcome::status::ok);
}

TEST_CASE("every sender is answered after COMMIT, in order, even when the fan-out fails") {
  std::vector<std::string> answered;
  std::vector<std::string> published;
  std::vector<send_request> batch;
  for (std::string id : {"first", "fanout-throws", "third"}) {
    auto r = send(3, 1, id);
    r.publish = [&published, id](const send_outcome&) {
      if (id == "fanout-throws") throw std::runtime_error("member lookup failed");
      published.push_back(id);
    };
    r.done = [&answered, id](const send_outcome& o) {
      CHECK(o.st == send_outcome::status::ok);
      answered.push_back(id + ":" + std::to_string(o.seq));
    };
    batch.push_back(std::move(r));
  }
  storage::complete_batch(batch, {stored(1), stored(2), stored(3)}, *quiet());
  CHECK(published == std::vector<std::string>{"first", "third"});
  CHECK(answered == std::vector<std::string>{"first:1", "fanout-throws:2", "third:3"});
}

TEST_CASE("a throwing answer never keeps the next sender from its answer, nor a failure from the rest") {
  int answered = 0, failed = 0;
  std::vector<send_request> batch;
  for (int i = 0; i < 3; ++i) {
    auto r = send(3, 1, std::to_string(i));
    r.done = [&answered, i](const send_outcome&) {
      ++answered;
      if (i == 0) throw std::runtime_error("answer threw");
    };
    r.fail = [&failed, i](const storage::db_failure&) {
      ++failed;
      if (i == 1) throw std::runtime_error("fail threw");
    };
    batch.push_back(std::move(r));
  }
  storage::complete_batch(batch, {stored(1), stored(2), stored(3)}, *quiet());
  CHECK(answered == 3);
  storage::fail_batch(batch, {storage::db_failure::kind::unavailable, "test"}, *quiet());
  CHECK(failed == 3);
}
