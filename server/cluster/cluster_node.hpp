// This node as one of a cluster (cluster.nats_url set): the fan-out and the cluster link over NATS.
// Every event goes to this node's own sessions directly and to the bus for the others (published
// after its commit, serialized once for every subject). Subjects, under cluster.subject_prefix P:
//
//   P.u.<user>   events for a user's sessions: a node subscribes while it holds a session of the user
//   P.o.<org>    events for a whole organization: while it holds a session in the organization
//   P.p.<user>   the user's presence changes: while a session here subscribed to that user
//   P.x          admin changes, tokens of shared limits per organization-wide key, resync requests:
//                every node
//
// The bus may drop or lose events (a node cut off, a slow consumer); the database never does. When
// this node may have missed events it sends `resync` to its sessions; when events it published may
// not have reached the others, it asks every node to do the same.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "server/cluster/bus_message.hpp"
#include "server/cluster/cluster_presence.hpp"
#include "server/cluster/nats_bus.hpp"
#include "server/cluster/ordered_delivery.hpp"
#include "server/core/cluster_link.hpp"
#include "server/core/services.hpp"

namespace switchboard::server::cluster {

// The limiters a shared_limit names, for tokens taken on other nodes.
struct shared_limiters {
  keyed_rate_limiter* by_limit[static_cast<std::size_t>(shared_limit::count)] = {};
};

class cluster_node final : public fanout, public cluster_link {
 public:
  // `ctx` is only stored here: it may be built after this object.
  cluster_node(boost::asio::io_context& ioc, services& ctx, const config::settings& cfg,
               std::shared_ptr<spdlog::logger> log, server::metrics& stats, shared_limiters limits);
  ~cluster_node() override;

  // Connects to the bus (retrying in the background) and starts the heartbeat. `on_changes` runs
  // when another node announces admin changes (the change watch reads them at once).
  bool start(std::function<void()> on_changes);
  // Shutdown: the heartbeat stops; after the sessions closed, leave() removes this node's rows
  // (blocking, bounded) and the bus is flushed and closed.
  void stop();
  void leave();

  // fanout
  void to_users(const std::vector<std::int64_t>& users, const frame_ptr& frame,
                const client_session* except = nullptr) override;
  void message_to_users(std::int64_t org, const std::vector<std::int64_t>& users, std::int64_t conv,
                        std::int64_t seq, const frame_ptr& frame,
                        std::shared_ptr<client_session> except) override;
  void to_org(std::int64_t org, const frame_ptr& frame) override;
  void kick(std::int64_t user, const session_match& m, const std::string& reason,
            std::uint16_t code) override;
  void to_session(std::int64_t user, const std::string& session_id, const frame_ptr& frame) override;

  // cluster_link
  void user_arrived(std::int64_t org, std::int64_t user, std::function<void()> recorded) override;
  void user_left(std::int64_t org, std::int64_t user, std::int64_t at_ms) override;
  void presence_of(std::vector<std::int64_t> users, boost::asio::any_io_executor ex,
                   std::function<void(presence_map)> done) override;
  void watching(std::int64_t user, bool on) override;
  void changes_committed() override;
  void took(shared_limit which, const std::string& key) override;
  void members_changed(std::int64_t conv) override;
  const std::string& node_id() const override { return node_id_; }

 private:
  std::string user_subject(std::int64_t user) const;
  std::string org_subject(std::int64_t org) const;
  std::string presence_subject(std::int64_t user) const;
  void publish_each(const std::vector<std::int64_t>& users, const std::string& payload);
  void publish(const std::string& subject, const std::string& payload);
  void sync_subscriptions(std::int64_t org, std::int64_t user);
  void received(std::string_view subject, std::string_view data);
  void received_for_user(std::int64_t user, const bus_message& m);
  void announce(const storage::presence_change& ch);
  void resync_sessions(const char* why);
  void bus_lost();
  void bus_restored();

  services& ctx_;
  std::shared_ptr<spdlog::logger> log_;
  server::metrics& stats_;
  const std::string node_id_, prefix_;
  shared_limiters limits_;
  std::function<void()> on_changes_;
  ordered_delivery ordered_;
  cluster_presence presence_;
  nats_bus bus_;
  std::mutex subs_mu_;  // which users and organizations this node subscribed to
  std::unordered_map<std::int64_t, std::int64_t> user_subs_;  // user -> org
  std::unordered_map<std::int64_t, int> org_users_;           // org -> users subscribed in it
  // The bus was lost since the last resync (at start: not connected yet, so sessions that connect
  // before it is may miss events).
  std::atomic<bool> lost_{true};
  std::atomic<bool> publish_failed_{false};  // a publish failed since the last resync
  std::mutex resync_mu_;
  std::chrono::steady_clock::time_point last_resync_{};
};

}  // namespace switchboard::server::cluster
