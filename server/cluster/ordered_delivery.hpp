// Delivers `message` events to this node's sessions in seq order per conversation, whichever node
// they come from: conv_sequencer decides, this runs its timers and reads gaps from PostgreSQL.
// Thread-safe: offers come from the writer threads (this node's sends) and the bus thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

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
  void forget_user(std::int64_t user);
  // Forget every line: after a resync, each starts anew.
  void clear();
  std::size_t keys() const;

 private:
  using key = std::pair<std::int64_t, std::int64_t>;  // user, conv
  void run(std::int64_t org, std::int64_t user, std::int64_t conv, conv_sequencer::step st);
  void arm(std::int64_t org, std::int64_t user, std::int64_t conv);
  void fill(std::int64_t org, std::int64_t user, std::int64_t conv, std::int64_t after, std::int64_t before);
  void deliver(std::int64_t user, std::vector<sequenced>& items);

  boost::asio::io_context& ioc_;
  services& ctx_;
  const std::chrono::milliseconds gap_wait_;
  mutable std::mutex mu_;
  conv_sequencer seq_;
  std::map<key, std::shared_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace switchboard::server::cluster
