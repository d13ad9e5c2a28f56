// Verification codes and invitations.
#include "storage/verification_store.hpp"
#include "storage/event_store.hpp"

#include <openssl/rand.h>

#include <boost/json.hpp>
#include <pqxx/pqxx>
#include <stdexcept>

#include "storage/sql_util.hpp"

namespace switchboard::storage {

using protocol::error;
using protocol::error_code;

namespace {

void random_bytes(unsigned char* out, int n) {
  if (RAND_bytes(out, n) != 1) throw std::runtime_error("RAND_bytes failed");
}

// Six uniformly random digits (rejection sampling: no modulo bias).
std::string six_digits() {
  while (true) {
    unsigned char b[4];
    random_bytes(b, 4);
    std::uint32_t v =
        (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
    constexpr std::uint32_t limit = 4294000000u;  // a multiple of 1,000,000 below 2^32
    if (v >= limit) continue;
    auto s = std::to_string(v % 1000000);
    return std::string(6 - s.size(), '0') + s;
  }
}

std::string salt_hex() {
  unsigned char b[16];
  random_bytes(b, sizeof b);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto c : b) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

}  // namespace

void code_store::prepare(pqxx::connection& c) {
  // Requests for one number, from any node, one at a time: the throttles count what is committed.
  c.prepare("code_lock", "SELECT pg_advisory_xact_lock(hashtextextended('code:' || $2, $1))");
  c.prepare("code_may_receive_login",
            "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 AND mobile = $2 AND status <> 'removed') "
            "AND NOT EXISTS (SELECT 1 FROM orgs WHERE id = $1 AND deleted_at IS NOT NULL)");
  c.prepare(
      "code_may_receive_invitation",
      "SELECT EXISTS (SELECT 1 FROM invitations WHERE org_id = $1 AND mobile = $2 AND accepted_at IS NULL "
      "AND revoked_at IS NULL AND expires_at > now()) "
      "AND NOT EXISTS (SELECT 1 FROM orgs WHERE id = $1 AND deleted_at IS NOT NULL)");
  // Milliseconds until the next request is allowed (0: now), from the one-a-minute and ten-an-hour
  // throttles.
  c.prepare(
      "code_wait",
      "SELECT greatest(0, "
      " (SELECT (extract(epoch FROM max(created_at) + make_interval(secs => $3) - now()) * 1000)::bigint "
      "    FROM verification_codes WHERE org_id = $1 AND mobile = $2), "
      " (SELECT CASE WHEN count(*) >= $4 THEN "
      "    (extract(epoch FROM min(created_at) + interval '1 hour' - now()) * 1000)::bigint ELSE 0 END "
      "    FROM (SELECT created_at FROM verification_codes WHERE org_id = $1 AND mobile = $2 "
      "          AND created_at > now() - interval '1 hour' ORDER BY created_at DESC LIMIT $4) recent))");
  c.prepare("code_insert",
            "INSERT INTO verification_codes (org_id, mobile, purpose, salt, code_hash, expires_at) "
            "VALUES ($1, $2, $3, decode($4, 'hex'), sha256(decode($4, 'hex') || convert_to($5, 'UTF8')), "
            "now() + make_interval(secs => $6))");
  c.prepare("code_prune",
            "DELETE FROM verification_codes WHERE org_id = $1 AND mobile = $2 AND created_at < now() - "
            "interval '1 day'");
  c.prepare("code_newest",
            "SELECT id, tries, used_at IS NOT NULL, expires_at > now(), "
            "code_hash = sha256(salt || convert_to($4, 'UTF8')) "
            "FROM verification_codes WHERE org_id = $1 AND mobile = $2 AND purpose = $3 "
            "ORDER BY id DESC LIMIT 1 FOR UPDATE");
  c.prepare("code_used", "UPDATE verification_codes SET used_at = now() WHERE org_id = $1 AND id = $2");
  c.prepare("code_wrong", "UPDATE verification_codes SET tries = tries + 1 WHERE org_id = $1 AND id = $2");
}

protocol::result<std::optional<std::string>> code_store::issue(pqxx::connection& c, std::int64_t org,
                                                               const std::string& mobile,
                                                               const std::string& purpose,
                                                               const code_settings& s) {
  pqxx::work w(c);
  w.exec_prepared("code_lock", org, mobile);
  auto may = w.exec_prepared1(purpose == "login" ? "code_may_receive_login" : "code_may_receive_invitation",
                              org, mobile)[0]
                 .as<bool>();
  if (!may) return std::optional<std::string>{};
  auto wait =
      w.exec_prepared1("code_wait", org, mobile, code_min_interval_s, codes_per_hour)[0].as<std::int64_t>();
  if (wait > 0)
    return error{error_code::rate_limited,
                 "a code was sent to this number recently; wait before asking again", wait};
  auto code = six_digits();
  w.exec_prepared("code_prune", org, mobile);
  w.exec_prepared("code_insert", org, mobile, purpose, salt_hex(), code, s.ttl_s);
  w.commit();
  return std::optional<std::string>{code};
}

code_store::check code_store::verify(pqxx::work& w, std::int64_t org, const std::string& mobile,
                                     const std::string& purpose, const std::string& code) {
  auto r = w.exec_prepared("code_newest", org, mobile, purpose, code);
  if (r.empty()) return check::dead;
  auto id = r[0][0].as<std::int64_t>();
  auto tries = r[0][1].as<int>();
  bool used = r[0][2].as<bool>(), live = r[0][3].as<bool>(), match = r[0][4].as<bool>();
  if (used || !live || tries >= code_max_tries) return check::dead;
  if (!match) {
    w.exec_prepared("code_wrong", org, id);
    return check::wrong;
  }
  w.exec_prepared("code_used", org, id);
  return check::ok;
}

error code_error(code_store::check c) {
  if (c == code_store::check::wrong) return error{error_code::unauthorized, "wrong code"};
  return error{error_code::unauthorized,
               "no valid code: it expired, was used, or had 5 wrong tries; request a new one"};
}

// --- invitations ---------------------------------------------------------------------------------

namespace {

constexpr const char* invitation_columns =
    "id, org_id, mobile, name, title, role, array_to_string(departments, ','), created_by, "
    "(extract(epoch FROM created_at) * 1000)::bigint, (extract(epoch FROM expires_at) * 1000)::bigint, "
    "CASE WHEN accepted_at IS NOT NULL THEN 'accepted' WHEN revoked_at IS NOT NULL THEN 'revoked' "
    "WHEN expires_at <= now() THEN 'expired' ELSE 'pending' END, user_id";

invitation read_invitation(const pqxx::row& r) {
  invitation i;
  i.id = r[0].as<std::int64_t>();
  i.org = r[1].as<std::int64_t>();
  i.mobile = r[2].as<std::string>();
  i.name = r[3].as<std::string>();
  i.title = r[4].as<std::string>();
  i.role = r[5].as<std::string>();
  i.departments = split_ids(r[6].as<std::string>());
  i.created_by = r[7].as<std::int64_t>();
  i.created_at = r[8].as<std::int64_t>();
  i.expires_at = r[9].as<std::int64_t>();
  i.status = r[10].as<std::string>();
  if (!r[11].is_null()) i.user = r[11].as<std::int64_t>();
  return i;
}

std::string target_of(std::int64_t id) {
  return "invitation:" + protocol::id_string(id);
}

}  // namespace

boost::json::object to_json(const invitation& i) {
  boost::json::array deps;
  for (auto d : i.departments) deps.emplace_back(protocol::id_string(d));
  return {{"invitation", protocol::id_string(i.id)},
          {"org", protocol::id_string(i.org)},
          {"mobile", i.mobile},
          {"name", i.name},
          {"title", i.title},
          {"role", i.role},
          {"departments", std::move(deps)},
          {"created_by", protocol::id_string(i.created_by)},
          {"created_at", i.created_at},
          {"expires_at", i.expires_at},
          {"status", i.status},
          {"user", i.user ? boost::json::value(protocol::id_string(*i.user)) : boost::json::value(nullptr)}};
}

void invitation_store::prepare(pqxx::connection& c) {
  c.prepare("invitation_member_exists",
            "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 AND mobile = $2 AND status <> 'removed')");
  c.prepare("invitation_departments_found",
            "SELECT count(*) FROM departments WHERE org_id = $1 AND id = ANY($2::bigint[])");
  c.prepare(
      "invitation_departments_existing",
      "SELECT array_to_string(ARRAY(SELECT id FROM departments WHERE org_id = $1 AND id = ANY($2::bigint[]) "
      "ORDER BY id), ',')");
  c.prepare(
      "invitation_insert",
      std::string("INSERT INTO invitations (org_id, code_hash, mobile, name, title, departments, role, "
                  "created_by, expires_at) VALUES ($1, decode($2, 'hex'), $3, $4, $5, $6::bigint[], $7, $8, "
                  "now() + make_interval(secs => $9)) RETURNING ") +
          invitation_columns);
  c.prepare("invitation_list", std::string("SELECT ") + invitation_columns +
                                   " FROM invitations WHERE org_id = $1 AND ($2 = 0 OR id < $2) "
                                   "ORDER BY id DESC LIMIT $3");
  c.prepare("invitation_get_locked", std::string("SELECT ") + invitation_columns +
                                         " FROM invitations WHERE org_id = $1 AND id = $2 FOR UPDATE");
  c.prepare("invitation_by_code", std::string("SELECT ") + invitation_columns +
                                      " FROM invitations WHERE code_hash = decode($1, 'hex') "
                                      "AND NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id = invitations.org_id "
                                      "AND o.deleted_at IS NOT NULL) FOR UPDATE");
  c.prepare("invitation_revoke",
            std::string("UPDATE invitations SET revoked_at = coalesce(revoked_at, now()) "
                        "WHERE org_id = $1 AND id = $2 RETURNING ") +
                invitation_columns);
  c.prepare(
      "invitation_accepted",
      std::string("UPDATE invitations SET accepted_at = now(), user_id = $3 WHERE org_id = $1 AND id = $2 "
                  "RETURNING ") +
          invitation_columns);
}

protocol::result<invitation> invitation_store::create(pqxx::connection& c, const actor& a,
                                                      const new_invitation& n) {
  pqxx::work w(c);
  if (w.exec_prepared1("invitation_member_exists", a.org, n.mobile)[0].as<bool>())
    return error{error_code::conflict,
                 "mobile " + n.mobile + " already belongs to a member of this organization"};
  if (w.exec_prepared1("invitation_departments_found", a.org, bigint_array(n.departments))[0]
          .as<std::size_t>() != n.departments.size())
    return error{error_code::not_found, "a department in departments does not exist"};
  auto inv = read_invitation(w.exec_prepared1("invitation_insert", a.org, n.code_hash, n.mobile, n.name,
                                              n.title, bigint_array(n.departments), n.role, a.user, n.ttl_s));
  audit_store::append(w, a, "invitation.create", target_of(inv.id), {{"after", to_json(inv)}});
  w.commit();
  return inv;
}

std::vector<invitation> invitation_store::list(pqxx::connection& c, std::int64_t org, std::int64_t before,
                                               int limit) {
  pqxx::nontransaction n(c);
  std::vector<invitation> out;
  for (const auto& r : n.exec_prepared("invitation_list", org, before, limit))
    out.push_back(read_invitation(r));
  return out;
}

protocol::result<invitation> invitation_store::revoke(pqxx::connection& c, const actor& a, std::int64_t id) {
  pqxx::work w(c);
  auto r = w.exec_prepared("invitation_get_locked", a.org, id);
  if (r.empty()) return error{error_code::not_found, "invitation " + protocol::id_string(id) + " not found"};
  auto before = read_invitation(r[0]);
  if (before.status == "accepted")
    return error{error_code::conflict, "invitation " + protocol::id_string(id) + " was already accepted"};
  auto after = read_invitation(w.exec_prepared1("invitation_revoke", a.org, id));
  audit_store::append(w, a, "invitation.revoke", target_of(id),
                      {{"before", to_json(before)}, {"after", to_json(after)}});
  w.commit();
  return after;
}

protocol::result<accepted_invitation> invitation_store::accept(
    pqxx::connection& c, const std::string& code_hash, const std::string& mobile, const std::string& sms_code,
    const std::string& password_hash, const std::string& ip) {
  pqxx::work w(c);
  auto r = w.exec_prepared("invitation_by_code", code_hash);
  // A code for another number reads as an unknown code: the answer names no one's invitation.
  if (r.empty() || read_invitation(r[0]).mobile != mobile)
    return error{error_code::not_found, "no invitation with this code for this mobile"};
  auto inv = read_invitation(r[0]);
  if (inv.status == "accepted") return error{error_code::conflict, "this invitation was already accepted"};
  if (inv.status == "revoked") return error{error_code::forbidden, "this invitation was revoked"};
  if (inv.status == "expired") return error{error_code::forbidden, "this invitation expired"};
  auto check = code_store::verify(w, inv.org, mobile, "invitation", sms_code);
  if (check != code_store::check::ok) {
    w.commit();  // the wrong try stays counted
    return code_error(check);
  }
  new_user u;
  u.name = inv.name;
  u.mobile = inv.mobile;
  u.title = inv.title;
  u.role = protocol::parse_role(inv.role).value_or(protocol::role::member);
  // Departments deleted since the invitation are left out.
  auto existing = w.exec_prepared1("invitation_departments_existing", inv.org, bigint_array(inv.departments));
  for (const auto& d : split_ids(existing[0].as<std::string>())) u.departments.push_back(d);
  u.password_hash = password_hash;
  auto created = user_store::create_in(w, inv.org, u);
  if (!created) return created.err();  // the number was taken since: nothing is kept
  auto accepted =
      read_invitation(w.exec_prepared1("invitation_accepted", inv.org, inv.id, created.value().id));
  audit_store::append(w, actor{inv.org, created.value().id, ip}, "invitation.accept", target_of(inv.id),
                      {{"after", to_json(accepted)}});
  event_store::enqueue(w, inv.org, {"member.added", protocol::to_json(created.value())});
  w.commit();
  return accepted_invitation{accepted, created.value()};
}

}  // namespace switchboard::storage
