// Presence over the cluster, kept in PostgreSQL (storage/cluster_store): which node holds live
// sessions of which user, this node's heartbeat, and the sweep of dead nodes. A user's first or
// last session on this node marks the user dirty; one batch at a time writes the dirty users' rows
// (group commit) and hands back the changes to announce (online for the first node, offline with
// last_seen for the last). Every node sweeps: a dead node's users go offline within
// cluster.node_timeout_ms plus one heartbeat, whichever node is left to notice.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "server/base/periodic_job.hpp"
#include "server/core/cluster_link.hpp"
#include "server/core/services.hpp"
#include "storage/cluster_store.hpp"

namespace switchboard::server::cluster {

class cluster_presence {
 public:
  using announce_fn = std::function<void(const storage::presence_change&)>;
  // `ctx` is only stored here: it may be built after this object.
  cluster_presence(boost::asio::io_context& ioc, services& ctx, std::chrono::milliseconds heartbeat,
                   std::string node_id, std::string address, announce_fn announce);
  // Starts the heartbeat (the first registers the node).
  void start();
  // The user's first session here opened or last one closed (the registry says which); `written`
  // runs once the batch with it is committed (or failed). Thread-safe.
  void changed(std::int64_t org, std::int64_t user, std::function<void()> written = nullptr);
  void lookup(std::vector<std::int64_t> users, boost::asio::any_io_executor ex,
              std::function<void(presence_map)> done);
  // Stops the heartbeat; then leave() (blocking, bounded) removes the node and its users' rows.
  void stop();
  void leave();

 private:
  void flush();
  void tick(periodic_job::done_fn done);
  std::vector<storage::local_presence> all_local(std::int64_t now_ms) const;

  services& ctx_;
  const std::string node_, address_;
  announce_fn announce_;
  std::shared_ptr<periodic_job> job_;
  std::mutex mu_;
  std::unordered_map<std::int64_t, std::int64_t> dirty_;  // user -> org
  std::vector<std::function<void()>> waiting_;            // written callbacks of dirty_'s users
  bool flushing_ = false;
};

}  // namespace switchboard::server::cluster
