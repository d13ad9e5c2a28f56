// Organizations: creation with their first owner.
#include "storage/org_store.hpp"

#include <pqxx/pqxx>

#include "storage/sql_util.hpp"
#include "storage/user_store.hpp"

namespace switchboard::storage {

void org_store::prepare(pqxx::connection& c) {
  c.prepare("org_insert", "INSERT INTO orgs (name) VALUES ($1) RETURNING id");
  c.prepare("org_owner_insert",
            "INSERT INTO users (org_id, name, mobile, role, password_hash) VALUES ($1, $2, $3, 'owner', $4) "
            "RETURNING id");
  c.prepare("org_exists", "SELECT EXISTS (SELECT 1 FROM orgs WHERE id = $1 AND deleted_at IS NULL)");
  // Users and their tokens in one statement; the final SELECT keeps the input order.
  c.prepare("org_seed_members",
            "WITH input AS ("
            "  SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(name, mobile, "
            "hash, n)),"
            " ins AS ("
            "  INSERT INTO users (org_id, name, mobile) SELECT $1, name, mobile FROM input ORDER BY n"
            "  RETURNING id, mobile),"
            " tok AS ("
            "  INSERT INTO tokens (hash, org_id, user_id, expires_at)"
            "  SELECT decode(input.hash, 'hex'), $1, ins.id, to_timestamp($5::bigint / 1000.0)"
            "  FROM ins JOIN input USING (mobile))"
            " SELECT ins.id FROM ins JOIN input USING (mobile) ORDER BY input.n");
}

bool org_store::exists(pqxx::connection& c, std::int64_t org) {
  pqxx::read_transaction r(c);
  return r.exec_prepared1("org_exists", org)[0].as<bool>();
}

std::vector<std::int64_t> org_store::seed_members(pqxx::connection& c, std::int64_t org,
                                                  const std::vector<seed_user>& users,
                                                  std::int64_t token_expires_at_ms) {
  std::vector<std::string> names, mobiles, hashes;
  names.reserve(users.size());
  mobiles.reserve(users.size());
  hashes.reserve(users.size());
  for (const auto& u : users) {
    names.push_back(u.name);
    mobiles.push_back(u.mobile);
    hashes.push_back(u.token_hash);
  }
  pqxx::work w(c);
  auto rows = w.exec_prepared("org_seed_members", org, text_array(names), text_array(mobiles),
                              text_array(hashes), token_expires_at_ms);
  w.commit();
  std::vector<std::int64_t> ids;
  ids.reserve(rows.size());
  for (const auto& r : rows) ids.push_back(r[0].as<std::int64_t>());
  return ids;
}

created_org org_store::create_with_owner(pqxx::connection& c, const std::string& org_name,
                                         const new_owner& owner) {
  pqxx::work w(c);
  created_org out;
  out.org_id = w.exec_prepared1("org_insert", org_name)[0].as<std::int64_t>();
  out.user_id =
      w.exec_prepared1("org_owner_insert", out.org_id, owner.name, owner.mobile, owner.password_hash)[0]
          .as<std::int64_t>();
  out.owner = *user_store::get_in(w, out.org_id, out.user_id);
  w.commit();
  return out;
}

}  // namespace switchboard::storage
