// The load generator's verifier flags gaps, duplicates, reorderings and losses.
#include <catch2/catch.hpp>

#include "tools/load/delivery_verifier.hpp"

using switchboard::load::delivery_verifier;

namespace {
// Conversation 7 with users 1 (sender) and 2, 3 (receivers); seqs 1..5 acked.
delivery_verifier clean_run() {
  delivery_verifier v;
  v.set_members(7, {1, 2, 3});
  for (int s = 1; s <= 5; ++s) v.on_ack(7, s, 1);
  return v;
}
}  // namespace

TEST_CASE("a clean run passes") {
  auto v = clean_run();
  for (int s = 1; s <= 5; ++s) {
    v.on_delivery(2, 7, s);
    v.on_delivery(3, 7, s);
  }
  auto r = v.finish();
  CHECK(r.ok());
  CHECK(r.acked == 5);
  CHECK(r.delivered == 10);
}

TEST_CASE("a gap in acked seqs is flagged") {
  delivery_verifier v;
  v.set_members(7, {1});
  v.on_ack(7, 1, 1);
  v.on_ack(7, 2, 1);
  v.on_ack(7, 4, 1);
  auto r = v.finish();
  CHECK_FALSE(r.ok());
  CHECK(r.gaps == 1);
  REQUIRE_FALSE(r.problems.empty());
  CHECK_THAT(r.problems[0], Catch::Contains("3..3"));
}

TEST_CASE("a duplicate delivery is flagged") {
  auto v = clean_run();
  for (int s = 1; s <= 5; ++s) {
    v.on_delivery(2, 7, s);
    v.on_delivery(3, 7, s);
  }
  v.on_delivery(3, 7, 4);
  auto r = v.finish();
  CHECK(r.duplicates == 1);
  CHECK(r.reorders == 0);
  CHECK_FALSE(r.ok());
}

TEST_CASE("a reordering is flagged") {
  auto v = clean_run();
  for (int s : {1, 2, 4, 3, 5}) v.on_delivery(2, 7, s);
  for (int s = 1; s <= 5; ++s) v.on_delivery(3, 7, s);
  auto r = v.finish();
  CHECK(r.reorders == 1);
  CHECK(r.duplicates == 0);
  CHECK_FALSE(r.ok());
}

TEST_CASE("a lost delivery and a delivery nobody acked are flagged") {
  auto v = clean_run();
  for (int s = 1; s <= 5; ++s) v.on_delivery(2, 7, s);
  for (int s : {1, 2, 3, 5}) v.on_delivery(3, 7, s);
  v.on_delivery(2, 7, 9);
  auto r = v.finish();
  CHECK(r.missing == 1);
  CHECK(r.unexpected == 1);
  CHECK_FALSE(r.ok());
}

TEST_CASE("a run on a conversation with earlier messages starts at its first seq") {
  switchboard::load::delivery_verifier v;
  v.set_members(9, {1, 2}, 101);
  v.on_ack(9, 101, 1);
  v.on_ack(9, 102, 1);
  v.on_delivery(2, 9, 101);
  v.on_delivery(2, 9, 102);
  CHECK(v.finish().ok());
  v.on_ack(9, 50, 1);  // below the run's first seq: not this run's, a fault
  auto r = v.finish();
  CHECK(r.gaps == 1);
  CHECK_FALSE(r.ok());
}
