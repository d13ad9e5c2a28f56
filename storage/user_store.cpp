// Users and tokens.
#include "storage/user_store.hpp"

#include <pqxx/pqxx>

#include "storage/audit_store.hpp"
#include "storage/event_store.hpp"
#include "storage/sql_util.hpp"

namespace switchboard::storage {

namespace {

using protocol::error;
using protocol::error_code;

}  // namespace

std::string user_columns(const std::string& a) {
  return a + "org_id, " + a + "id, " + a + "name, coalesce(" + a + "mobile, ''), " + a + "title, " + a +
         "email, " + a + "role, " + status_sql(a) + ", (extract(epoch FROM " + a +
         "created_at) * 1000)::bigint, "
         "array_to_string(ARRAY(SELECT ud.department_id FROM user_departments ud "
         "WHERE ud.org_id = " +
         a + "org_id AND ud.user_id = " + a + "id ORDER BY 1), ','), " + a + "avatar, " + a +
         "suspend_reason, (extract(epoch FROM " + a + "suspended_until) * 1000)::bigint, " +
         "array_to_string(CASE WHEN " + a + "restricted_until <= now() THEN '{}'::text[] ELSE " + a +
         "restricted END, ','), "
         "CASE WHEN " +
         a + "restricted_until > now() THEN (extract(epoch FROM " + a +
         "restricted_until) * 1000)::bigint END, " + a + "kind = 'bot'";
}

namespace {

std::optional<std::int64_t> opt_ms(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::int64_t>();
}

}  // namespace

std::string status_sql(const std::string& a) {
  return "CASE WHEN " + a + "status = 'suspended' AND " + a + "suspended_until <= now() THEN 'active' ELSE " +
         a + "status END";
}

protocol::user read_user(const pqxx::row& r, pqxx::row::size_type at) {
  protocol::user u;
  u.org_id = r[at].as<std::int64_t>();
  u.id = r[at + 1].as<std::int64_t>();
  u.name = r[at + 2].as<std::string>();
  u.mobile = r[at + 3].as<std::string>();
  u.title = r[at + 4].as<std::string>();
  u.email = r[at + 5].as<std::string>();
  u.role = protocol::parse_role(r[at + 6].as<std::string>()).value_or(protocol::role::member);
  u.status =
      protocol::parse_account_status(r[at + 7].as<std::string>()).value_or(protocol::account_status::removed);
  u.created_at_ms = r[at + 8].as<std::int64_t>();
  u.departments = split_ids(r[at + 9].as<std::string>());
  u.avatar = r[at + 10].as<std::string>();
  if (u.status == protocol::account_status::suspended) {
    u.suspend_reason = r[at + 11].as<std::string>();
    u.suspended_until_ms = opt_ms(r[at + 12]);
  }
  u.restricted = split_csv(r[at + 13].as<std::string>());
  if (!u.restricted.empty()) u.restricted_until_ms = opt_ms(r[at + 14]);
  u.bot = r[at + 15].as<bool>();
  return u;
}

namespace {
token_info read_token_info(const pqxx::row& r) {
  return token_info{
      r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>(),
      protocol::parse_role(r[3].as<std::string>()).value_or(protocol::role::member),
      protocol::parse_account_status(r[4].as<std::string>()).value_or(protocol::account_status::removed)};
}
}  // namespace

void user_store::prepare(pqxx::connection& c) {
  const auto cols = user_columns("");
  // A removed user and a newer user may share a number: the one not removed answers.
  c.prepare("user_for_login",
            "SELECT " + cols +
                ", coalesce(password_hash, '') FROM users WHERE org_id = $1 AND mobile = $2 "
                "AND NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id = $1 AND o.deleted_at IS NOT NULL) "
                "ORDER BY status = 'removed', id DESC LIMIT 1");
  c.prepare("user_get", "SELECT " + cols + " FROM users WHERE org_id = $1 AND id = $2");
  c.prepare("user_get_locked", "SELECT " + cols + " FROM users WHERE org_id = $1 AND id = $2 FOR UPDATE");
  c.prepare("token_insert",
            "INSERT INTO tokens (hash, org_id, user_id, expires_at) "
            "VALUES (decode($1, 'hex'), $2, $3, to_timestamp($4::double precision / 1000))");
  const std::string token_cols =
      "SELECT t.org_id, t.user_id, (extract(epoch FROM t.expires_at) * 1000)::bigint, u.role, " +
      status_sql("u.");
  const std::string token_from =
      " FROM tokens t JOIN users u ON u.org_id = t.org_id AND u.id = t.user_id "
      "WHERE t.hash = decode($1, 'hex') AND t.revoked_at IS NULL AND t.expires_at > now() "
      "AND NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id = t.org_id AND o.deleted_at IS NOT NULL)";
  c.prepare("token_resolve", token_cols + token_from);
  // The same for many hashes ($1: a text[] of hex hashes); each row ends with its hash.
  c.prepare(
      "tokens_resolve_users",
      token_cols + ", " + user_columns("u.") +
          ", encode(t.hash, 'hex') FROM tokens t JOIN users u ON u.org_id = t.org_id AND u.id = t.user_id "
          "WHERE t.hash IN (SELECT decode(h, 'hex') FROM unnest($1::text[]) AS h) "
          "AND t.revoked_at IS NULL AND t.expires_at > now() "
          "AND NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id = t.org_id AND o.deleted_at IS NOT NULL)");
  c.prepare("token_revoke",
            "UPDATE tokens SET revoked_at = now() WHERE hash = decode($1, 'hex') AND revoked_at IS NULL");
  c.prepare("tokens_revoke_user",
            "UPDATE tokens SET revoked_at = now() WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL");
  c.prepare("user_departments_insert",
            "INSERT INTO user_departments (org_id, user_id, department_id) "
            "SELECT $1, $2, d.id FROM departments d WHERE d.org_id = $1 AND d.id = ANY($3::bigint[])");
  c.prepare("user_departments_clear", "DELETE FROM user_departments WHERE org_id = $1 AND user_id = $2");
  c.prepare("user_insert",
            "INSERT INTO users (org_id, name, mobile, title, email, role, password_hash) "
            "VALUES ($1, $2, $3, $4, $5, $6, nullif($7, '')) "
            "ON CONFLICT (org_id, mobile) WHERE status <> 'removed' DO NOTHING RETURNING id");
  c.prepare("user_update",
            "UPDATE users SET name = $3, mobile = $4, title = $5, email = $6, avatar = $7, role = $8, "
            "password_hash = coalesce(nullif($9, ''), password_hash), updated_at = now() "
            "WHERE org_id = $1 AND id = $2");
  c.prepare(
      "user_set_status",
      "UPDATE users SET status = $3, suspend_reason = $4, "
      "suspended_until = to_timestamp(NULLIF($5::text, '')::double precision / 1000), updated_at = now() "
      "WHERE org_id = $1 AND id = $2");
  c.prepare(
      "user_set_restriction",
      "UPDATE users SET restricted = $3::text[], "
      "restricted_until = to_timestamp(NULLIF($4::text, '')::double precision / 1000), updated_at = now() "
      "WHERE org_id = $1 AND id = $2");
  // Members (never owners, admins or bots) with no login, no session seen and no live session since
  // the cutoff, created before it. SKIP LOCKED: an admin acting on one of them meanwhile wins.
  c.prepare(
      "users_reclaimable",
      "SELECT " + user_columns("u.") +
          " FROM users u "
          "WHERE u.org_id = $1 AND u.role = 'member' AND u.kind <> 'bot' AND u.status <> 'removed' "
          "  AND u.created_at < now() - $2 * interval '1 day' "
          "  AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.org_id = u.org_id AND t.user_id = u.id "
          "                   AND t.created_at >= now() - $2 * interval '1 day') "
          "  AND NOT EXISTS (SELECT 1 FROM last_seen s WHERE s.user_id = u.id "
          "                   AND s.seen_ms >= (extract(epoch FROM now() - $2 * interval '1 day') * 1000)) "
          "  AND NOT EXISTS (SELECT 1 FROM live_users l WHERE l.user_id = u.id) "
          "  AND u.id > $3 "
          "ORDER BY u.id LIMIT $4 FOR UPDATE OF u SKIP LOCKED");
  c.prepare("users_existing_active",
            "SELECT id FROM users WHERE org_id = $1 AND id = ANY($2::bigint[]) AND status <> 'removed'");
}

std::optional<login_candidate> user_store::find_for_login(pqxx::connection& c, std::int64_t org,
                                                          const std::string& mobile) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("user_for_login", org, mobile);
  if (r.empty()) return std::nullopt;
  return login_candidate{read_user(r[0]), r[0][user_column_count].as<std::string>()};
}

