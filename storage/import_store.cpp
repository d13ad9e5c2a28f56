// Bulk import of users.
#include "storage/import_store.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>
#include <set>

#include "storage/dept_store.hpp"
#include "storage/event_store.hpp"
#include "storage/sql_util.hpp"
#include "storage/user_store.hpp"

namespace switchboard::storage {

using protocol::error;
using protocol::error_code;

namespace {

std::string join_path(const std::vector<std::string>& segments) {
  std::string out;
  for (const auto& s : segments) out += (out.empty() ? "" : "/") + s;
  return out;
}

// The department at `segments`, created (with its missing ancestors) when absent. `created`
// collects the new ones.
std::int64_t ensure_path(pqxx::work& w, std::int64_t org, const std::vector<std::string>& segments,
                         std::map<std::string, std::int64_t>& paths, std::vector<department>& created) {
  std::optional<std::int64_t> parent;
  std::vector<std::string> prefix;
  for (const auto& name : segments) {
    prefix.push_back(name);
    auto key = join_path(prefix);
    auto it = paths.find(key);
    if (it == paths.end()) {
      auto found = w.exec_prepared("import_dept_find", org, opt_param(parent), name);
      std::int64_t id = 0;
      if (!found.empty()) {
        id = found[0][0].as<std::int64_t>();
      } else {
        id = w.exec_prepared1("import_dept_insert", org, opt_param(parent), name)[0].as<std::int64_t>();
        created.push_back(department{id, parent, name, 0});
      }
      it = paths.emplace(key, id).first;
    }
    parent = it->second;
  }
  return *parent;
}

std::vector<import_outcome> store(pqxx::connection& c, const actor& a, const std::vector<import_row>& rows,
                                  std::map<std::string, std::int64_t>& paths) {
  std::vector<import_outcome> out;
  std::vector<const import_row*> good;
  for (const auto& r : rows) {
    if (r.error)
      out.push_back({r.row, "error", 0, r.error});
    else
      good.push_back(&r);
  }
  pqxx::work w(c);
  w.exec_prepared("import_tree_lock", a.org);
  // Department ids named by JSON rows must be the org's.
  std::vector<std::int64_t> named;
  for (const auto* r : good)
    if (r->departments) named.insert(named.end(), r->departments->begin(), r->departments->end());
  std::set<std::int64_t> existing;
  if (!named.empty())
    for (const auto& row : w.exec_prepared("import_dept_existing", a.org, bigint_array(named)))
      existing.insert(row[0].as<std::int64_t>());
  std::vector<department> departments_created;
  std::vector<const import_row*> stored;
  std::vector<std::vector<std::int64_t>> row_departments;  // per stored row; empty: leave as they are
  std::vector<bool> sets_departments;
  for (const auto* r : good) {
    std::vector<std::int64_t> deps;
    bool sets = false;
    if (r->departments) {
      sets = true;
      bool all = true;
      for (auto d : *r->departments) all = all && existing.count(d) > 0;
      if (!all) {
        out.push_back(
            {r->row, "error", 0, error{error_code::not_found, "a department in departments does not exist"}});
        continue;
      }
      deps = *r->departments;
    } else if (!r->department_path.empty()) {
      sets = true;
      deps.push_back(ensure_path(w, a.org, r->department_path, paths, departments_created));
    }
    stored.push_back(r);
    row_departments.push_back(std::move(deps));
    sets_departments.push_back(sets);
  }
  std::vector<std::string> names, mobiles, titles, emails, roles;
  for (const auto* r : stored) {
    names.push_back(r->name);
    mobiles.push_back(r->mobile);
    titles.push_back(r->title);
    emails.push_back(r->email);
    roles.push_back(r->role);
  }
  std::map<std::string, std::pair<std::int64_t, bool>> by_mobile;  // mobile -> (id, inserted)
  if (!stored.empty())
    for (const auto& row : w.exec_prepared("import_upsert", a.org, text_array(names), text_array(mobiles),
                                           text_array(titles), text_array(emails), text_array(roles)))
      by_mobile[row[1].as<std::string>()] = {row[0].as<std::int64_t>(), row[2].as<bool>()};
  std::vector<std::int64_t> members, member_departments, reset;
  int created = 0, updated = 0;
  for (std::size_t i = 0; i < stored.size(); ++i) {
    auto [id, inserted] = by_mobile.at(stored[i]->mobile);
    inserted ? ++created : ++updated;
    out.push_back({stored[i]->row, inserted ? "created" : "updated", id, std::nullopt});
    if (!sets_departments[i]) continue;
    reset.push_back(id);
    for (auto d : row_departments[i]) {
      members.push_back(id);
      member_departments.push_back(d);
    }
  }
  if (!reset.empty()) w.exec_prepared("import_departments_reset", a.org, bigint_array(reset));
  if (!members.empty())
    w.exec_prepared("import_departments_insert", a.org, bigint_array(members),
                    bigint_array(member_departments));
  if (event_store::wants_contact_events(w, a.org)) {
    std::vector<contact_event> events;
    for (const auto& d : departments_created) events.push_back(department_event("created", d));
    std::vector<std::int64_t> ids;
    std::map<std::int64_t, bool> inserted;
    for (const auto& o : out)
      if (o.user) {
        ids.push_back(o.user);
        inserted[o.user] = o.status == "created";
      }
    if (!ids.empty())
      for (const auto& row : w.exec_prepared("import_users_read", a.org, bigint_array(ids))) {
        auto u = read_user(row);
        events.push_back({inserted[u.id] ? "member.added" : "member.updated", protocol::to_json(u)});
      }
    event_store::enqueue(w, a.org, events);
  }
  audit_store::append(w, a, "user.import", "users",
                      {{"rows", boost::json::array{rows.front().row, rows.back().row}},
                       {"created", created},
                       {"updated", updated},
                       {"failed", static_cast<int>(rows.size()) - created - updated},
                       {"departments_created", static_cast<int>(departments_created.size())}});
  w.commit();
  std::sort(out.begin(), out.end(),
            [](const import_outcome& x, const import_outcome& y) { return x.row < y.row; });
  return out;
}

}  // namespace

void import_store::prepare(pqxx::connection& c) {
  c.prepare("import_tree_lock", "SELECT pg_advisory_xact_lock(hashtextextended('departments', $1))");
  c.prepare("import_dept_find",
            "SELECT id FROM departments WHERE org_id = $1 AND coalesce(parent_id, 0) = "
            "coalesce(NULLIF($2::text, '')::bigint, 0) AND name = $3");
  c.prepare("import_dept_insert",
            "INSERT INTO departments (org_id, parent_id, name) VALUES ($1, NULLIF($2::text, '')::bigint, $3) "
            "RETURNING id");
  c.prepare("import_dept_existing",
            "SELECT id FROM departments WHERE org_id = $1 AND id = ANY($2::bigint[])");
  // One statement for the chunk's users: new numbers are inserted, known ones updated. xmax = 0
  // tells an inserted row from an updated one.
  c.prepare(
      "import_upsert",
      "INSERT INTO users AS u (org_id, name, mobile, title, email, role) "
      "SELECT $1, t.name, t.mobile, t.title, t.email, t.role "
      "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(name, mobile, title, "
      "email, role) "
      "ON CONFLICT (org_id, mobile) WHERE status <> 'removed' DO UPDATE SET name = EXCLUDED.name, "
      "title = EXCLUDED.title, email = CASE WHEN EXCLUDED.email = '' THEN u.email ELSE EXCLUDED.email END, "
      "updated_at = now() "
      "RETURNING u.id, u.mobile, (u.xmax = 0)");
  c.prepare("import_users_read",
            "SELECT " + user_columns("u.") +
                " FROM users u WHERE u.org_id = $1 AND u.id = ANY($2::bigint[]) ORDER BY u.id");
  c.prepare("import_departments_reset",
            "DELETE FROM user_departments WHERE org_id = $1 AND user_id = ANY($2::bigint[])");
  c.prepare("import_departments_insert",
            "INSERT INTO user_departments (org_id, user_id, department_id) "
            "SELECT $1, u, d FROM unnest($2::bigint[], $3::bigint[]) AS t(u, d) ON CONFLICT DO NOTHING");
}

std::vector<import_outcome> import_store::store_chunk(pqxx::connection& c, const actor& a,
                                                      const std::vector<import_row>& rows,
                                                      std::map<std::string, std::int64_t>& paths) {
  if (rows.empty()) return {};
  auto saved = paths;
  try {
    return store(c, a, rows, paths);
  } catch (const pqxx::broken_connection&) {
    paths = saved;  // departments created in the lost transaction may be gone
    throw;
  } catch (const pqxx::sql_error& e) {
    paths = saved;  // departments created in the rolled-back transaction are gone
    if (rows.size() == 1) {
      std::string what = e.what();
      return {{rows[0].row, "error", 0,
               error{error_code::bad_request,
                     "the database refused the row: " + what.substr(0, what.find('\n'))}}};
    }
  }
  std::vector<import_outcome> out;
  for (const auto& r : rows) {
    auto one = store_chunk(c, a, {r}, paths);
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

}  // namespace switchboard::storage
