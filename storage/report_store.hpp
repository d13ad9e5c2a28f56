// Reports of messages and their resolution by admins (PROTOCOL.md POST /v1/reports,
// /v1/admin/reports; docs/admin.md "Reports and moderation").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/connection>

#include "protocol/errors.hpp"
#include "protocol/types.hpp"
#include "storage/audit_store.hpp"
#include "storage/user_store.hpp"

namespace switchboard::storage {

struct report {
  std::int64_t id = 0, conv = 0, seq = 0, reporter = 0;
  std::string reason;
  std::string state;   // open | resolved
  std::string action;  // when resolved
  std::optional<std::int64_t> resolved_by, resolved_at_ms;
  std::int64_t created_at_ms = 0;
  std::optional<protocol::message> message;  // the reported message, while it is stored
};

// The Report object; with `with_message`, the reported Message as `message` (null when gone).
boost::json::object to_json(const report& r, bool with_message);

struct new_report {
  report r;
  bool created = true;  // false: the reporter's open report of that message, answered again
};

// POST /v1/admin/reports/{id}/resolve, read and checked.
struct resolution {
  std::string action;                 // dismiss | remove_message | warn | restrict | suspend
  std::string text;                   // warn: what the author reads; suspend: the reason
  std::vector<std::string> features;  // restrict
  std::optional<std::int64_t> until_ms;
};

// What a resolution changed, for the events it sends once committed.
struct resolved_report {
  report r;
  std::vector<std::int64_t> members;     // remove_message: who gets `recalled`
  std::optional<protocol::user> author;  // restrict, suspend: the author after the change
  std::int64_t author_id = 0;            // the reported message's sender
};

class report_store {
 public:
  static void prepare(pqxx::connection& c);
  // A member reports message (conv, seq): not_found without the conversation or the message,
  // forbidden for a non-member. Reporting a message again while its report is open answers that one.
  static protocol::result<new_report> create(pqxx::connection& c, std::int64_t org, std::int64_t reporter,
                                             std::int64_t conv, std::int64_t seq, const std::string& reason);
  // Newest first, with their messages; `state` empty: every state.
  static std::vector<report> list(pqxx::connection& c, std::int64_t org, const std::string& state,
                                  std::int64_t before, int limit);
  // One transaction: the action, the report resolved, and the audit entry (report.resolve). A
  // resolved report is conflict; restrict and suspend follow the admin routes' rules (never the
  // owner, never oneself).
  static protocol::result<resolved_report> resolve(pqxx::connection& c, const actor& a, std::int64_t id,
                                                   const resolution& how);
};

}  // namespace switchboard::storage