std::optional<protocol::user> user_store::get_in(pqxx::transaction_base& t, std::int64_t org,
                                                 std::int64_t user) {
  auto r = t.exec_prepared("user_get", org, user);
  if (r.empty()) return std::nullopt;
  return read_user(r[0]);
}

std::optional<protocol::user> user_store::get(pqxx::connection& c, std::int64_t org, std::int64_t user) {
  pqxx::nontransaction n(c);
  return get_in(n, org, user);
}

void user_store::insert_token(pqxx::connection& c, const std::string& hash, std::int64_t org,
                              std::int64_t user, std::int64_t expires_at_ms) {
  pqxx::work w(c);
  w.exec_prepared("token_insert", hash, org, user, expires_at_ms);
  w.commit();
}

std::optional<token_info> user_store::resolve_token(pqxx::connection& c, const std::string& hash) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("token_resolve", hash);
  if (r.empty()) return std::nullopt;
  return read_token_info(r[0]);
}

std::unordered_map<std::string, std::pair<token_info, protocol::user>> user_store::resolve_tokens_with_users(
    pqxx::connection& c, const std::vector<std::string>& hashes) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("tokens_resolve_users", text_array(hashes));
  std::unordered_map<std::string, std::pair<token_info, protocol::user>> out;
  for (const auto& row : r)
    out.emplace(row[static_cast<int>(row.size()) - 1].as<std::string>(),
                std::make_pair(read_token_info(row), read_user(row, 5)));
  return out;
}

