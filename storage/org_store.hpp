// Organizations: creation with their first owner.
#pragma once

#include <cstdint>
#include <string>

#include <pqxx/connection>

namespace switchboard::storage {

struct new_owner {
  std::string name;
  std::string mobile;         // E.164, validated by the caller
  std::string password_hash;  // encoded by server::password_hasher
};

struct created_org {
  std::int64_t org_id = 0;
  std::int64_t user_id = 0;
};

class org_store {
 public:
  // Registers this store's prepared statements on a new connection.
  static void prepare(pqxx::connection& c);

  // One transaction: the organization and its owner, who is also its first admin.
  static created_org create_with_owner(pqxx::connection& c, const std::string& org_name,
                                       const new_owner& owner);
};

}  // namespace switchboard::storage
