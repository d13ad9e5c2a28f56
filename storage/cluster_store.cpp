// The cluster's shared truth: nodes, live users, last seen.
#include "storage/cluster_store.hpp"

#include <algorithm>
#include <map>
#include <pqxx/pqxx>

#include "storage/sql_util.hpp"

namespace switchboard::storage {

namespace {

// "Alive": a node whose heartbeat is younger than the timeout ($n, in ms), by the database's clock.
#define SB_ALIVE(param) "n.heartbeat_at > now() - " param " * interval '1 millisecond'"

// Serializes presence decisions per user between nodes (advisory locks, taken in id order so two
// batches never wait on each other in a cycle). The class key keeps them apart from other locks.
void lock_users(pqxx::work& w, std::vector<std::int64_t> users) {
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  if (!users.empty()) w.exec_prepared("cluster_lock_users", bigint_array(users));
}

// The users among `rows` (org, user) whom no live node holds any more: last seen at `at_ms`.
std::vector<presence_change> went_offline(pqxx::work& w,
                                          const std::vector<std::pair<std::int64_t, std::int64_t>>& rows,
                                          const std::vector<std::int64_t>& at_ms, std::int64_t timeout_ms) {
  std::vector<presence_change> out;
  if (rows.empty()) return out;
  std::vector<std::int64_t> orgs, users;
  for (const auto& [o, u] : rows) {
    orgs.push_back(o);
    users.push_back(u);
  }
  for (const auto& r : w.exec_prepared("cluster_offline", bigint_array(orgs), bigint_array(users),
                                       bigint_array(at_ms), timeout_ms))
    out.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), false, r[2].as<std::int64_t>()});
  return out;
}

}  // namespace

void cluster_store::prepare(pqxx::connection& c) {
  c.prepare("cluster_register",
            "INSERT INTO cluster_nodes (node_id, address) VALUES ($1, $2) "
            "ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now()");
  c.prepare("cluster_heartbeat", "UPDATE cluster_nodes SET heartbeat_at = now() WHERE node_id = $1");
  c.prepare("cluster_lock_users",
            "SELECT pg_advisory_xact_lock(21314, (u % 2147483647)::int) "
            "FROM (SELECT u FROM unnest($1::bigint[]) AS t(u) ORDER BY u) AS s");
  c.prepare("cluster_insert_live",
            "INSERT INTO live_users (user_id, node_id, org_id) "
            "SELECT t.u, $1, t.o FROM unnest($2::bigint[], $3::bigint[]) AS t(u, o) "
            "WHERE EXISTS (SELECT 1 FROM users WHERE users.org_id = t.o AND users.id = t.u) "
            "ON CONFLICT DO NOTHING");
  c.prepare("cluster_delete_live",
            "DELETE FROM live_users WHERE node_id = $1 AND user_id = ANY($2::bigint[])");
  // Of the users that just came online here, those no other live node holds.
  c.prepare("cluster_first_online",
            "SELECT t.o, t.u FROM unnest($2::bigint[], $3::bigint[]) AS t(u, o) "
            "WHERE NOT EXISTS (SELECT 1 FROM live_users l JOIN cluster_nodes n USING (node_id) "
            "  WHERE l.user_id = t.u AND l.node_id <> $1 AND " SB_ALIVE("$4") ")");
  c.prepare("cluster_offline",
            "INSERT INTO last_seen (org_id, user_id, seen_ms) "
            "SELECT t.o, t.u, t.at FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t(o, u, at) "
            "WHERE NOT EXISTS (SELECT 1 FROM live_users l JOIN cluster_nodes n USING (node_id) "
            "  WHERE l.user_id = t.u AND " SB_ALIVE("$4") ") "
            "AND EXISTS (SELECT 1 FROM users WHERE users.org_id = t.o AND users.id = t.u) "
            "ON CONFLICT (user_id) DO UPDATE SET seen_ms = GREATEST(last_seen.seen_ms, EXCLUDED.seen_ms) "
            "RETURNING org_id, user_id, seen_ms");
  c.prepare(
      "cluster_sweep",
      "WITH dead AS (DELETE FROM cluster_nodes WHERE heartbeat_at < now() - $1 * interval '1 millisecond' "
      "  RETURNING node_id) "
      "DELETE FROM live_users WHERE node_id IN (SELECT node_id FROM dead) RETURNING org_id, user_id");
  c.prepare("cluster_remove_live", "DELETE FROM live_users WHERE node_id = $1 RETURNING org_id, user_id");
  c.prepare("cluster_remove_node", "DELETE FROM cluster_nodes WHERE node_id = $1");
  c.prepare("cluster_lookup",
            "SELECT t.u, EXISTS (SELECT 1 FROM live_users l JOIN cluster_nodes n USING (node_id) "
            "  WHERE l.user_id = t.u AND " SB_ALIVE("$2") "), ls.seen_ms "
            "FROM unnest($1::bigint[]) AS t(u) LEFT JOIN last_seen ls ON ls.user_id = t.u");
  c.prepare("cluster_now_ms", "SELECT (extract(epoch FROM now()) * 1000)::bigint");
}

