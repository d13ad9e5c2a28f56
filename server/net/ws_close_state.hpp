// The close of one WebSocket, without I/O: ws_connection tells it what happened (a close decided,
// a write finished, the read loop ended, the deadline passed) and it says what to do next. Unit-
// tested by feeding it those events (tests/unit/ws_close_state_test.cpp).
//
//   open --decide--> closing: the handler is told at once (the session is offline from here);
//                    the close frame goes after the frames already queued, when no write is in
//                    flight --frame_sent--> frame sent --read ended / deadline--> torn down
//   open --read ended (peer closed, broke)--> torn down
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace switchboard::server {

class ws_close_state {
 public:
  // A close decided on our side (kick, flood, slow consumer, bad hello, shutdown). True for the
  // first decision only: then the handler is told and the deadline armed; later ones change nothing.
  bool decide(std::uint16_t code, std::string reason);
  // Nothing more may be queued or handed to the handler: a close is decided or under way.
  bool closing() const { return decided_ || frame_sent_ || torn_down_; }
  // The close frame should go now: a close is decided, not sent, no write is in flight and the
  // queue is drained.
  bool frame_due(bool writing, bool queue_empty) const {
    return decided_ && !frame_sent_ && !torn_down_ && !writing && queue_empty;
  }
  void frame_sent() { frame_sent_ = true; }
  bool frame_was_sent() const { return frame_sent_; }
  // The read loop ended (the peer's close, a broken socket): the connection is finished with.
  void read_ended() { read_ended_ = true; }
  bool has_read_ended() const { return read_ended_; }
  // Once the close frame is written: tear down now when the peer is already gone.
  bool teardown_after_frame() const { return read_ended_; }
  // The handler is told of the close once, whichever comes first: a decision, a teardown, the end.
  // True the first time.
  bool tell_handler() {
    if (told_) return false;
    told_ = true;
    return true;
  }
  // Teardown (the deadline passed, a write failed, the peer went): true the first time.
  bool tear_down() {
    if (torn_down_) return false;
    torn_down_ = true;
    return true;
  }
  std::uint16_t code() const { return code_; }
  const std::string& reason() const { return reason_; }

 private:
  bool decided_ = false;
  bool frame_sent_ = false;
  bool read_ended_ = false;
  bool told_ = false;
  bool torn_down_ = false;
  std::uint16_t code_ = 0;
  std::string reason_;
};

inline bool ws_close_state::decide(std::uint16_t code, std::string reason) {
  if (closing()) return false;
  decided_ = true;
  code_ = code;
  reason_ = std::move(reason);
  return true;
}

}  // namespace switchboard::server
