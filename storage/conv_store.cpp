// Conversations, membership, read cursors, message reads and recall.
#include "storage/conv_store.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <pqxx/pqxx>

#include "protocol/clock.hpp"
#include "storage/body_cipher.hpp"
#include "storage/sql_util.hpp"

namespace switchboard::storage {

using protocol::error;
using protocol::error_code;

namespace {

constexpr const char* conv_columns =
    "c.id, c.kind, c.name, c.owner_id, c.member_count, c.last_seq, coalesce(m.read_seq, 0), "
    "(extract(epoch FROM c.updated_at) * 1000)::bigint, c.first_seq";

protocol::conv read_conv(const pqxx::row& r) {
  protocol::conv c;
  c.id = r[0].as<std::int64_t>();
  c.kind = r[1].as<std::string>();
  c.name = r[2].as<std::string>();
  if (!r[3].is_null()) c.owner = r[3].as<std::int64_t>();
  c.member_count = r[4].as<int>();
  c.last_seq = r[5].as<std::int64_t>();
  c.read_seq = r[6].as<std::int64_t>();
  c.updated_at_ms = r[7].as<std::int64_t>();
  c.first_seq = r[8].as<std::int64_t>();
  return c;
}

}  // namespace

protocol::message read_message(const pqxx::row& r) {
  protocol::message m;
  m.conv = r[0].as<std::int64_t>();
  m.seq = r[1].as<std::int64_t>();
  m.msg_id = r[2].as<std::int64_t>();
  m.from = r[3].as<std::int64_t>();
  m.client_msg_id = r[4].as<std::string>();
  m.type = r[5].as<std::string>();
  m.body_json = body_cipher::open(std::string_view(r[6].c_str(), r[6].size()));
  m.ts = r[7].as<std::int64_t>();
  m.recalled = !r[8].is_null();
  return m;
}

namespace {

using protocol::now_ms;

std::string system_client_msg_id() {
  unsigned char raw[12];
  RAND_bytes(raw, sizeof raw);
  std::string s = "sys:";
  for (auto b : raw) s += "0123456789abcdef"[b >> 4], s += "0123456789abcdef"[b & 15];
  return s;
}

// A membership or name change's system message.
protocol::message append_system(pqxx::work& w, std::int64_t org, std::int64_t conv, std::int64_t actor,
                                const std::string& event, const std::vector<std::int64_t>& users,
                                const std::optional<std::string>& name) {
  boost::json::object body{{"event", event}, {"actor", protocol::id_string(actor)}};
  if (!users.empty()) {
    boost::json::array a;
    for (auto u : users) a.emplace_back(protocol::id_string(u));
    body["users"] = std::move(a);
  }
  if (name) body["name"] = *name;
  return conv_store::append_system_body(w, org, conv, actor, std::move(body));
}

// Fills out.members and out.read_seqs with the members after a change.
void collect_members(pqxx::work& w, std::int64_t org, std::int64_t conv, conv_change& out) {
  out.members.clear();
  for (const auto& r : w.exec_prepared("conv_member_reads", org, conv)) {
    auto u = r[0].as<std::int64_t>();
    out.members.push_back(u);
    out.read_seqs[u] = r[1].as<std::int64_t>();
  }
}

std::vector<std::int64_t> member_ids(pqxx::work& w, std::int64_t org, std::int64_t conv) {
  std::vector<std::int64_t> out;
  for (const auto& r : w.exec_prepared("conv_member_ids", org, conv)) out.push_back(r[0].as<std::int64_t>());
  return out;
}

// The caller's view of the conversation, or not_found / forbidden.
protocol::result<protocol::conv> conv_for(pqxx::transaction_base& t, std::int64_t org, std::int64_t conv,
                                          std::int64_t user) {
  auto r = t.exec_prepared("conv_for_member", org, conv, user);
  if (!r.empty()) return read_conv(r[0]);
  if (t.exec_prepared("conv_exists", org, conv).empty())
    return error{error_code::not_found, "conversation " + protocol::id_string(conv) + " not found"};
  return error{error_code::forbidden, "not a member of conversation " + protocol::id_string(conv)};
}

// Locks the conversation row and checks membership: not_found / forbidden / the conversation.
protocol::result<protocol::conv> lock_conv_for(pqxx::work& w, std::int64_t org, std::int64_t conv,
                                               std::int64_t user) {
  if (w.exec_prepared("conv_lock", org, conv).empty())
    return error{error_code::not_found, "conversation " + protocol::id_string(conv) + " not found"};
  return conv_for(w, org, conv, user);
}

void dedupe(std::vector<std::int64_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// All of `users` must be active users of the org: an unknown id anywhere is not_found.
std::optional<error> check_users(pqxx::work& w, std::int64_t org, const std::vector<std::int64_t>& users) {
  std::vector<std::int64_t> found;
  for (const auto& r : w.exec_prepared("users_existing_active", org, bigint_array(users)))
    found.push_back(r[0].as<std::int64_t>());
  for (auto u : users)
    if (std::find(found.begin(), found.end(), u) == found.end())
      return error{error_code::not_found, "user " + protocol::id_string(u) + " not found"};
  return std::nullopt;
}

}  // namespace

protocol::message conv_store::append_system_body(pqxx::work& w, std::int64_t org, std::int64_t conv,
                                                 std::int64_t actor, boost::json::object body) {
  protocol::message m;
  m.conv = conv;
  m.from = actor;
  m.type = "system";
  m.client_msg_id = system_client_msg_id();
  m.body_json = boost::json::serialize(body);
  m.ts = now_ms();
  m.seq = w.exec_prepared1("conv_bump_seq", org, conv)[0].as<std::int64_t>();
  m.msg_id = w.exec_prepared1("message_insert_system", org, conv, m.seq, actor, m.client_msg_id,
                              body_cipher::seal(m.body_json), m.ts)[0]
                 .as<std::int64_t>();
  return m;
}

void conv_store::prepare(pqxx::connection& c) {
  std::string cols = conv_columns;
  c.prepare("conv_for_member", "SELECT " + cols +
                                   " FROM conversations c JOIN conv_members m ON m.org_id = c.org_id AND "
                                   "m.conv_id = c.id AND m.user_id = $3 WHERE c.org_id = $1 AND c.id = $2");
  c.prepare("conv_view", "SELECT " + cols +
                             " FROM conversations c LEFT JOIN conv_members m ON m.org_id = c.org_id AND "
                             "m.conv_id = c.id AND m.user_id = $3 WHERE c.org_id = $1 AND c.id = $2");
  c.prepare("conv_exists", "SELECT kind FROM conversations WHERE org_id = $1 AND id = $2");
  c.prepare("conv_lock", "SELECT kind FROM conversations WHERE org_id = $1 AND id = $2 FOR UPDATE");
  c.prepare("conv_list",
            "SELECT " + cols +
                " FROM conv_members m JOIN conversations c ON c.org_id = m.org_id AND c.id = m.conv_id "
                "WHERE m.org_id = $1 AND m.user_id = $2 "
                "AND c.updated_at > to_timestamp($3::double precision / 1000) "
                "ORDER BY c.updated_at DESC, c.id DESC");
  c.prepare(
      "conv_direct_insert",
      "INSERT INTO conversations (org_id, kind, direct_key, member_count) VALUES ($1, 'direct', $2, $3) "
      "ON CONFLICT (org_id, direct_key) DO NOTHING RETURNING id");
  c.prepare("conv_direct_find", "SELECT id FROM conversations WHERE org_id = $1 AND direct_key = $2");
  c.prepare("conv_direct_find_many",
            "SELECT direct_key, id FROM conversations WHERE org_id = $1 AND direct_key = ANY($2::text[])");
  c.prepare("conv_group_insert",
            "INSERT INTO conversations (org_id, kind, name, owner_id, member_count) VALUES ($1, 'group', $2, "
            "$3, 0) "
            "RETURNING id");
  c.prepare("conv_member_insert",
            "INSERT INTO conv_members (org_id, conv_id, user_id, role, read_seq) "
            "SELECT $1, $2, u, CASE WHEN u = $4 THEN 'owner' ELSE 'member' END, "
            "(SELECT last_seq FROM conversations WHERE org_id = $1 AND id = $2) "
            "FROM unnest($3::bigint[]) AS u ON CONFLICT DO NOTHING RETURNING user_id");
  c.prepare("conv_member_delete",
            "DELETE FROM conv_members WHERE org_id = $1 AND conv_id = $2 AND user_id = ANY($3::bigint[]) "
            "RETURNING user_id, read_seq");
  c.prepare("conv_member_reads",
            "SELECT user_id, read_seq FROM conv_members WHERE org_id = $1 AND conv_id = $2 ORDER BY user_id");
  c.prepare(
      "conv_recount",
      "UPDATE conversations SET member_count = (SELECT count(*) FROM conv_members WHERE org_id = $1 AND "
      "conv_id = $2), updated_at = now() WHERE org_id = $1 AND id = $2");
  c.prepare("conv_member_ids",
            "SELECT user_id FROM conv_members WHERE org_id = $1 AND conv_id = $2 ORDER BY user_id");
  c.prepare("conv_members_full",
            "SELECT user_id, role, (extract(epoch FROM joined_at) * 1000)::bigint FROM conv_members "
            "WHERE org_id = $1 AND conv_id = $2 ORDER BY joined_at, user_id");
  c.prepare(
      "conv_bump_seq",
      "UPDATE conversations SET last_seq = last_seq + 1, updated_at = now() WHERE org_id = $1 AND id = $2 "
      "RETURNING last_seq");
  c.prepare("message_insert_system",
            "INSERT INTO messages (org_id, conv_id, seq, sender_id, client_msg_id, type, body, ts) "
            "VALUES ($1, $2, $3, $4, $5, 'system', $6, $7) RETURNING id");
  c.prepare("conv_rename",
            "UPDATE conversations SET name = $3, updated_at = now() WHERE org_id = $1 AND id = $2");
  c.prepare("conv_owner_set", "UPDATE conversations SET owner_id = $3 WHERE org_id = $1 AND id = $2");
  c.prepare("conv_owner_clear", "UPDATE conversations SET owner_id = NULL WHERE org_id = $1 AND id = $2");
  c.prepare("conv_member_role",
            "UPDATE conv_members SET role = 'owner' WHERE org_id = $1 AND conv_id = $2 AND user_id = $3");
  c.prepare("conv_oldest_member",
            "SELECT user_id FROM conv_members WHERE org_id = $1 AND conv_id = $2 ORDER BY joined_at, user_id "
            "LIMIT 1");
  // `read` in one statement: membership, the forward-only cursor move (clamped to last_seq),
  // and a direct conversation's members for the read event. The first CTE turns off
  // synchronous_commit for this statement's own transaction (set_config(..., true) is local to
  // it): a read cursor is acknowledged without waiting for a disk flush (docs/storage.md).
  c.prepare(
      "conv_read_one",
      "WITH cfg AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)), "
      "cv AS MATERIALIZED ("
      "  SELECT c.kind, c.last_seq, m.read_seq FROM cfg, conv_members m "
      "  JOIN conversations c ON c.org_id = m.org_id AND c.id = m.conv_id "
      "  WHERE m.org_id = $1 AND m.conv_id = $2 AND m.user_id = $3), "
      "up AS ("
      "  UPDATE conv_members m SET read_seq = LEAST($4, cv.last_seq) FROM cv "
      "  WHERE m.org_id = $1 AND m.conv_id = $2 AND m.user_id = $3 AND m.read_seq < LEAST($4, cv.last_seq) "
      "  RETURNING m.read_seq) "
      "SELECT cv.kind, cv.read_seq, (SELECT up.read_seq FROM up), "
      "  CASE WHEN cv.kind = 'direct' AND EXISTS (SELECT 1 FROM up) THEN "
      "    (SELECT array_agg(cm.user_id ORDER BY cm.user_id)::text FROM conv_members cm "
      "      WHERE cm.org_id = $1 AND cm.conv_id = $2) END "
      "FROM cv");
  c.prepare("message_get", std::string("SELECT ") + message_columns +
                               " FROM messages WHERE org_id = $1 AND conv_id = $2 AND seq = $3");
  c.prepare(
      "message_recall",
      "UPDATE messages SET recalled_at = $4, body = '{}' WHERE org_id = $1 AND conv_id = $2 AND seq = $3 "
      "AND recalled_at IS NULL");
  c.prepare("messages_after", std::string("SELECT ") + message_columns +
                                  " FROM messages WHERE org_id = $1 AND conv_id = $2 AND seq > $3 "
                                  "ORDER BY seq LIMIT $4");
  c.prepare("messages_between_since",
            std::string("SELECT ") + message_columns +
                " FROM messages WHERE org_id = $1 AND conv_id = $2 AND seq > $3 AND seq < $4 AND ts >= $5 "
                "ORDER BY seq");
  c.prepare("messages_before", std::string("SELECT ") + message_columns +
                                   " FROM messages WHERE org_id = $1 AND conv_id = $2 AND seq < $3 "
                                   "ORDER BY seq DESC LIMIT $4");
}

std::vector<protocol::conv> conv_store::list_for_user(pqxx::connection& c, std::int64_t org,
                                                      std::int64_t user,
                                                      std::optional<std::int64_t> updated_after_ms) {
  pqxx::nontransaction n(c);
  std::vector<protocol::conv> out;
  for (const auto& r : n.exec_prepared("conv_list", org, user, updated_after_ms.value_or(0)))
    out.push_back(read_conv(r));
  return out;
}

protocol::result<conv_change> conv_store::open_direct(pqxx::connection& c, std::int64_t org,
                                                      std::int64_t caller, std::int64_t other) {
  pqxx::work w(c);
  if (auto e = check_users(w, org, {other})) return *e;
  auto lo = std::min(caller, other), hi = std::max(caller, other);
  std::string key = protocol::id_string(lo) + ":" + protocol::id_string(hi);
  std::vector<std::int64_t> pair =
      lo == hi ? std::vector<std::int64_t>{lo} : std::vector<std::int64_t>{lo, hi};
  conv_change out;
  auto ins = w.exec_prepared("conv_direct_insert", org, key, static_cast<int>(pair.size()));
  std::int64_t id;
  if (!ins.empty()) {
    id = ins[0][0].as<std::int64_t>();
    w.exec_prepared("conv_member_insert", org, id, bigint_array(pair), std::int64_t{0});
    out.changed = true;
  } else {
    // Another call created it first (ON CONFLICT waited for that transaction to commit).
    id = w.exec_prepared1("conv_direct_find", org, key)[0].as<std::int64_t>();
    out.changed = false;
  }
  auto conv = conv_for(w, org, id, caller);
  if (!conv) return conv.err();
  out.conv = conv.value();
  out.members = pair;
  w.commit();
  return out;
}

std::map<std::int64_t, std::int64_t> conv_store::find_directs(pqxx::connection& c, std::int64_t org,
                                                              std::int64_t caller,
                                                              const std::vector<std::int64_t>& others) {
  std::vector<std::string> keys;
  std::map<std::string, std::int64_t> other_of;
  for (auto o : others) {
    auto key = protocol::id_string(std::min(caller, o)) + ":" + protocol::id_string(std::max(caller, o));
    other_of[key] = o;
    keys.push_back(std::move(key));
  }
  pqxx::nontransaction n(c);
  std::map<std::int64_t, std::int64_t> out;
  for (const auto& r : n.exec_prepared("conv_direct_find_many", org, text_array(keys)))
    out[other_of.at(r[0].as<std::string>())] = r[1].as<std::int64_t>();
  return out;
}

protocol::result<conv_change> conv_store::create_group(pqxx::connection& c, std::int64_t org,
                                                       std::int64_t owner, const std::string& name,
                                                       std::vector<std::int64_t> members, int max_members) {
  members.push_back(owner);
  dedupe(members);
  if (static_cast<int>(members.size()) > max_members)
    return error{error_code::too_large, "a group holds at most " + std::to_string(max_members) + " members"};
  pqxx::work w(c);
  if (auto e = check_users(w, org, members)) return *e;
  auto id = w.exec_prepared1("conv_group_insert", org, name, owner)[0].as<std::int64_t>();
  w.exec_prepared("conv_member_insert", org, id, bigint_array(members), owner);
  w.exec_prepared("conv_recount", org, id);
  conv_change out;
  out.conv = conv_for(w, org, id, owner).value();
  out.members = members;
  out.affected = members;
  w.commit();
  return out;
}

protocol::result<std::pair<protocol::conv, std::vector<protocol::conv_member>>> conv_store::info(
    pqxx::connection& c, std::int64_t org, std::int64_t conv, std::int64_t caller) {
  pqxx::read_transaction t(c);
  auto cv = conv_for(t, org, conv, caller);
  if (!cv) return cv.err();
  std::vector<protocol::conv_member> members;
  for (const auto& r : t.exec_prepared("conv_members_full", org, conv))
    members.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::int64_t>()});
  return std::make_pair(cv.value(), std::move(members));
}

