// Changes made through other nodes, applied to this node's live sessions. Every node reads, every
// `interval`, the users and policies changed lately (the database is the source of truth, so this
// needs no bus): a user suspended or removed anywhere is kicked here too (4403), a role or
// restriction change reaches the user's sessions (and the tokens this node verified are checked
// again), a raised min_client_version closes the older clients here (4426), and a deleted
// organization's sessions are kicked (org_deleted) and its cached tokens forgotten. Changes made
// through this node were applied at once already; applying them again does nothing.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>

#include "server/base/periodic_job.hpp"
#include "server/core/services.hpp"

namespace switchboard::server {

class change_watch {
 public:
  static constexpr auto interval = std::chrono::seconds(2);
  // Rows are read again for this long after their updated_at: a transaction commits after its
  // now(), so a change can surface with a timestamp older than the last one seen.
  static constexpr std::int64_t overlap_ms = 10000;

  // One tick at a time, on the job's strand (the tick and the storage job's answer never overlap).
  change_watch(boost::asio::io_context& ioc, services& ctx)
      : job_(std::make_shared<periodic_job>(ioc, interval,
                                            [this](periodic_job::done_fn d) { tick(std::move(d)); })),
        ctx_(ctx) {}
  void start() { job_->start(interval); }
  // Thread-safe: read now (another node announced a change over the cluster bus).
  void run_soon() { job_->run_soon(); }
  // Thread-safe.
  void stop() { job_->stop(); }

 private:
  void tick(periodic_job::done_fn done);
  std::shared_ptr<periodic_job> job_;
  services& ctx_;
  std::int64_t since_ms_ = 0;  // 0: from now (set on the first tick)
};

}  // namespace switchboard::server
