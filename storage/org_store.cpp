// Organizations: creation with their first owner.
#include "storage/org_store.hpp"

#include <pqxx/pqxx>

namespace switchboard::storage {

void org_store::prepare(pqxx::connection& c) {
  c.prepare("org_insert", "INSERT INTO orgs (name) VALUES ($1) RETURNING id");
  c.prepare("org_owner_insert",
            "INSERT INTO users (org_id, name, mobile, role, password_hash) VALUES ($1, $2, $3, 'owner', $4) "
            "RETURNING id");
}

created_org org_store::create_with_owner(pqxx::connection& c, const std::string& org_name,
                                         const new_owner& owner) {
  pqxx::work w(c);
  created_org out;
  out.org_id = w.exec_prepared1("org_insert", org_name)[0].as<std::int64_t>();
  out.user_id =
      w.exec_prepared1("org_owner_insert", out.org_id, owner.name, owner.mobile, owner.password_hash)[0]
          .as<std::int64_t>();
  w.commit();
  return out;
}

}  // namespace switchboard::storage