protocol::result<conv_change> conv_store::add_members(pqxx::connection& c, std::int64_t org,
                                                      std::int64_t conv, std::int64_t actor,
                                                      std::vector<std::int64_t> users, int max_members) {
  dedupe(users);
  pqxx::work w(c);
  auto cv = lock_conv_for(w, org, conv, actor);
  if (!cv) return cv.err();
  if (cv.value().kind != "group")
    return error{error_code::bad_request, "members can only be added to a group"};
  if (auto e = check_users(w, org, users)) return *e;
  std::vector<std::int64_t> added;
  for (const auto& r : w.exec_prepared("conv_member_insert", org, conv, bigint_array(users), std::int64_t{0}))
    added.push_back(r[0].as<std::int64_t>());
  std::sort(added.begin(), added.end());
  conv_change out;
  out.changed = !added.empty();
  if (out.changed) {
    w.exec_prepared("conv_recount", org, conv);
    auto count = member_ids(w, org, conv).size();
    if (static_cast<int>(count) > max_members) {
      w.abort();
      return error{error_code::too_large,
                   "a group holds at most " + std::to_string(max_members) + " members"};
    }
    out.system_message = append_system(w, org, conv, actor, "members_added", added, std::nullopt);
  }
  out.affected = added;
  collect_members(w, org, conv, out);
  out.conv = conv_for(w, org, conv, actor).value();
  w.commit();
  return out;
}

