// Departments and the audit log.
#include "storage/dept_store.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "protocol/types.hpp"
#include "storage/sql_util.hpp"

namespace switchboard::storage {

using protocol::error;
using protocol::error_code;

namespace {

constexpr const char* dept_columns = "id, parent_id, name, sort";

department read_dept(const pqxx::row& r) {
  department d;
  d.id = r[0].as<std::int64_t>();
  if (!r[1].is_null()) d.parent = r[1].as<std::int64_t>();
  d.name = r[2].as<std::string>();
  d.sort = r[3].as<int>();
  return d;
}

std::optional<department> get_locked(pqxx::work& w, std::int64_t org, std::int64_t id) {
  auto r = w.exec_prepared("dept_get_locked", org, id);
  if (r.empty()) return std::nullopt;
  return read_dept(r[0]);
}

// Tree changes of one organization run one at a time: two moves at once could make a cycle that
// neither would alone.
void lock_tree(pqxx::work& w, std::int64_t org) {
  w.exec_prepared("dept_tree_lock", org);
}

error not_found(std::int64_t id) {
  return error{error_code::not_found, "department " + protocol::id_string(id) + " not found"};
}

error name_taken(const std::string& name) {
  return error{error_code::conflict, "a department named \"" + name + "\" already exists there"};
}

}  // namespace

void dept_store::prepare(pqxx::connection& c) {
  c.prepare("dept_tree_lock", "SELECT pg_advisory_xact_lock(hashtextextended('departments', $1))");
  c.prepare("dept_get",
            std::string("SELECT ") + dept_columns + " FROM departments WHERE org_id = $1 AND id = $2");
  c.prepare("dept_members_under",
            "WITH RECURSIVE sub(id) AS (SELECT id FROM departments WHERE org_id = $1 AND id = $2 "
            "UNION SELECT d.id FROM departments d JOIN sub ON d.org_id = $1 AND d.parent_id = sub.id) "
            "SELECT DISTINCT ud.user_id FROM user_departments ud JOIN sub ON ud.department_id = sub.id "
            "JOIN users u ON u.org_id = ud.org_id AND u.id = ud.user_id "
            "WHERE ud.org_id = $1 AND u.status <> 'removed' AND u.kind = 'person' ORDER BY 1 LIMIT $3");
  c.prepare("dept_get_locked", std::string("SELECT ") + dept_columns +
                                   " FROM departments WHERE org_id = $1 AND id = $2 FOR UPDATE");
  c.prepare("dept_insert", std::string("INSERT INTO departments (org_id, parent_id, name, sort) "
                                       "VALUES ($1, NULLIF($2::text, '')::bigint, $3, $4) RETURNING ") +
                               dept_columns);
  c.prepare(
      "dept_update",
      std::string("UPDATE departments SET parent_id = NULLIF($3::text, '')::bigint, name = $4, sort = $5 "
                  "WHERE org_id = $1 AND id = $2 RETURNING ") +
          dept_columns);
  // True when $3 is $2 or one of its descendants.
  c.prepare("dept_is_within",
            "WITH RECURSIVE sub(id) AS (SELECT $2::bigint UNION ALL "
            "SELECT d.id FROM departments d JOIN sub ON d.org_id = $1 AND d.parent_id = sub.id) "
            "SELECT EXISTS (SELECT 1 FROM sub WHERE id = $3)");
  c.prepare("dept_counts",
            "SELECT (SELECT count(*) FROM departments WHERE org_id = $1 AND parent_id = $2), "
            "(SELECT count(*) FROM user_departments WHERE org_id = $1 AND department_id = $2)");
  c.prepare(
      "dept_move_children",
      "UPDATE departments SET parent_id = NULLIF($3::text, '')::bigint WHERE org_id = $1 AND parent_id = $2");
  c.prepare("dept_move_members",
            "INSERT INTO user_departments (org_id, user_id, department_id) "
            "SELECT org_id, user_id, $3 FROM user_departments WHERE org_id = $1 AND department_id = $2 "
            "ON CONFLICT DO NOTHING");
  c.prepare("dept_drop_members", "DELETE FROM user_departments WHERE org_id = $1 AND department_id = $2");
  c.prepare("dept_delete", "DELETE FROM departments WHERE org_id = $1 AND id = $2");
}

protocol::result<department> dept_store::create(pqxx::connection& c, const actor& a, const std::string& name,
                                                std::optional<std::int64_t> parent, int sort) {
  pqxx::work w(c);
  lock_tree(w, a.org);
  if (parent && !get_locked(w, a.org, *parent)) return not_found(*parent);
  department d;
  auto clash = unique_or(w, name_taken(name), [&](pqxx::subtransaction& s) {
    d = read_dept(s.exec_prepared1("dept_insert", a.org, opt_param(parent), name, sort));
  });
  if (clash) return *clash;
  audit_store::append(w, a, "department.create", "department:" + protocol::id_string(d.id),
                      {{"after", to_json(d)}});
  event_store::enqueue(w, a.org, department_event("created", d));
  w.commit();
  return d;
}

protocol::result<department> dept_store::update(pqxx::connection& c, const actor& a, std::int64_t id,
                                                const department_patch& p) {
  pqxx::work w(c);
  lock_tree(w, a.org);
  auto before = get_locked(w, a.org, id);
  if (!before) return not_found(id);
  auto after = *before;
  if (p.name) after.name = *p.name;
  if (p.sort) after.sort = *p.sort;
  if (p.parent) {
    after.parent = *p.parent;
    if (after.parent) {
      if (!get_locked(w, a.org, *after.parent)) return not_found(*after.parent);
      if (w.exec_prepared1("dept_is_within", a.org, id, *after.parent)[0].as<bool>())
        return error{error_code::bad_request,
                     "a department cannot move under itself or its own subdepartment"};
    }
  }
  department stored;
  auto clash = unique_or(w, name_taken(after.name), [&](pqxx::subtransaction& s) {
    stored = read_dept(
        s.exec_prepared1("dept_update", a.org, id, opt_param(after.parent), after.name, after.sort));
  });
  if (clash) return *clash;
  audit_store::append(w, a, "department.update", "department:" + protocol::id_string(id),
                      {{"before", to_json(*before)}, {"after", to_json(stored)}});
  event_store::enqueue(w, a.org, department_event("updated", stored));
  w.commit();
  return stored;
}

protocol::result<department> dept_store::remove(pqxx::connection& c, const actor& a, std::int64_t id,
                                                bool move_to_parent) {
  pqxx::work w(c);
  lock_tree(w, a.org);
  auto d = get_locked(w, a.org, id);
  if (!d) return not_found(id);
  auto counts = w.exec_prepared1("dept_counts", a.org, id);
  auto children = counts[0].as<std::int64_t>(), members = counts[1].as<std::int64_t>();
  if ((children > 0 || members > 0) && !move_to_parent)
    return error{error_code::conflict, "department " + protocol::id_string(id) + " has " +
                                           std::to_string(children) + " subdepartments and " +
                                           std::to_string(members) +
                                           " members; delete with ?cascade=move_to_parent to move them up"};
  if (children > 0) {
    // A child whose name its new siblings already use makes the whole delete a conflict.
    auto clash =
        unique_or(w,
                  error{error_code::conflict,
                        "a subdepartment has the name of a department under the parent; rename it first"},
                  [&](pqxx::subtransaction& s) {
                    s.exec_prepared("dept_move_children", a.org, id, opt_param(d->parent));
                  });
    if (clash) return *clash;
  }
  if (members > 0 && d->parent) w.exec_prepared("dept_move_members", a.org, id, *d->parent);
  w.exec_prepared("dept_drop_members", a.org, id);
  w.exec_prepared("dept_delete", a.org, id);
  audit_store::append(w, a, "department.delete", "department:" + protocol::id_string(id),
                      {{"before", to_json(*d)},
                       {"moved", boost::json::object{{"subdepartments", children}, {"members", members}}}});
  event_store::enqueue(w, a.org, department_event("deleted", *d));
  w.commit();
  return *d;
}

std::optional<department> dept_store::get(pqxx::connection& c, std::int64_t org, std::int64_t id) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("dept_get", org, id);
  if (r.empty()) return std::nullopt;
  return read_dept(r[0]);
}

std::optional<std::vector<std::int64_t>> dept_store::members_under(pqxx::connection& c, std::int64_t org,
                                                                   std::int64_t id, int limit) {
  pqxx::nontransaction n(c);
  if (n.exec_prepared("dept_get", org, id).empty()) return std::nullopt;
  std::vector<std::int64_t> out;
  for (const auto& r : n.exec_prepared("dept_members_under", org, id, limit))
    out.push_back(r[0].as<std::int64_t>());
  return out;
}

contact_event department_event(const std::string& action, const department& d) {
  return {"department.changed", boost::json::object{{"action", action}, {"department", to_json(d)}}};
}

boost::json::object to_json(const department& d) {
  return {
      {"department", protocol::id_string(d.id)},
      {"name", d.name},
      {"parent", d.parent ? boost::json::value(protocol::id_string(*d.parent)) : boost::json::value(nullptr)},
      {"sort", d.sort}};
}

}  // namespace switchboard::storage