void user_store::revoke_token(pqxx::connection& c, const std::string& hash) {
  pqxx::work w(c);
  w.exec_prepared("token_revoke", hash);
  w.commit();
}

namespace {

error mobile_taken(const std::string& mobile) {
  return error{error_code::conflict, "mobile " + mobile + " is taken in this organization"};
}

error user_not_found(std::int64_t id) {
  return error{error_code::not_found, "user " + protocol::id_string(id) + " not found"};
}

// Replaces the user's departments; `not_found` when one is not the org's.
std::optional<error> set_departments(pqxx::transaction_base& w, std::int64_t org, std::int64_t user,
                                     const std::vector<std::int64_t>& departments, bool clear_first) {
  if (clear_first) w.exec_prepared("user_departments_clear", org, user);
  if (departments.empty()) return std::nullopt;
  auto added = w.exec_prepared("user_departments_insert", org, user, bigint_array(departments));
  if (added.affected_rows() != departments.size())
    return error{error_code::not_found, "a department in departments does not exist"};
  return std::nullopt;
}

// The user locked for a change by `a`, with the rules every admin change shares.
protocol::result<protocol::user> lock_target(pqxx::work& w, std::int64_t org, std::int64_t id) {
  auto r = w.exec_prepared("user_get_locked", org, id);
  if (r.empty()) return user_not_found(id);
  auto u = read_user(r[0]);
  if (u.status == protocol::account_status::removed)
    return error{error_code::forbidden, "user " + protocol::id_string(id) + " was removed"};
  if (u.bot)
    return error{error_code::forbidden,
                 "user " + protocol::id_string(id) + " is an app's bot: it changes with its app"};
  return u;
}

std::string target_of(std::int64_t id) {
  return "user:" + protocol::id_string(id);
}

}  // namespace

