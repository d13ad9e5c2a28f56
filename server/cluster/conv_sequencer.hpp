// Keeps each session's `message` events of one conversation in seq order when they come from
// several nodes. Two nodes writing into one conversation publish seq 5 and 6 independently, and
// the bus orders only per publisher, so 6 may arrive first. Per (user, conversation) on this node:
// the next seq in line is delivered at once; a later one waits for the gap to close, and when it
// has not closed after a short wait, the node reads the missing messages from PostgreSQL. A seq at
// or below the last delivered is a duplicate and is dropped.
//
// The first message of a (user, conversation) seen on this node has no known predecessor, and
// earlier ones may still be on their way from other nodes (under load, for longer than any wait one
// would choose). So it is held and its predecessors are read from PostgreSQL at once: those
// committed since the user's session here began are delivered before it (seq 1 needs no read).
// After that the line is known, and the rule above applies.
//
// I/O-free and not thread-safe (its owner locks): fed arrivals, timer expiries and fills, it answers
// what to deliver and what to do next, so tests drive it without sockets or clocks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "server/core/client_session.hpp"

namespace switchboard::server::cluster {

struct sequenced {
  std::int64_t seq = 0;
  frame_ptr frame;
  std::shared_ptr<client_session> except;  // the sending session, which gets no copy
};

class conv_sequencer {
 public:
  // The bound on held messages per (user, conversation): past it the gap is filled at once.
  static constexpr std::size_t max_held = 256;

  struct step {
    std::vector<sequenced> deliver;  // in this order, to the user's sessions
    bool arm_timer = false;          // start the gap timer of this (user, conversation)
    // Read the conversation's messages after `fill->first` and before `fill->second` from the
    // database, then call filled(); nothing else for this key is delivered until then. With
    // `first_sight`, there is no known start: read those before `fill->second` that are younger
    // than the user's session here.
    std::optional<std::pair<std::int64_t, std::int64_t>> fill;
    bool first_sight = false;
    std::uint64_t line = 0;  // hand it back to filled(): a fill for a line since forgotten is dropped
  };

  step offer(std::int64_t user, std::int64_t conv, sequenced m);
  // The gap timer of (user, conv) ran out.
  step expired(std::int64_t user, std::int64_t conv);
  // The fill came back: the messages read (any order; those already delivered are skipped). Every
  // seq before the fill's end is then settled: what the database did not have will not come (the
  // database is the truth). Held messages past it follow the usual rule (a gap there waits again).
  step filled(std::int64_t user, std::int64_t conv, std::uint64_t line, std::vector<sequenced> read);
  // The user has no session left on this node.
  void forget_user(std::int64_t user);
  // Start over (the bus was lost: sessions are told to resync).
  void clear() { users_.clear(); }
  std::size_t keys() const;

 private:
  struct state {
    std::int64_t last = 0;         // the last seq delivered; 0 with !known: none yet
    bool known = false;            // `last` is a real baseline
    bool timer = false;            // a gap timer is armed
    bool filling = false;          // a fill is in flight
    std::int64_t fill_before = 0;  // ... of the seqs before this one
    std::map<std::int64_t, sequenced> held;
    std::uint64_t line = 0;  // which line this is (a key forgotten and seen again is a new one)
  };
  state& at(std::int64_t user, std::int64_t conv);
  state* find(std::int64_t user, std::int64_t conv);  // nullptr when forgotten
  static void drain(state& st, step& out);
  std::unordered_map<std::int64_t, std::unordered_map<std::int64_t, state>> users_;
  std::uint64_t next_line_ = 1;
};

}  // namespace switchboard::server::cluster
