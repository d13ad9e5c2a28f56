// The cluster's shared truth in PostgreSQL (migrations/0009_cluster.sql): which nodes are alive,
// which users have live sessions on which node, and when each user was last seen. Presence events
// travel over the bus; what they announce is decided here, under a lock per user, so two nodes
// never both announce the same change and a dead node's users go offline exactly once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <pqxx/connection>

namespace switchboard::storage {

// A user whose presence changed over the whole cluster.
struct presence_change {
  std::int64_t org = 0;
  std::int64_t user = 0;
  bool online = false;
  std::optional<std::int64_t> last_seen_ms;  // set when offline
};

// A user's first session on a node opened (online) or its last one there closed.
struct local_presence {
  std::int64_t org = 0;
  std::int64_t user = 0;
  bool online = false;
  std::int64_t at_ms = 0;  // when it happened (the node's clock): last_seen when it was the last
};

struct presence_state {
  bool online = false;
  std::optional<std::int64_t> last_seen_ms;
};

class cluster_store {
 public:
  static void prepare(pqxx::connection& c);
  // Registers a node (a fresh id at every start) with a heartbeat of now.
  static void register_node(pqxx::connection& c, const std::string& node, const std::string& address);
  // Refreshes the node's heartbeat; false when the node was swept as dead meanwhile (it must
  // register again and apply its users anew).
  static bool heartbeat(pqxx::connection& c, const std::string& node);
  // Writes a batch of one node's presence changes (each user's latest only) and returns the changes
  // they make to the cluster's presence: online for a user no other live node holds, offline (with
  // last_seen) for a user whose last live node this was.
  static std::vector<presence_change> apply(pqxx::connection& c, const std::string& node,
                                            const std::vector<local_presence>& changes,
                                            std::int64_t timeout_ms);
  // Deletes the nodes silent for longer than `timeout_ms` and returns their users who are now offline
  // everywhere (last_seen: now). Several nodes may sweep at once; each dead node is swept once.
  static std::vector<presence_change> sweep(pqxx::connection& c, std::int64_t timeout_ms);
  // A node leaving cleanly: its rows go, and its users held by no other node are offline.
  static std::vector<presence_change> remove_node(pqxx::connection& c, const std::string& node,
                                                  std::int64_t timeout_ms);
  // Presence of `users` over the cluster.
  static std::unordered_map<std::int64_t, presence_state> lookup(pqxx::connection& c,
                                                                 const std::vector<std::int64_t>& users,
                                                                 std::int64_t timeout_ms);
};

}  // namespace switchboard::storage