protocol::result<protocol::user> user_store::create_in(pqxx::work& w, std::int64_t org, const new_user& u) {
  std::int64_t id = 0;
  auto taken = unique_or(w, mobile_taken(u.mobile), [&](pqxx::subtransaction& s) {
    auto r = s.exec_prepared("user_insert", org, u.name, u.mobile, u.title, u.email,
                             std::string(protocol::to_string(u.role)), u.password_hash);
    if (!r.empty()) id = r[0][0].as<std::int64_t>();
  });
  if (taken || id == 0) return mobile_taken(u.mobile);
  if (auto e = set_departments(w, org, id, u.departments, false)) return *e;
  return *get_in(w, org, id);
}

protocol::result<protocol::user> user_store::create(pqxx::connection& c, const actor& a, const new_user& u) {
  pqxx::work w(c);
  auto created = create_in(w, a.org, u);
  if (!created) return created;
  audit_store::append(w, a, "user.create", target_of(created.value().id),
                      {{"after", protocol::to_json(created.value())}});
  event_store::enqueue(w, a.org, {"member.added", protocol::to_json(created.value())});
  w.commit();
  return created;
}

protocol::result<user_change> user_store::update(pqxx::connection& c, const actor& a, std::int64_t id,
                                                 const user_patch& p, bool audit) {
  pqxx::work w(c);
  auto before = lock_target(w, a.org, id);
  if (!before) return before.err();
  const auto& b = before.value();
  using protocol::role;
  if (p.role && b.role == role::owner && *p.role != role::owner)
    return error{error_code::forbidden, "the organization's owner keeps the owner role"};
  auto taken = unique_or(w, mobile_taken(p.mobile.value_or(b.mobile)), [&](pqxx::subtransaction& s) {
    s.exec_prepared(
        "user_update", a.org, id, p.name.value_or(b.name), p.mobile.value_or(b.mobile),
        p.title.value_or(b.title), p.email.value_or(b.email), p.avatar.value_or(b.avatar),
        std::string(protocol::to_string(b.role == role::owner ? b.role : p.role.value_or(b.role))),
        p.password_hash.value_or(""));
  });
  if (taken) return *taken;
  if (p.departments)
    if (auto e = set_departments(w, a.org, id, *p.departments, true)) return *e;
  auto after = *get_in(w, a.org, id);
  if (audit) {
    auto summary = boost::json::object{{"before", protocol::to_json(b)}, {"after", protocol::to_json(after)}};
    if (p.password_hash) summary["password_changed"] = true;
    audit_store::append(w, a, "user.update", target_of(id), summary);
  }
  event_store::enqueue(w, a.org, {"member.updated", protocol::to_json(after)});
  w.commit();
  return user_change{b, after};
}

namespace {
// Suspend, restore, restrict and remove: never the owner, never oneself.
std::optional<error> may_act_on(const actor& a, const protocol::user& u, const char* verb) {
  if (u.role == protocol::role::owner)
    return error{error_code::forbidden, std::string("the organization's owner cannot be ") + verb};
  if (u.id == a.user)
    return error{error_code::forbidden, std::string("admins cannot be ") + verb + " by themselves"};
  return std::nullopt;
}
}  // namespace

namespace {
// The removal itself, audited as `action`, with the member.removed event.
protocol::user remove_in(pqxx::work& w, const actor& a, const protocol::user& before, const char* action) {
  w.exec_prepared("user_set_status", a.org, before.id, "removed", "", "");
  w.exec_prepared("user_departments_clear", a.org, before.id);
  w.exec_prepared("tokens_revoke_user", a.org, before.id);
  auto after = *user_store::get_in(w, a.org, before.id);
  audit_store::append(w, a, action, target_of(before.id), {{"before", protocol::to_json(before)}});
  event_store::enqueue(w, a.org, {"member.removed", protocol::to_json(after)});
  return after;
}
}  // namespace

protocol::result<user_change> user_store::remove(pqxx::connection& c, const actor& a, std::int64_t id) {
  pqxx::work w(c);
  auto before = lock_target(w, a.org, id);
  if (!before) return before.err();
  if (auto e = may_act_on(a, before.value(), "removed")) return *e;
  auto after = remove_in(w, a, before.value(), "user.remove");
  w.commit();
  return user_change{before.value(), after};
}

