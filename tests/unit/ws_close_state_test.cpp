// The WebSocket close, fed events without a socket (server/net/ws_close_state).
#include <catch2/catch.hpp>

#include "server/net/ws_close_state.hpp"

using switchboard::server::ws_close_state;

TEST_CASE("a decided close: the handler is told once, the frame waits for the queue, then the peer") {
  ws_close_state s;
  CHECK_FALSE(s.closing());
  CHECK_FALSE(s.frame_due(false, true));  // nothing decided: no close frame
  REQUIRE(s.decide(4429, "slow consumer"));
  CHECK(s.tell_handler());                              // at the decision: the session is offline from here
  CHECK(s.closing());                                   // nothing more is queued or handed to the handler
  CHECK_FALSE(s.decide(1001, "server shutting down"));  // the first decision stands
  CHECK(s.code() == 4429);
  CHECK(s.reason() == "slow consumer");
  CHECK_FALSE(s.frame_due(true, true));    // a write is in flight
  CHECK_FALSE(s.frame_due(false, false));  // frames already queued go first
  REQUIRE(s.frame_due(false, true));
  s.frame_sent();
  CHECK_FALSE(s.frame_due(false, true));  // sent once
  CHECK_FALSE(s.teardown_after_frame());  // the peer has not closed yet: wait for it (or the deadline)
  s.read_ended();
  CHECK(s.teardown_after_frame());
  CHECK(s.tear_down());
  CHECK_FALSE(s.tear_down());  // once
  CHECK_FALSE(s.tell_handler());
}

TEST_CASE("a peer that goes first: torn down without a close frame, the handler told once") {
  ws_close_state s;
  s.read_ended();
  CHECK(s.tell_handler());
  CHECK(s.tear_down());
  CHECK(s.closing());
  CHECK_FALSE(s.decide(1000, "late"));  // too late to decide anything
  CHECK_FALSE(s.frame_due(false, true));
  CHECK_FALSE(s.tell_handler());
}

TEST_CASE("the deadline passes before the close frame could go: torn down, the frame never sent") {
  ws_close_state s;
  REQUIRE(s.decide(4429, "slow consumer"));
  CHECK(s.tell_handler());
  CHECK(s.tear_down());  // the close deadline: the peer never read
  CHECK_FALSE(s.frame_due(false, true));
  CHECK_FALSE(s.frame_was_sent());
}
