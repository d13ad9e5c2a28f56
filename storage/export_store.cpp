// Export rows and the data an export carries.
#include "storage/export_store.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "protocol/types.hpp"
#include "storage/conv_store.hpp"
#include "storage/dept_store.hpp"
#include "storage/sql_util.hpp"
#include "storage/user_store.hpp"

namespace switchboard::storage {

using protocol::error;
using protocol::error_code;

namespace {

constexpr const char* export_columns =
    "id, org_id, scope, user_id, requested_by, own, state, progress, size, coalesce(file, ''), "
    "coalesce(error, ''), (extract(epoch FROM created_at) * 1000)::bigint, "
    "(extract(epoch FROM finished_at) * 1000)::bigint, (extract(epoch FROM expires_at) * 1000)::bigint";

export_row read_export(const pqxx::row& r) {
  export_row e;
  e.id = r[0].as<std::int64_t>();
  e.org = r[1].as<std::int64_t>();
  e.scope = r[2].as<std::string>();
  if (!r[3].is_null()) e.user = r[3].as<std::int64_t>();
  e.requested_by = r[4].as<std::int64_t>();
  e.own = r[5].as<bool>();
  e.state = r[6].as<std::string>();
  e.progress = r[7].as<double>();
  if (!r[8].is_null()) e.size = r[8].as<std::int64_t>();
  e.file = r[9].as<std::string>();
  e.error = r[10].as<std::string>();
  e.created_at_ms = r[11].as<std::int64_t>();
  if (!r[12].is_null()) e.finished_at_ms = r[12].as<std::int64_t>();
  if (!r[13].is_null()) e.expires_at_ms = r[13].as<std::int64_t>();
  return e;
}

boost::json::value opt_ms(const std::optional<std::int64_t>& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

// Users are read this many per query, and conversations' members.
constexpr int page_rows = 2000;

}  // namespace

boost::json::object to_json(const export_row& e) {
  boost::json::object o{{"export", protocol::id_string(e.id)},
                        {"scope", e.scope},
                        {"user", e.user ? boost::json::value(protocol::id_string(*e.user)) : nullptr},
                        {"state", e.state},
                        {"progress", e.progress},
                        {"size", opt_ms(e.size)},
                        {"created_at", e.created_at_ms},
                        {"finished_at", opt_ms(e.finished_at_ms)},
                        {"expires_at", opt_ms(e.expires_at_ms)}};
  if (e.state == "failed") o["error"] = e.error;
  return o;
}

void export_store::prepare(pqxx::connection& c) {
  const std::string cols = export_columns;
  c.prepare("export_user_exists", "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 AND id = $2)");
  c.prepare("export_insert",
            "INSERT INTO exports (org_id, scope, user_id, requested_by, own) "
            "VALUES ($1, $2, NULLIF($3, 0), $4, $5) RETURNING " +
                cols);
  c.prepare("export_get", "SELECT " + cols + " FROM exports WHERE org_id = $1 AND id = $2");
  c.prepare("export_list", "SELECT " + cols +
                               " FROM exports WHERE org_id = $1 AND NOT own AND ($2 = 0 OR id < $2) "
                               "ORDER BY id DESC LIMIT $3");
  c.prepare(
      "export_claim",
      "UPDATE exports e SET state = 'running', progress = 0, lease_until = now() + $1 * interval '1 second' "
      "WHERE e.id = (SELECT id FROM exports WHERE state IN ('pending', 'running') "
      "  AND (lease_until IS NULL OR lease_until < now()) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
      "RETURNING " +
          cols);
  c.prepare("export_progress",
            "UPDATE exports SET progress = $3, lease_until = now() + $4 * interval '1 second' "
            "WHERE org_id = $1 AND id = $2 AND state = 'running'");
  c.prepare(
      "export_finish",
      "UPDATE exports SET state = 'ready', progress = 1, file = $3, size = $4, lease_until = NULL, "
      "finished_at = now(), expires_at = now() + $5 * interval '1 second' WHERE org_id = $1 AND id = $2");
  c.prepare("export_fail",
            "UPDATE exports SET state = 'failed', error = $3, lease_until = NULL, finished_at = now(), "
            "expires_at = now() + interval '1 day' WHERE org_id = $1 AND id = $2");
  c.prepare("export_expire",
            "DELETE FROM exports WHERE id = ANY(ARRAY(SELECT id FROM exports WHERE expires_at < now() "
            "ORDER BY expires_at LIMIT $1)) RETURNING coalesce(file, '')");
  c.prepare("export_org",
            "SELECT id, name, (extract(epoch FROM created_at) * 1000)::bigint FROM orgs WHERE id = $1");
  c.prepare("export_departments",
            "SELECT d.id, d.parent_id, d.name, d.sort FROM departments d WHERE d.org_id = $1 "
            "AND ($2 = 0 OR d.id IN (SELECT department_id FROM user_departments WHERE org_id = $1 AND "
            "user_id = $2)) "
            "ORDER BY d.id");
  c.prepare("export_users", "SELECT " + user_columns("u.") +
                                " FROM users u WHERE u.org_id = $1 AND u.id > $2 ORDER BY u.id LIMIT $3");
  // A member's export: themselves in full, and the people they share a conversation with by name.
  c.prepare("export_peers",
            "SELECT DISTINCT u.id, u.name FROM conv_members mine "
            "JOIN conv_members other ON other.org_id = mine.org_id AND other.conv_id = mine.conv_id "
            "JOIN users u ON u.org_id = other.org_id AND u.id = other.user_id "
            "WHERE mine.org_id = $1 AND mine.user_id = $2 AND other.user_id <> $2 ORDER BY u.id");
  c.prepare("export_convs",
            "SELECT c.id, c.kind, c.name, c.owner_id, c.member_count, c.first_seq, c.last_seq, "
            "(extract(epoch FROM c.created_at) * 1000)::bigint FROM conversations c "
            "WHERE c.org_id = $1 AND c.id > $3 AND ($2 = 0 OR EXISTS (SELECT 1 FROM conv_members m "
            "  WHERE m.org_id = c.org_id AND m.conv_id = c.id AND m.user_id = $2)) ORDER BY c.id LIMIT $4");
  c.prepare("export_members",
            "SELECT conv_id, user_id, role, (extract(epoch FROM joined_at) * 1000)::bigint, read_seq "
            "FROM conv_members WHERE org_id = $1 AND conv_id = ANY($2::bigint[]) ORDER BY conv_id, user_id");
  c.prepare("export_message_count",
            "SELECT coalesce(sum(greatest(last_seq - first_seq + 1, 0)), 0)::bigint FROM conversations "
            "WHERE org_id = $1 AND id = ANY($2::bigint[])");
  c.prepare("export_messages", std::string("SELECT ") + message_columns +
                                   " FROM messages WHERE org_id = $1 AND conv_id = $2 AND seq > $3 "
                                   "ORDER BY seq LIMIT $4");
  c.prepare("export_media_org", "SELECT id, sha256 FROM media WHERE org_id = $1 ORDER BY id");
  c.prepare("export_media_user",
            "SELECT m.id, m.sha256 FROM media m WHERE m.org_id = $1 AND (m.uploader_id = $2 OR EXISTS ("
            "  SELECT 1 FROM media_conversations mc JOIN conv_members cm ON cm.org_id = mc.org_id "
            "   AND cm.conv_id = mc.conv_id AND cm.user_id = $2 WHERE mc.org_id = m.org_id AND mc.media_id = "
            "m.id)) "
            "ORDER BY m.id");
}

protocol::result<export_row> export_store::create(pqxx::connection& c, const actor& a,
                                                  const std::string& scope, std::optional<std::int64_t> user,
                                                  bool own) {
  pqxx::work w(c);
  if (user && !w.exec_prepared1("export_user_exists", a.org, *user)[0].as<bool>())
    return error{error_code::not_found, "user " + protocol::id_string(*user) + " not found"};
  auto e = read_export(w.exec_prepared1("export_insert", a.org, scope, user.value_or(0), a.user, own));
  boost::json::object summary{{"scope", scope}, {"own", own}};
  if (user) summary["user"] = protocol::id_string(*user);
  audit_store::append(w, a, "export.create", "export:" + protocol::id_string(e.id), summary);
  w.commit();
  return e;
}

std::optional<export_row> export_store::get(pqxx::connection& c, std::int64_t org, std::int64_t id) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("export_get", org, id);
  if (r.empty()) return std::nullopt;
  return read_export(r[0]);
}

std::vector<export_row> export_store::list(pqxx::connection& c, std::int64_t org, std::int64_t before,
                                           int limit) {
  pqxx::nontransaction n(c);
  std::vector<export_row> out;
  for (const auto& r : n.exec_prepared("export_list", org, before, limit)) out.push_back(read_export(r));
  return out;
}

void export_store::audit_download(pqxx::connection& c, const actor& a, std::int64_t id) {
  pqxx::work w(c);
  audit_store::append(w, a, "export.download", "export:" + protocol::id_string(id), {});
  w.commit();
}

std::optional<export_row> export_store::claim(pqxx::connection& c, int lease_s) {
  pqxx::work w(c);
  auto r = w.exec_prepared("export_claim", lease_s);
  w.commit();
  if (r.empty()) return std::nullopt;
  return read_export(r[0]);
}

void export_store::progress(pqxx::connection& c, const export_row& e, double progress, int lease_s) {
  pqxx::nontransaction n(c);
  n.exec_prepared("export_progress", e.org, e.id, progress, lease_s);
}

void export_store::finish(pqxx::connection& c, const export_row& e, const std::string& file,
                          std::int64_t size, int ttl_s) {
  pqxx::nontransaction n(c);
  n.exec_prepared("export_finish", e.org, e.id, file, size, ttl_s);
}

void export_store::fail(pqxx::connection& c, const export_row& e, const std::string& why) {
  pqxx::nontransaction n(c);
  n.exec_prepared("export_fail", e.org, e.id, why.substr(0, 500));
}

std::vector<std::string> export_store::expire(pqxx::connection& c, int limit) {
  pqxx::nontransaction n(c);
  std::vector<std::string> out;
  for (const auto& r : n.exec_prepared("export_expire", limit))
    if (!r[0].is_null() && !r[0].as<std::string>().empty()) out.push_back(r[0].as<std::string>());
  return out;
}

boost::json::object export_store::organization(pqxx::connection& c, const export_scope& s) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared1("export_org", s.org);
  boost::json::object o{{"org", protocol::id_string(s.org)},
                        {"name", r[1].as<std::string>()},
                        {"created_at", r[2].as<std::int64_t>()},
                        {"scope", s.user ? "user" : "org"}};
  if (s.user) o["user"] = protocol::id_string(*s.user);
  return o;
}