reclaim_batch user_store::reclaim_inactive(pqxx::connection& c, std::int64_t org, int days,
                                           std::int64_t after, int limit,
                                           const std::function<bool(std::int64_t)>& live_here) {
  pqxx::work w(c);
  reclaim_batch out;
  const actor system{org, 0, ""};
  for (const auto& r : w.exec_prepared("users_reclaimable", org, days, after, limit)) {
    auto before = read_user(r);
    ++out.looked;
    out.last = before.id;
    if (live_here && live_here(before.id)) continue;
    out.removed.push_back(user_change{before, remove_in(w, system, before, "user.reclaim")});
  }
  w.commit();
  return out;
}

protocol::result<user_change> user_store::suspend(pqxx::connection& c, const actor& a, std::int64_t id,
                                                  const std::string& reason,
                                                  std::optional<std::int64_t> until_ms) {
  pqxx::work w(c);
  auto r = suspend_in(w, a, id, reason, until_ms);
  if (r) w.commit();
  return r;
}

protocol::result<user_change> user_store::suspend_in(pqxx::work& w, const actor& a, std::int64_t id,
                                                     const std::string& reason,
                                                     std::optional<std::int64_t> until_ms) {
  auto before = lock_target(w, a.org, id);
  if (!before) return before.err();
  if (auto e = may_act_on(a, before.value(), "suspended")) return *e;
  w.exec_prepared("user_set_status", a.org, id, "suspended", reason, opt_param(until_ms));
  auto after = *get_in(w, a.org, id);
  audit_store::append(w, a, "user.suspend", target_of(id),
                      {{"before", protocol::to_json(before.value())}, {"after", protocol::to_json(after)}});
  event_store::enqueue(w, a.org, {"member.updated", protocol::to_json(after)});
  return user_change{before.value(), after};
}

protocol::result<user_change> user_store::restore(pqxx::connection& c, const actor& a, std::int64_t id) {
  pqxx::work w(c);
  auto before = lock_target(w, a.org, id);
  if (!before) return before.err();
  w.exec_prepared("user_set_status", a.org, id, "active", "", "");
  auto after = *get_in(w, a.org, id);
  audit_store::append(w, a, "user.restore", target_of(id),
                      {{"before", protocol::to_json(before.value())}, {"after", protocol::to_json(after)}});
  event_store::enqueue(w, a.org, {"member.updated", protocol::to_json(after)});
  w.commit();
  return user_change{before.value(), after};
}

protocol::result<user_change> user_store::restrict(pqxx::connection& c, const actor& a, std::int64_t id,
                                                   const std::vector<std::string>& features,
                                                   std::optional<std::int64_t> until_ms) {
  pqxx::work w(c);
  auto r = restrict_in(w, a, id, features, until_ms);
  if (r) w.commit();
  return r;
}

protocol::result<user_change> user_store::restrict_in(pqxx::work& w, const actor& a, std::int64_t id,
                                                      const std::vector<std::string>& features,
                                                      std::optional<std::int64_t> until_ms) {
  auto before = lock_target(w, a.org, id);
  if (!before) return before.err();
  if (!features.empty())
    if (auto e = may_act_on(a, before.value(), "restricted")) return *e;
  w.exec_prepared("user_set_restriction", a.org, id, text_array(features),
                  features.empty() ? std::string() : opt_param(until_ms));
  auto after = *get_in(w, a.org, id);
  audit_store::append(w, a, "user.restrict", target_of(id),
                      {{"before", protocol::to_json(before.value())}, {"after", protocol::to_json(after)}});
  event_store::enqueue(w, a.org, {"member.updated", protocol::to_json(after)});
  return user_change{before.value(), after};
}

std::vector<std::int64_t> user_store::existing_active(pqxx::connection& c, std::int64_t org,
                                                      const std::vector<std::int64_t>& users) {
  pqxx::nontransaction n(c);
  std::vector<std::int64_t> out;
  for (const auto& row : n.exec_prepared("users_existing_active", org, bigint_array(users)))
    out.push_back(row[0].as<std::int64_t>());
  return out;
}

}  // namespace switchboard::storage
