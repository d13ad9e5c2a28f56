// Users and their login tokens: one method per use case. Every query is scoped by org_id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <pqxx/connection>

#include "protocol/errors.hpp"
#include "protocol/types.hpp"

namespace switchboard::storage {

struct login_candidate {
  protocol::user user;
  std::string password_hash;  // empty when the user has no password
};

// What a token resolves to: enough to authorize a request without another query.
struct token_info {
  std::int64_t org_id = 0;
  std::int64_t user_id = 0;
  std::int64_t expires_at_ms = 0;
  std::string role;
  std::string status;
};

struct new_user {
  std::string name, mobile, title, email, role;
  std::string password_hash;              // may be empty
  std::vector<std::int64_t> departments;  // distinct ids
};

class user_store {
 public:
  static void prepare(pqxx::connection& c);

  // The user behind (org, mobile), with the password hash, for a login.
  static std::optional<login_candidate> find_for_login(pqxx::connection& c, std::int64_t org,
                                                       const std::string& mobile);
  // The same inside a transaction that is still open (the row it wrote itself).
  static std::optional<protocol::user> get_in(pqxx::transaction_base& t, std::int64_t org, std::int64_t user);
  static std::optional<protocol::user> get(pqxx::connection& c, std::int64_t org, std::int64_t user);

  // Stores the SHA-256 of a new token.
  static void insert_token(pqxx::connection& c, const std::string& hash, std::int64_t org, std::int64_t user,
                           std::int64_t expires_at_ms);
  // A live token: not revoked, not expired. The user's role and status come with it.
  static std::optional<token_info> resolve_token(pqxx::connection& c, const std::string& hash);
  // resolve_token and the user it belongs to, in one round trip (hello).
  static std::optional<std::pair<token_info, protocol::user>> resolve_token_with_user(
      pqxx::connection& c, const std::string& hash);
  static void revoke_token(pqxx::connection& c, const std::string& hash);

  // Creates a user; nullopt when the mobile is taken in the org (conflict).
  // `conflict` when the mobile is taken in the org, `not_found` when a department is not the org's.
  static protocol::result<protocol::user> create(pqxx::connection& c, std::int64_t org, const new_user& u);

  // Which of `users` exist in `org` and are not removed.
  static std::vector<std::int64_t> existing_active(pqxx::connection& c, std::int64_t org,
                                                   const std::vector<std::int64_t>& users);
};

}  // namespace switchboard::storage
