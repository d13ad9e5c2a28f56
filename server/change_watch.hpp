// Changes made through other nodes, applied to this node's live sessions. Every node reads, every
// `interval`, the users and policies changed lately (the database is the source of truth, so this
// needs no bus): a user suspended or removed anywhere is kicked here too (4403), a role or
// restriction change reaches the user's sessions (and the tokens this node verified are checked
// again), and a raised min_client_version closes the older clients here (4426). Changes made
// through this node were applied at once already; applying them again does nothing.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>

#include "server/app_context.hpp"

namespace switchboard::server {

class change_watch {
 public:
  static constexpr auto interval = std::chrono::seconds(2);
  // Rows are read again for this long after their updated_at: a transaction commits after its
  // now(), so a change can surface with a timestamp older than the last one seen.
  static constexpr std::int64_t overlap_ms = 10000;

  // The timer runs on a strand: the tick and the storage job's answer never run at once.
  change_watch(boost::asio::io_context& ioc, app_context& ctx)
      : timer_(boost::asio::make_strand(ioc)), ctx_(ctx) {}
  void start();
  // Thread-safe.
  void stop() {
    stopped_ = true;
    boost::asio::post(timer_.get_executor(), [this] { timer_.cancel(); });
  }

 private:
  void tick();
  boost::asio::steady_timer timer_;
  app_context& ctx_;
  std::int64_t since_ms_ = 0;  // 0: from now (set on the first tick)
  std::atomic<bool> stopped_{false};
  bool busy_ = false;
};

}  // namespace switchboard::server