protocol::result<conv_change> conv_store::remove_members(pqxx::connection& c, std::int64_t org,
                                                         std::int64_t conv, std::int64_t actor,
                                                         bool actor_is_admin,
                                                         std::vector<std::int64_t> users) {
  dedupe(users);
  pqxx::work w(c);
  if (w.exec_prepared("conv_lock", org, conv).empty())
    return error{error_code::not_found, "conversation " + protocol::id_string(conv) + " not found"};
  auto cv = conv_for(w, org, conv, actor);
  // An org admin may manage a group they are not in.
  if (!cv && !(actor_is_admin && cv.err().code == error_code::forbidden)) return cv.err();
  auto view = read_conv(w.exec_prepared1("conv_view", org, conv, actor));
  if (view.kind != "group") return error{error_code::bad_request, "members can only be removed from a group"};
  if (view.owner != actor && !actor_is_admin)
    return error{error_code::forbidden, "only the group owner or an org admin may remove members"};
  if (view.owner && std::find(users.begin(), users.end(), *view.owner) != users.end())
    return error{error_code::bad_request, "data.users: the owner cannot be removed (the owner may leave)"};
  conv_change out;
  std::vector<std::int64_t> removed;
  for (const auto& r : w.exec_prepared("conv_member_delete", org, conv, bigint_array(users))) {
    removed.push_back(r[0].as<std::int64_t>());
    out.read_seqs[removed.back()] = r[1].as<std::int64_t>();
  }
  std::sort(removed.begin(), removed.end());
  out.changed = !removed.empty();
  if (out.changed) {
    w.exec_prepared("conv_recount", org, conv);
    out.system_message = append_system(w, org, conv, actor, "members_removed", removed, std::nullopt);
  }
  out.affected = removed;
  collect_members(w, org, conv, out);
  out.conv = read_conv(w.exec_prepared1("conv_view", org, conv, actor));
  w.commit();
  return out;
}

