// What a node shares with the other nodes of a cluster besides events: where its users are live
// (presence), admin changes, and limits that count over the cluster. On a single node, local_link
// keeps all of it in this process; server/cluster/ implements it over NATS and PostgreSQL.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/core/presence_tracker.hpp"

namespace switchboard::server {

// The limits per key that count over the whole cluster (docs/cluster.md): a token taken on one node
// is taken on every node that limits the same key.
enum class shared_limit { sends, failed_logins, app_minute, app_day, reports, count };

using presence_map = std::unordered_map<std::int64_t, presence_tracker::state>;

class cluster_link {
 public:
  virtual ~cluster_link() = default;
  // A user's first live session on this node opened, or the last one closed (at `at_ms`). Called
  // outside the registry's lock, so two calls for one user may come in either order: an
  // implementation reads the registry for the truth. `recorded` runs (on any thread) once every
  // node counts the user as online here, or the attempt failed (it is retried meanwhile).
  virtual void user_arrived(std::int64_t org, std::int64_t user, std::function<void()> recorded) = 0;
  virtual void user_left(std::int64_t org, std::int64_t user, std::int64_t at_ms) = 0;
  // Presence of `users` over the service; `done` runs on `ex`.
  virtual void presence_of(std::vector<std::int64_t> users, boost::asio::any_io_executor ex,
                           std::function<void(presence_map)> done) = 0;
  // This node's first presence subscriber to `user` came (on) or its last one went.
  virtual void watching(std::int64_t user, bool on) = 0;
  // Users or policies changed (suspension, removal, role, restrictions, minimum client version):
  // every node applies them now rather than at its next poll of the database.
  virtual void changes_committed() = 0;
  // A token of a shared limit was taken here, for `key`.
  virtual void took(shared_limit which, const std::string& key) = 0;
  // A conversation's members changed (committed): other nodes drop what they cached of them.
  virtual void members_changed(std::int64_t conv) = 0;
  // This process's id, fresh at every start. In a cluster, a node is alive while cluster_nodes
  // has its row; a single node's calls from an earlier process are the dead node's.
  virtual const std::string& node_id() const = 0;
};

// One node: presence in this process, nothing to tell anyone.
class local_link final : public cluster_link {
 public:
  explicit local_link(presence_tracker& presence);
  void user_arrived(std::int64_t, std::int64_t user, std::function<void()> recorded) override {
    presence_.came_online(user);
    recorded();
  }
  void user_left(std::int64_t, std::int64_t user, std::int64_t at_ms) override {
    presence_.went_offline(user, at_ms);
  }
  void presence_of(std::vector<std::int64_t> users, boost::asio::any_io_executor ex,
                   std::function<void(presence_map)> done) override;
  void watching(std::int64_t, bool) override {}
  void changes_committed() override {}
  void took(shared_limit, const std::string&) override {}
  void members_changed(std::int64_t) override {}
  const std::string& node_id() const override { return id_; }

 private:
  presence_tracker& presence_;
  const std::string id_;
};

}  // namespace switchboard::server