void export_store::departments(pqxx::connection& c, const export_scope& s, const line_sink& out) {
  pqxx::nontransaction n(c);
  for (const auto& r : n.exec_prepared("export_departments", s.org, s.user.value_or(0))) {
    department d;
    d.id = r[0].as<std::int64_t>();
    if (!r[1].is_null()) d.parent = r[1].as<std::int64_t>();
    d.name = r[2].as<std::string>();
    d.sort = r[3].as<int>();
    out(to_json(d));
  }
}

void export_store::users(pqxx::connection& c, const export_scope& s, const line_sink& out) {
  if (s.user)
    if (auto me = user_store::get(c, s.org, *s.user)) out(protocol::to_json(*me));
  pqxx::nontransaction n(c);
  if (s.user) {
    for (const auto& r : n.exec_prepared("export_peers", s.org, *s.user))
      out({{"user", protocol::id_string(r[0].as<std::int64_t>())}, {"name", r[1].as<std::string>()}});
    return;
  }
  for (std::int64_t after = 0;;) {
    auto rows = n.exec_prepared("export_users", s.org, after, page_rows);
    for (const auto& r : rows) {
      auto u = read_user(r);
      after = u.id;
      out(protocol::to_json(u));
    }
    if (static_cast<int>(rows.size()) < page_rows) return;
  }
}

