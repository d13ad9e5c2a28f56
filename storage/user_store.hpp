// Users and their login tokens: one method per use case. Every query is scoped by org_id.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <pqxx/connection>
#include <pqxx/row>
#include <pqxx/transaction>

#include "protocol/errors.hpp"
#include "protocol/types.hpp"
#include "storage/audit_store.hpp"

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
  protocol::role role = protocol::role::member;
  protocol::account_status status = protocol::account_status::active;
};

// The user columns of a SELECT, for the table aliased `alias` ("" or "u."), user_column_count of
// them, read back by read_user. Suspensions and restrictions whose `until` has passed read as
// lifted: nothing has to run at that time for them to end.
std::string user_columns(const std::string& alias);
inline constexpr int user_column_count = 16;
protocol::user read_user(const pqxx::row& r, pqxx::row::size_type at = 0);
// The effective status of the users row aliased `alias` (a suspension past its `until` is active).
std::string status_sql(const std::string& alias);

struct new_user {
  std::string name, mobile, title, email;
  protocol::role role = protocol::role::member;
  std::string password_hash;              // may be empty
  std::vector<std::int64_t> departments;  // distinct ids
};

// A change to a user; unset fields stay as they are.
struct user_patch {
  std::optional<std::string> name, mobile, title, email, avatar, password_hash;
  std::optional<protocol::role> role;
  std::optional<std::vector<std::int64_t>> departments;  // replaces the set
};

struct user_change {
  protocol::user before, after;
};

struct reclaim_batch {
  std::vector<user_change> removed;
  int looked = 0;         // candidates read (a full batch: there may be more)
  std::int64_t last = 0;  // the highest candidate id read: where the next batch starts
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
  // resolve_token and each token's user, for many tokens in one round trip (concurrent hellos):
  // the live ones, by hash; a hash missing from the answer is unknown, revoked or expired.
  static std::unordered_map<std::string, std::pair<token_info, protocol::user>> resolve_tokens_with_users(
      pqxx::connection& c, const std::vector<std::string>& hashes);
  static void revoke_token(pqxx::connection& c, const std::string& hash);

  // Creates a user, audited as `a`'s action. `conflict` when the mobile is taken in the org,
  // `not_found` when a department is not the org's.
  static protocol::result<protocol::user> create(pqxx::connection& c, const actor& a, const new_user& u);
  // The same inside `w`, unaudited (import audits its chunk as one action).
  static protocol::result<protocol::user> create_in(pqxx::work& w, std::int64_t org, const new_user& u);
  // Admin edits (`audit`) and a user's own profile edits (/v1/me). The owner keeps the owner role.
  static protocol::result<user_change> update(pqxx::connection& c, const actor& a, std::int64_t id,
                                              const user_patch& p, bool audit);
  // Removal: status removed, tokens revoked, departments left; the row and messages stay.
  static protocol::result<user_change> remove(pqxx::connection& c, const actor& a, std::int64_t id);
  // Reclamation (policy reclaim_inactive_days): looks at up to `limit` members after id `after` with
  // no login and no live session (in the cluster's live_users) for `days`, and removes those that
  // `live_here` (this node's own sessions) does not claim, audited as user.reclaim by actor system
  // (0), in one transaction.
  static reclaim_batch reclaim_inactive(pqxx::connection& c, std::int64_t org, int days, std::int64_t after,
                                        int limit, const std::function<bool(std::int64_t)>& live_here);
  static protocol::result<user_change> suspend(pqxx::connection& c, const actor& a, std::int64_t id,
                                               const std::string& reason,
                                               std::optional<std::int64_t> until_ms);
  static protocol::result<user_change> restore(pqxx::connection& c, const actor& a, std::int64_t id);
  // Empty `features` lifts every restriction.
  static protocol::result<user_change> restrict(pqxx::connection& c, const actor& a, std::int64_t id,
                                                const std::vector<std::string>& features,
                                                std::optional<std::int64_t> until_ms);
  // The same two inside the caller's transaction (a report's resolution), which commits them.
  static protocol::result<user_change> suspend_in(pqxx::work& w, const actor& a, std::int64_t id,
                                                  const std::string& reason,
                                                  std::optional<std::int64_t> until_ms);
  static protocol::result<user_change> restrict_in(pqxx::work& w, const actor& a, std::int64_t id,
                                                   const std::vector<std::string>& features,
                                                   std::optional<std::int64_t> until_ms);

  // Which of `users` exist in `org` and are not removed.
  static std::vector<std::int64_t> existing_active(pqxx::connection& c, std::int64_t org,
                                                   const std::vector<std::int64_t>& users);
};

}  // namespace switchboard::storage
