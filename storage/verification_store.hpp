// Verification codes sent by SMS, and invitations accepted with one. Codes are kept as a salted
// SHA-256 only; the throttles and the try limit live in the database, so every node applies them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/connection>
#include <pqxx/transaction>

#include "protocol/errors.hpp"
#include "protocol/types.hpp"
#include "storage/audit_store.hpp"
#include "storage/user_store.hpp"

namespace switchboard::storage {

inline constexpr int code_max_tries = 5;
inline constexpr int codes_per_hour = 10;
inline constexpr int code_min_interval_s = 60;

struct code_settings {
  int ttl_s = 300;
};

class code_store {
 public:
  static void prepare(pqxx::connection& c);
  // Stores a new code for (org, mobile, purpose) when someone may receive one: for `login` a user of
  // the org with that number, for `invitation` a pending invitation to it. Returns the code to
  // send, nullopt when no one may receive it (nothing is stored or sent, and the caller answers as
  // if it was: the answer never tells whether a number is a member), or `rate_limited`.
  static protocol::result<std::optional<std::string>> issue(pqxx::connection& c, std::int64_t org,
                                                            const std::string& mobile,
                                                            const std::string& purpose,
                                                            const code_settings& s);
  enum class check { ok, wrong, dead };
  // Checks `code` against the newest code of (org, mobile, purpose) inside `w`. `ok` marks it used;
  // `wrong` counts a try. Commit `w` in both cases (a wrong try must stay counted).
  static check verify(pqxx::work& w, std::int64_t org, const std::string& mobile, const std::string& purpose,
                      const std::string& code);
};

// The error a failed check answers with.
protocol::error code_error(code_store::check c);

struct invitation {
  std::int64_t id = 0, org = 0;
  std::string mobile, name, title, role;
  std::vector<std::int64_t> departments;
  std::int64_t created_by = 0, created_at = 0, expires_at = 0;
  std::string status;  // pending | accepted | revoked | expired
  std::optional<std::int64_t> user;
};

boost::json::object to_json(const invitation& i);

struct new_invitation {
  std::string mobile, name, title, role = "member";
  std::vector<std::int64_t> departments;
  std::string code_hash;  // hex SHA-256 of the invitation code
  int ttl_s = 7 * 24 * 3600;
};

struct accepted_invitation {
  invitation inv;
  protocol::user user;
};

class invitation_store {
 public:
  static void prepare(pqxx::connection& c);
  // `conflict` when an active member already has the number, `not_found` for a foreign department.
  static protocol::result<invitation> create(pqxx::connection& c, const actor& a, const new_invitation& n);
  // Newest first, paged like the audit log.
  static std::vector<invitation> list(pqxx::connection& c, std::int64_t org, std::int64_t before, int limit);
  // `conflict` once accepted; revoking twice is harmless.
  static protocol::result<invitation> revoke(pqxx::connection& c, const actor& a, std::int64_t id);
  // The invitee's acceptance: the invitation code's hash, the number it was sent to, and the SMS code
  // sent there. Creates the user (with `password_hash` when given).
  static protocol::result<accepted_invitation> accept(pqxx::connection& c, const std::string& code_hash,
                                                      const std::string& mobile, const std::string& sms_code,
                                                      const std::string& password_hash,
                                                      const std::string& ip);
};

}  // namespace switchboard::storage