std::vector<std::int64_t> export_store::conversations(pqxx::connection& c, const export_scope& s,
                                                      const line_sink& out) {
  pqxx::nontransaction n(c);
  std::vector<std::int64_t> ids;
  for (std::int64_t after = 0;;) {
    auto rows = n.exec_prepared("export_convs", s.org, s.user.value_or(0), after, page_rows);
    for (const auto& r : rows) {
      after = r[0].as<std::int64_t>();
      ids.push_back(after);
      out({{"conv", protocol::id_string(after)},
           {"kind", r[1].as<std::string>()},
           {"name", r[2].as<std::string>()},
           {"owner", r[3].is_null() ? boost::json::value(nullptr)
                                    : boost::json::value(protocol::id_string(r[3].as<std::int64_t>()))},
           {"member_count", r[4].as<int>()},
           {"first_seq", r[5].as<std::int64_t>()},
           {"last_seq", r[6].as<std::int64_t>()},
           {"created_at", r[7].as<std::int64_t>()}});
    }
    if (static_cast<int>(rows.size()) < page_rows) return ids;
  }
}

void export_store::members(pqxx::connection& c, const export_scope& s, const std::vector<std::int64_t>& convs,
                           const line_sink& out) {
  pqxx::nontransaction n(c);
  for (std::size_t at = 0; at < convs.size(); at += page_rows) {
    std::vector<std::int64_t> page(
        convs.begin() + static_cast<std::ptrdiff_t>(at),
        convs.begin() + static_cast<std::ptrdiff_t>(std::min(convs.size(), at + page_rows)));
    for (const auto& r : n.exec_prepared("export_members", s.org, bigint_array(page)))
      out({{"conv", protocol::id_string(r[0].as<std::int64_t>())},
           {"user", protocol::id_string(r[1].as<std::int64_t>())},
           {"role", r[2].as<std::string>()},
           {"joined_at", r[3].as<std::int64_t>()},
           {"read_seq", r[4].as<std::int64_t>()}});
  }
}

std::int64_t export_store::message_count(pqxx::connection& c, const export_scope& s,
                                         const std::vector<std::int64_t>& convs) {
  pqxx::nontransaction n(c);
  return n.exec_prepared1("export_message_count", s.org, bigint_array(convs))[0].as<std::int64_t>();
}

std::int64_t export_store::messages(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                    std::int64_t after_seq, int limit, const line_sink& out) {
  pqxx::nontransaction n(c);
  std::int64_t last = 0;
  for (const auto& r : n.exec_prepared("export_messages", org, conv, after_seq, limit)) {
    auto m = read_message(r);
    last = m.seq;
    out(protocol::to_json(m));
  }
  return last;
}

std::vector<export_media> export_store::media(pqxx::connection& c, const export_scope& s) {
  pqxx::nontransaction n(c);
  std::vector<export_media> out;
  auto rows = s.user ? n.exec_prepared("export_media_user", s.org, *s.user)
                     : n.exec_prepared("export_media_org", s.org);
  for (const auto& r : rows) out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>()});
  return out;
}

}  // namespace switchboard::storage