protocol::result<conv_change> conv_store::leave(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                                std::int64_t user) {
  pqxx::work w(c);
  auto cv = lock_conv_for(w, org, conv, user);
  if (!cv) return cv.err();
  if (cv.value().kind != "group")
    return error{error_code::bad_request, "a direct conversation cannot be left"};
  conv_change out;
  for (const auto& r : w.exec_prepared("conv_member_delete", org, conv, bigint_array({user})))
    out.read_seqs[user] = r[1].as<std::int64_t>();
  w.exec_prepared("conv_recount", org, conv);
  // The owner leaving hands the group to its longest-standing member.
  if (cv.value().owner == user) {
    auto next = w.exec_prepared("conv_oldest_member", org, conv);
    std::optional<std::int64_t> heir;
    if (!next.empty()) heir = next[0][0].as<std::int64_t>();
    if (heir) {
      w.exec_prepared("conv_owner_set", org, conv, *heir);
      w.exec_prepared("conv_member_role", org, conv, *heir);
    } else {
      w.exec_prepared("conv_owner_clear", org, conv);
    }
  }
  out.system_message = append_system(w, org, conv, user, "left", {}, std::nullopt);
  out.affected = {user};
  collect_members(w, org, conv, out);
  out.conv = read_conv(w.exec_prepared1("conv_view", org, conv, user));
  w.commit();
  return out;
}

