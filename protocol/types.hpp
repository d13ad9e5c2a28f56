// The protocol's objects (User, Conv, Message) and their JSON encoding.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::protocol {

// An account's role in its organization and its status: enums inside, the spec's strings on the
// wire and in the database.
enum class role { member, admin, owner };
enum class account_status { active, suspended, removed };
std::string_view to_string(role r);
std::string_view to_string(account_status s);
std::optional<role> parse_role(std::string_view s);
std::optional<account_status> parse_account_status(std::string_view s);
// Admins and the owner manage the organization.
inline bool is_admin(role r) {
  return r == role::admin || r == role::owner;
}

struct user {
  std::int64_t id = 0;
  std::int64_t org_id = 0;
  std::string name, mobile, title, email;
  protocol::role role = protocol::role::member;
  account_status status = account_status::active;
  std::vector<std::int64_t> departments;
  std::int64_t created_at_ms = 0;
  std::string avatar;
  // Set while suspended: why, and until when (none: until restored).
  std::string suspend_reason;
  std::optional<std::int64_t> suspended_until_ms;
  // Features blocked while the account stays active (send, call, create_group), and until when.
  std::vector<std::string> restricted;
  std::optional<std::int64_t> restricted_until_ms;
  bool bot = false;  // an integration app's user: no mobile, never logs in

  bool is_restricted(std::string_view feature) const;
};

struct conv {
  std::int64_t id = 0;
  std::string kind;  // direct | group
  std::string name;
  std::optional<std::int64_t> owner;
  int member_count = 0;
  // The lowest seq still stored: retention deleted every message below it (seqs are never reused).
  std::int64_t first_seq = 1;
  std::int64_t last_seq = 0;
  std::int64_t read_seq = 0;
  std::int64_t updated_at_ms = 0;
};

struct conv_member {
  std::int64_t user = 0;
  std::string role;  // owner | member
  std::int64_t joined_at_ms = 0;
};

struct message {
  std::int64_t conv = 0;
  std::int64_t seq = 0;
  std::int64_t msg_id = 0;
  std::int64_t from = 0;
  std::string client_msg_id;
  std::string type;
  std::string body_json;  // the body as stored: a JSON object's text
  std::int64_t ts = 0;
  bool recalled = false;
};

std::string id_string(std::int64_t id);
boost::json::object to_json(const user& u);
boost::json::object to_json(const conv& c);
boost::json::object to_json(const conv& c, const std::vector<conv_member>& members);
boost::json::object to_json(const message& m);

}  // namespace switchboard::protocol
