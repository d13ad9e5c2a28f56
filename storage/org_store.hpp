// Organizations: creation with their first owner.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "protocol/types.hpp"

namespace switchboard::storage {

struct new_owner {
  std::string name;
  std::string mobile;         // E.164, validated by the caller
  std::string password_hash;  // encoded by server::password_hasher
};

// One user of a bulk seed: no password (they sign in with the token issued alongside).
struct seed_user {
  std::string name;
  std::string mobile;      // E.164, validated by the caller
  std::string token_hash;  // hex SHA-256 of the token issued to them
};

struct created_org {
  std::int64_t org_id = 0;
  std::int64_t user_id = 0;
  protocol::user owner;  // as stored, read in the creating transaction
};

class org_store {
 public:
  // Registers this store's prepared statements on a new connection.
  static void prepare(pqxx::connection& c);

  // One transaction: the organization and its owner, who is also its first admin.
  static created_org create_with_owner(pqxx::connection& c, const std::string& org_name,
                                       const new_owner& owner);

  // Whether the organization exists.
  static bool exists(pqxx::connection& c, std::int64_t org);

  // One transaction: members of `org` with one live token each, set-based (a few thousand per
  // call is fast). Returns their ids in input order. A taken mobile aborts the whole call with
  // pqxx::unique_violation.
  static std::vector<std::int64_t> seed_members(pqxx::connection& c, std::int64_t org,
                                                const std::vector<seed_user>& users,
                                                std::int64_t token_expires_at_ms);
};

}  // namespace switchboard::storage