protocol::result<conv_change> conv_store::rename(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                                 std::int64_t actor, const std::string& name) {
  pqxx::work w(c);
  auto cv = lock_conv_for(w, org, conv, actor);
  if (!cv) return cv.err();
  if (cv.value().kind != "group") return error{error_code::bad_request, "a direct conversation has no name"};
  w.exec_prepared("conv_rename", org, conv, name);
  conv_change out;
  out.system_message = append_system(w, org, conv, actor, "renamed", {}, name);
  collect_members(w, org, conv, out);
  out.conv = conv_for(w, org, conv, actor).value();
  w.commit();
  return out;
}

protocol::result<read_outcome> conv_store::mark_read(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                                     std::int64_t user, std::int64_t seq) {
  // One statement, one round trip, committed on its own (see conv_read_one).
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("conv_read_one", org, conv, user, seq);
  if (r.empty()) {
    if (n.exec_prepared("conv_exists", org, conv).empty())
      return error{error_code::not_found, "conversation " + protocol::id_string(conv) + " not found"};
    return error{error_code::forbidden, "not a member of conversation " + protocol::id_string(conv)};
  }
  read_outcome out;
  out.kind = r[0][0].as<std::string>();
  if (r[0][2].is_null()) {
    out.read_seq = r[0][1].as<std::int64_t>();
  } else {
    out.read_seq = r[0][2].as<std::int64_t>();
    out.moved = true;
  }
  if (!r[0][3].is_null()) {
    std::string ids = r[0][3].as<std::string>();  // "{1,2}"
    for (std::size_t i = 1; i < ids.size();) {
      auto j = ids.find_first_of(",}", i);
      if (j == std::string::npos || j == i) break;
      out.members.push_back(std::stoll(ids.substr(i, j - i)));
      i = j + 1;
    }
  }
  return out;
}

