// JSON encoding of the protocol's objects.
#include "protocol/types.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace switchboard::protocol {

std::string id_string(std::int64_t id) {
  return std::to_string(id);
}

std::string_view to_string(role r) {
  switch (r) {
    case role::member:
      return "member";
    case role::admin:
      return "admin";
    case role::owner:
      return "owner";
  }
  return "member";
}

std::string_view to_string(account_status s) {
  switch (s) {
    case account_status::active:
      return "active";
    case account_status::suspended:
      return "suspended";
    case account_status::removed:
      return "removed";
  }
  return "active";
}

std::optional<role> parse_role(std::string_view s) {
  for (auto r : {role::member, role::admin, role::owner})
    if (to_string(r) == s) return r;
  return std::nullopt;
}

std::optional<account_status> parse_account_status(std::string_view s) {
  for (auto a : {account_status::active, account_status::suspended, account_status::removed})
    if (to_string(a) == s) return a;
  return std::nullopt;
}

bool user::is_restricted(std::string_view feature) const {
  return std::find(restricted.begin(), restricted.end(), feature) != restricted.end();
}

namespace {
boost::json::value opt_ms(const std::optional<std::int64_t>& ms) {
  return ms ? boost::json::value(*ms) : boost::json::value(nullptr);
}
}  // namespace

boost::json::object to_json(const user& u) {
  boost::json::array deps;
  for (auto d : u.departments) deps.emplace_back(id_string(d));
  boost::json::object o{{"user", id_string(u.id)},
                        {"org", id_string(u.org_id)},
                        {"name", u.name},
                        {"mobile", u.mobile},
                        {"title", u.title},
                        {"email", u.email},
                        {"avatar", u.avatar},
                        {"departments", deps},
                        {"role", to_string(u.role)},
                        {"status", to_string(u.status)},
                        {"created_at", u.created_at_ms}};
  if (u.bot) {
    o["mobile"] = nullptr;
    o["bot"] = true;
  }
  if (u.status == account_status::suspended)
    o["suspension"] =
        boost::json::object{{"reason", u.suspend_reason}, {"until", opt_ms(u.suspended_until_ms)}};
  if (!u.restricted.empty()) {
    boost::json::array features;
    for (const auto& f : u.restricted) features.emplace_back(f);
    o["restriction"] =
        boost::json::object{{"features", std::move(features)}, {"until", opt_ms(u.restricted_until_ms)}};
  }
  return o;
}

boost::json::object to_json(const conv& c) {
  boost::json::object o{{"conv", id_string(c.id)},
                        {"kind", c.kind},
                        {"name", c.name},
                        {"member_count", c.member_count},
                        {"first_seq", c.first_seq},
                        {"last_seq", c.last_seq},
                        {"read_seq", c.read_seq},
                        {"unread", c.last_seq > c.read_seq ? c.last_seq - c.read_seq : 0},
                        {"updated_at", c.updated_at_ms}};
  if (c.owner)
    o["owner"] = id_string(*c.owner);
  else
    o["owner"] = nullptr;
  return o;
}

boost::json::object to_json(const conv& c, const std::vector<conv_member>& members) {
  auto o = to_json(c);
  boost::json::array arr;
  for (const auto& m : members)
    arr.emplace_back(
        boost::json::object{{"user", id_string(m.user)}, {"role", m.role}, {"joined_at", m.joined_at_ms}});
  o["members"] = std::move(arr);
  return o;
}

boost::json::object to_json(const message& m) {
  boost::json::object o{{"conv", id_string(m.conv)},
                        {"seq", m.seq},
                        {"msg_id", id_string(m.msg_id)},
                        {"from", id_string(m.from)},
                        {"client_msg_id", m.client_msg_id},
                        {"type", m.type},
                        {"ts", m.ts}};
  if (m.recalled) {
    o["body"] = boost::json::object{};
    o["recalled"] = true;
  } else {
    boost::system::error_code ec;
    auto body = boost::json::parse(m.body_json, ec);
    o["body"] = ec ? boost::json::value(boost::json::object{}) : std::move(body);
  }
  return o;
}

}  // namespace switchboard::protocol
