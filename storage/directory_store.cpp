// The directory and its visibility rules.
#include "storage/directory_store.hpp"

#include <pqxx/pqxx>

#include "storage/sql_util.hpp"
#include "storage/user_store.hpp"

namespace switchboard::storage {

namespace {

// The departments whose members `v` may see, subtrees included ("{...}" for bigint[]), or an
// empty optional when `v` sees everyone.
std::optional<std::string> visible_departments(pqxx::transaction_base& t, const viewer& v,
                                               const org_policy& p) {
  if (directory_store::sees_everyone(v, p)) return std::nullopt;
  std::vector<std::int64_t> roots;
  auto own = t.exec_prepared1("dir_own_departments", v.org, v.user)[0].as<std::string>();
  for (auto d : split_ids(own)) {
    if (p.directory_visibility == "department") {
      roots.push_back(d);
    } else if (auto it = p.visibility_rules.find(d); it != p.visibility_rules.end()) {
      roots.insert(roots.end(), it->second.begin(), it->second.end());
    }
  }
  if (roots.empty()) return std::string("{}");
  return t.exec_prepared1("dir_subtrees", v.org, bigint_array(roots))[0].as<std::string>();
}

// The visibility condition on users aliased u, parameters $1 org, $2 viewer, $3 departments
// ('' when the viewer sees everyone).
constexpr const char* visible_sql =
    "($3 = '' OR u.id = $2 "
    " OR EXISTS (SELECT 1 FROM user_departments ud WHERE ud.org_id = $1 AND ud.user_id = u.id "
    "            AND ud.department_id = ANY(NULLIF($3, '')::bigint[])) "
    " OR EXISTS (SELECT 1 FROM conv_members mine JOIN conv_members theirs "
    "              ON theirs.org_id = mine.org_id AND theirs.conv_id = mine.conv_id AND theirs.user_id = "
    "u.id "
    "            WHERE mine.org_id = $1 AND mine.user_id = $2))";

// LIKE's wildcards and escape character, escaped.
std::string like_prefix(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "%";
}

}  // namespace

void directory_store::prepare(pqxx::connection& c) {
  c.prepare("dir_own_departments",
            "SELECT array_to_string(ARRAY(SELECT department_id FROM user_departments "
            "WHERE org_id = $1 AND user_id = $2), ',')");
  c.prepare(
      "dir_subtrees",
      "WITH RECURSIVE sub(id) AS (SELECT id FROM departments WHERE org_id = $1 AND id = ANY($2::bigint[]) "
      "UNION SELECT d.id FROM departments d JOIN sub ON d.org_id = $1 AND d.parent_id = sub.id) "
      "SELECT '{' || coalesce(string_agg(id::text, ','), '') || '}' FROM sub");
  // $4 name prefix pattern, $5 mobile prefix pattern ('' for none), $6 department (0: any),
  // $7/$8 the keyset cursor, $9 the page size.
  c.prepare("dir_search",
            "SELECT " + user_columns("u.") +
                ", lower(u.name) FROM users u WHERE u.org_id = $1 AND u.status <> 'removed' "
                "AND u.kind = 'person' AND " +
                visible_sql +
                " AND ($4 = '' OR lower(u.name) COLLATE \"C\" LIKE $4) "
                " AND ($5 = '' OR u.mobile COLLATE \"C\" LIKE $5) "
                " AND ($6 = 0 OR EXISTS (SELECT 1 FROM user_departments d6 WHERE d6.org_id = $1 "
                "      AND d6.user_id = u.id AND d6.department_id = $6)) "
                " AND ($8 = 0 OR (lower(u.name) COLLATE \"C\", u.id) > ($7 COLLATE \"C\", $8)) "
                "ORDER BY lower(u.name) COLLATE \"C\", u.id LIMIT $9");
  c.prepare("dir_visible_among",
            std::string("SELECT u.id FROM users u WHERE u.org_id = $1 AND u.status <> 'removed' "
                        "AND u.id = ANY($4::bigint[]) AND ") +
                visible_sql);
  c.prepare(
      "dir_departments",
      "WITH RECURSIVE up(id) AS (SELECT id FROM departments WHERE org_id = $1 "
      "  AND ($2 = '' OR id = ANY(NULLIF($2, '')::bigint[])) "
      " UNION SELECT d.parent_id FROM departments d JOIN up ON d.org_id = $1 AND d.id = up.id "
      "  WHERE d.parent_id IS NOT NULL) "
      "SELECT id, parent_id, name, sort FROM departments WHERE org_id = $1 AND id IN (SELECT id FROM up) "
      "ORDER BY parent_id NULLS FIRST, sort, name, id");
}

std::vector<directory_entry> directory_store::search(pqxx::connection& c, const viewer& v,
                                                     const org_policy& p, const directory_query& q) {
  pqxx::read_transaction t(c);
  // The optional filters are `$n = '' OR ...`: planned with their values, they fold away and the
  // name index serves both the prefix and the order (docs/storage.md).
  t.exec("SET LOCAL plan_cache_mode = force_custom_plan");
  auto deps = visible_departments(t, v, p).value_or("");
  bool by_mobile = !q.q.empty() && (q.q[0] == '+' || (q.q[0] >= '0' && q.q[0] <= '9'));
  std::string lower_q = q.q;
  for (auto& ch : lower_q)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  auto name_pattern = q.q.empty() || by_mobile ? std::string() : like_prefix(lower_q);
  auto mobile_pattern = by_mobile ? like_prefix(q.q) : std::string();
  std::vector<directory_entry> out;
  for (const auto& r : t.exec_prepared("dir_search", v.org, v.user, deps, name_pattern, mobile_pattern,
                                       q.department, q.after_name, q.after_id, q.limit))
    out.push_back({read_user(r), r[user_column_count].as<std::string>()});
  return out;
}

std::vector<std::int64_t> directory_store::visible_among(pqxx::connection& c, const viewer& v,
                                                         const org_policy& p,
                                                         const std::vector<std::int64_t>& users) {
  pqxx::read_transaction t(c);
  auto deps = visible_departments(t, v, p).value_or("");
  std::vector<std::int64_t> out;
  for (const auto& r : t.exec_prepared("dir_visible_among", v.org, v.user, deps, bigint_array(users)))
    out.push_back(r[0].as<std::int64_t>());
  return out;
}

std::vector<department> directory_store::departments(pqxx::connection& c, const viewer& v,
                                                     const org_policy& p) {
  pqxx::read_transaction t(c);
  auto deps = visible_departments(t, v, p).value_or("");
  std::vector<department> out;
  if (deps == "{}") return out;
  for (const auto& r : t.exec_prepared("dir_departments", v.org, deps)) {
    department d;
    d.id = r[0].as<std::int64_t>();
    if (!r[1].is_null()) d.parent = r[1].as<std::int64_t>();
    d.name = r[2].as<std::string>();
    d.sort = r[3].as<int>();
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace switchboard::storage
