// Users and tokens.
#include "storage/user_store.hpp"

#include <pqxx/pqxx>

#include "storage/sql_util.hpp"

namespace switchboard::storage {

namespace {
// The last column is the user's departments, "id,id,..." in id order.
constexpr const char* user_columns =
    "org_id, id, name, mobile, title, email, role, status, (extract(epoch FROM created_at) * 1000)::bigint, "
    "array_to_string(ARRAY(SELECT ud.department_id FROM user_departments ud "
    "WHERE ud.org_id = users.org_id AND ud.user_id = users.id ORDER BY 1), ',')";

// The same columns qualified with the alias u, for joins.
constexpr const char* user_columns_u =
    "u.org_id, u.id, u.name, u.mobile, u.title, u.email, u.role, u.status, "
    "(extract(epoch FROM u.created_at) * 1000)::bigint, "
    "array_to_string(ARRAY(SELECT ud.department_id FROM user_departments ud "
    "WHERE ud.org_id = u.org_id AND ud.user_id = u.id ORDER BY 1), ',')";

// A user from user_columns starting at column `at`.
protocol::user read_user(const pqxx::row& r, pqxx::row::size_type at = 0) {
  protocol::user u;
  u.org_id = r[at].as<std::int64_t>();
  u.id = r[at + 1].as<std::int64_t>();
  u.name = r[at + 2].as<std::string>();
  u.mobile = r[at + 3].as<std::string>();
  u.title = r[at + 4].as<std::string>();
  u.email = r[at + 5].as<std::string>();
  u.role = r[at + 6].as<std::string>();
  u.status = r[at + 7].as<std::string>();
  u.created_at_ms = r[at + 8].as<std::int64_t>();
  auto deps = r[at + 9].as<std::string>();
  for (std::size_t i = 0; i < deps.size();) {
    auto comma = deps.find(',', i);
    if (comma == std::string::npos) comma = deps.size();
    u.departments.push_back(std::stoll(deps.substr(i, comma - i)));
    i = comma + 1;
  }
  return u;
}

token_info read_token_info(const pqxx::row& r) {
  return token_info{r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>(),
                    r[3].as<std::string>(), r[4].as<std::string>()};
}
}  // namespace

void user_store::prepare(pqxx::connection& c) {
  c.prepare("user_for_login",
            std::string("SELECT ") + user_columns +
                ", coalesce(password_hash, '') FROM users WHERE org_id = $1 AND mobile = $2");
  c.prepare("user_get", std::string("SELECT ") + user_columns + " FROM users WHERE org_id = $1 AND id = $2");
  c.prepare("token_insert",
            "INSERT INTO tokens (hash, org_id, user_id, expires_at) "
            "VALUES (decode($1, 'hex'), $2, $3, to_timestamp($4::double precision / 1000))");
  c.prepare("token_resolve",
            "SELECT t.org_id, t.user_id, (extract(epoch FROM t.expires_at) * 1000)::bigint, u.role, u.status "
            "FROM tokens t JOIN users u ON u.org_id = t.org_id AND u.id = t.user_id "
            "WHERE t.hash = decode($1, 'hex') AND t.revoked_at IS NULL AND t.expires_at > now()");
  // hello: the token and its user in one round trip.
  c.prepare(
      "token_resolve_user",
      "SELECT t.org_id, t.user_id, (extract(epoch FROM t.expires_at) * 1000)::bigint, u.role, u.status, " +
          std::string(user_columns_u) +
          " FROM tokens t JOIN users u ON u.org_id = t.org_id AND u.id = t.user_id "
          "WHERE t.hash = decode($1, 'hex') AND t.revoked_at IS NULL AND t.expires_at > now()");
  c.prepare("token_revoke",
            "UPDATE tokens SET revoked_at = now() WHERE hash = decode($1, 'hex') AND revoked_at IS NULL");
  c.prepare("user_departments_insert",
            "INSERT INTO user_departments (org_id, user_id, department_id) "
            "SELECT $1, $2, d.id FROM departments d WHERE d.org_id = $1 AND d.id = ANY($3::bigint[])");
  c.prepare("user_insert",
            std::string("INSERT INTO users (org_id, name, mobile, title, email, role, password_hash) "
                        "VALUES ($1, $2, $3, $4, $5, $6, nullif($7, '')) "
                        "ON CONFLICT (org_id, mobile) DO NOTHING RETURNING ") +
                user_columns);
  c.prepare("users_existing_active",
            "SELECT id FROM users WHERE org_id = $1 AND id = ANY($2::bigint[]) AND status <> 'removed'");
}

std::optional<login_candidate> user_store::find_for_login(pqxx::connection& c, std::int64_t org,
                                                          const std::string& mobile) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("user_for_login", org, mobile);
  if (r.empty()) return std::nullopt;
  return login_candidate{read_user(r[0]), r[0][10].as<std::string>()};
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

std::optional<std::pair<token_info, protocol::user>> user_store::resolve_token_with_user(
    pqxx::connection& c, const std::string& hash) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("token_resolve_user", hash);
  if (r.empty()) return std::nullopt;
  return std::make_pair(read_token_info(r[0]), read_user(r[0], 5));
}

void user_store::revoke_token(pqxx::connection& c, const std::string& hash) {
  pqxx::work w(c);
  w.exec_prepared("token_revoke", hash);
  w.commit();
}

protocol::result<protocol::user> user_store::create(pqxx::connection& c, std::int64_t org,
                                                    const new_user& u) {
  pqxx::work w(c);
  auto r = w.exec_prepared("user_insert", org, u.name, u.mobile, u.title, u.email, u.role, u.password_hash);
  if (r.empty())
    return protocol::error{protocol::error_code::conflict,
                           "mobile " + u.mobile + " is taken in this organization"};
  auto id = r[0][1].as<std::int64_t>();
  if (!u.departments.empty()) {
    auto added = w.exec_prepared("user_departments_insert", org, id, bigint_array(u.departments));
    if (added.affected_rows() != u.departments.size())
      return protocol::error{protocol::error_code::not_found, "a department in departments does not exist"};
  }
  auto created = get_in(w, org, id);
  w.commit();
  return *created;
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