void cluster_store::register_node(pqxx::connection& c, const std::string& node, const std::string& address) {
  pqxx::work w(c);
  w.exec_prepared("cluster_register", node, address);
  w.commit();
}

bool cluster_store::heartbeat(pqxx::connection& c, const std::string& node) {
  pqxx::work w(c);
  auto r = w.exec_prepared("cluster_heartbeat", node);
  w.commit();
  return r.affected_rows() == 1;
}

std::vector<presence_change> cluster_store::apply(pqxx::connection& c, const std::string& node,
                                                  const std::vector<local_presence>& changes,
                                                  std::int64_t timeout_ms) {
  std::map<std::int64_t, local_presence> latest;  // a user's latest change in the batch wins
  for (const auto& ch : changes) latest[ch.user] = ch;
  std::vector<std::int64_t> on_users, on_orgs, off_users, all;
  std::vector<std::pair<std::int64_t, std::int64_t>> off_rows;
  std::vector<std::int64_t> off_at;
  for (const auto& [u, ch] : latest) {
    all.push_back(u);
    if (ch.online) {
      on_users.push_back(u);
      on_orgs.push_back(ch.org);
    } else {
      off_users.push_back(u);
      off_rows.emplace_back(ch.org, u);
      off_at.push_back(ch.at_ms);
    }
  }
  pqxx::work w(c);
  lock_users(w, all);
  std::vector<presence_change> out;
  if (!on_users.empty()) {
    w.exec_prepared("cluster_insert_live", node, bigint_array(on_users), bigint_array(on_orgs));
    for (const auto& r : w.exec_prepared("cluster_first_online", node, bigint_array(on_users),
                                         bigint_array(on_orgs), timeout_ms))
      out.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), true, std::nullopt});
  }
  if (!off_users.empty()) {
    w.exec_prepared("cluster_delete_live", node, bigint_array(off_users));
    auto gone = went_offline(w, off_rows, off_at, timeout_ms);
    out.insert(out.end(), gone.begin(), gone.end());
  }
  w.commit();
  return out;
}

namespace {
std::vector<presence_change> offline_after_delete(pqxx::work& w, const pqxx::result& rows,
                                                  std::int64_t timeout_ms) {
  std::vector<std::pair<std::int64_t, std::int64_t>> users;
  for (const auto& r : rows) users.emplace_back(r[0].as<std::int64_t>(), r[1].as<std::int64_t>());
  if (users.empty()) return {};
  std::vector<std::int64_t> ids;
  for (const auto& [o, u] : users) ids.push_back(u);
  lock_users(w, ids);
  auto now = w.exec_prepared1("cluster_now_ms")[0].as<std::int64_t>();
  return went_offline(w, users, std::vector<std::int64_t>(users.size(), now), timeout_ms);
}
}  // namespace

std::vector<presence_change> cluster_store::sweep(pqxx::connection& c, std::int64_t timeout_ms) {
  pqxx::work w(c);
  auto out = offline_after_delete(w, w.exec_prepared("cluster_sweep", timeout_ms), timeout_ms);
  w.commit();
  return out;
}

std::vector<presence_change> cluster_store::remove_node(pqxx::connection& c, const std::string& node,
                                                        std::int64_t timeout_ms) {
  pqxx::work w(c);
  w.exec_prepared("cluster_remove_node", node);
  // Its users are gone from the live nodes with it: those held nowhere else are offline now.
  auto out = offline_after_delete(w, w.exec_prepared("cluster_remove_live", node), timeout_ms);
  w.commit();
  return out;
}

std::unordered_map<std::int64_t, presence_state> cluster_store::lookup(pqxx::connection& c,
                                                                       const std::vector<std::int64_t>& users,
                                                                       std::int64_t timeout_ms) {
  std::unordered_map<std::int64_t, presence_state> out;
  pqxx::nontransaction n(c);
  for (const auto& r : n.exec_prepared("cluster_lookup", bigint_array(users), timeout_ms)) {
    presence_state s;
    s.online = r[1].as<bool>();
    if (!s.online && !r[2].is_null()) s.last_seen_ms = r[2].as<std::int64_t>();
    out[r[0].as<std::int64_t>()] = s;
  }
  return out;
}

}  // namespace switchboard::storage