protocol::result<std::vector<std::int64_t>> conv_store::recall(pqxx::connection& c, std::int64_t org,
                                                               std::int64_t conv, std::int64_t actor,
                                                               bool actor_is_admin, std::int64_t seq,
                                                               std::int64_t window_ms) {
  pqxx::work w(c);
  auto r = recall_in(w, org, conv, actor, actor_is_admin, seq, window_ms);
  if (r) w.commit();
  return r;
}

protocol::result<std::vector<std::int64_t>> conv_store::recall_in(pqxx::work& w, std::int64_t org,
                                                                  std::int64_t conv, std::int64_t actor,
                                                                  bool actor_is_admin, std::int64_t seq,
                                                                  std::int64_t window_ms) {
  auto cv = conv_for(w, org, conv, actor);
  if (!cv && !(actor_is_admin && cv.err().code == error_code::forbidden)) return cv.err();
  auto r = w.exec_prepared("message_get", org, conv, seq);
  if (r.empty()) return error{error_code::not_found, "message " + std::to_string(seq) + " not found"};
  auto m = read_message(r[0]);
  if (m.type == "system") return error{error_code::forbidden, "system messages cannot be recalled"};
  auto now = now_ms();
  if (!actor_is_admin) {
    if (m.from != actor)
      return error{error_code::forbidden, "only the sender or an org admin may recall a message"};
    if (now - m.ts > window_ms)
      return error{error_code::forbidden,
                   "the recall window of " + std::to_string(window_ms / 1000) + " s has passed"};
  }
  w.exec_prepared("message_recall", org, conv, seq, now);
  return member_ids(w, org, conv);
}

