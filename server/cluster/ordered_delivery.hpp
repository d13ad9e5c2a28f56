// Delivers `message` events to this node's sessions in seq order per conversation, whichever node
// they come from: conv_sequencer decides, this runs its timers and reads from PostgreSQL. Thread-safe:
// offers come from the writer threads (this node's sends), the bus thread, timers and fills. The
// lines are sharded by user; a shard's lock is held while its frames are handed to the sessions,
// so two threads never hand one session a line's messages out of order.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "server/cluster/conv_sequencer.hpp"
#include "server/core/services.hpp"

namespace switchboard::server::cluster {

class ordered_delivery {
 public:
  // `ctx` is only stored here: it may be built after this object.
  ordered_delivery(boost::asio::io_context& ioc, services& ctx, std::chrono::milliseconds gap_wait)
      : ioc_(ioc), ctx_(ctx), gap_wait_(gap_wait) {}

  // A message event for `user`'s sessions on this node (`except` gets none).
  void offer(std::int64_t org, std::int64_t user, std::int64_t conv, sequenced m);
  // The user's first session on this node began now: its lines start from here.
  void user_arrived(std::int64_t user);
  void forget_user(std::int64_t user);
  // Forget every line: after a resync, each starts anew.
  void clear();

 private:
  using key = std::pair<std::int64_t, std::int64_t>;  // user, conv
  struct shard {
    mutable std::mutex mu;
    conv_sequencer seq;
    std::map<key, std::shared_ptr<boost::asio::steady_timer>> timers;
    std::unordered_map<std::int64_t, std::int64_t> started_ms;  // user -> when its session began here
  };
  static constexpr std::size_t shard_count = 16;
  shard& shard_of(std::int64_t user) { return shards_[static_cast<std::uint64_t>(user) % shard_count]; }
  // With the shard locked: hands `st.deliver` to the sessions; returns what to do next.
  void deliver_locked(std::int64_t user, conv_sequencer::step& st);
  void follow_up(std::int64_t org, std::int64_t user, std::int64_t conv, const conv_sequencer::step& st);
  void arm(std::int64_t org, std::int64_t user, std::int64_t conv);
  void fill(std::int64_t org, std::int64_t user, std::int64_t conv, const conv_sequencer::step& st);
  void filled(std::int64_t org, std::int64_t user, std::int64_t conv, std::uint64_t line,
              std::vector<sequenced> read, bool resync);

  boost::asio::io_context& ioc_;
  services& ctx_;
  const std::chrono::milliseconds gap_wait_;
  std::array<shard, shard_count> shards_;
  std::atomic<std::int64_t> cleared_ms_{0};  // the last clear(): no line starts before it
};

}  // namespace switchboard::server::cluster