protocol::result<std::vector<protocol::message>> conv_store::between(pqxx::connection& c, std::int64_t org,
                                                                     std::int64_t conv, std::int64_t user,
                                                                     std::int64_t after_seq,
                                                                     std::int64_t before_seq,
                                                                     std::int64_t since_ms) {
  pqxx::read_transaction t(c);
  auto cv = conv_for(t, org, conv, user);
  if (!cv) return cv.err();
  std::vector<protocol::message> out;
  for (const auto& r : t.exec_prepared("messages_between_since", org, conv, after_seq, before_seq, since_ms))
    out.push_back(read_message(r));
  return out;
}

protocol::result<message_page> conv_store::sync(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                                std::int64_t user, std::int64_t after_seq, int limit) {
  pqxx::read_transaction t(c);
  auto cv = conv_for(t, org, conv, user);
  if (!cv) return cv.err();
  message_page page;
  page.first_seq = cv.value().first_seq;
  // Below first_seq retention left only dead index entries: start the scan past them.
  auto from = std::max(after_seq, page.first_seq - 1);
  for (const auto& r : t.exec_prepared("messages_after", org, conv, from, limit + 1))
    page.messages.push_back(read_message(r));
  if (static_cast<int>(page.messages.size()) > limit) {
    page.messages.pop_back();
    page.has_more = true;
  }
  return page;
}

protocol::result<message_page> conv_store::history(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                                   std::int64_t user, std::optional<std::int64_t> before_seq,
                                                   int limit) {
  pqxx::read_transaction t(c);
  auto cv = conv_for(t, org, conv, user);
  if (!cv) return cv.err();
  std::int64_t before = before_seq.value_or(cv.value().last_seq + 1);
  message_page page;
  page.first_seq = cv.value().first_seq;
  for (const auto& r : t.exec_prepared("messages_before", org, conv, before, limit + 1))
    page.messages.push_back(read_message(r));
  if (static_cast<int>(page.messages.size()) > limit) {
    page.messages.pop_back();
    page.has_more = true;
  }
  std::reverse(page.messages.begin(), page.messages.end());
  return page;
}

boost::json::object to_json(const message_page& p) {
  boost::json::array arr;
  for (const auto& m : p.messages) arr.emplace_back(protocol::to_json(m));
  return {{"messages", std::move(arr)}, {"has_more", p.has_more}, {"first_seq", p.first_seq}};
}

std::vector<std::int64_t> conv_store::members(pqxx::connection& c, std::int64_t org, std::int64_t conv) {
  pqxx::nontransaction n(c);
  std::vector<std::int64_t> out;
  for (const auto& r : n.exec_prepared("conv_member_ids", org, conv)) out.push_back(r[0].as<std::int64_t>());
  return out;
}

protocol::result<std::vector<std::int64_t>> conv_store::members_if_member(pqxx::connection& c,
                                                                          std::int64_t org, std::int64_t conv,
                                                                          std::int64_t user) {
  pqxx::read_transaction t(c);
  auto cv = conv_for(t, org, conv, user);
  if (!cv) return cv.err();
  std::vector<std::int64_t> out;
  for (const auto& r : t.exec_prepared("conv_member_ids", org, conv)) out.push_back(r[0].as<std::int64_t>());
  return out;
}

}  // namespace switchboard::storage
