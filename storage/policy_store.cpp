// Organization policy.
#include "storage/policy_store.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "protocol/fields.hpp"
#include "protocol/types.hpp"
#include "protocol/validate.hpp"
#include "storage/sql_util.hpp"
#include "storage/user_store.hpp"

namespace switchboard::storage {

using protocol::error;
using protocol::error_code;
namespace json = boost::json;

namespace {

constexpr std::size_t max_rule_departments = 1000;

json::value opt_value(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object rules_json(const std::map<std::int64_t, std::vector<std::int64_t>>& rules) {
  json::object o;
  for (const auto& [dept, visible] : rules) {
    json::array a;
    for (auto v : visible) a.emplace_back(protocol::id_string(v));
    o[protocol::id_string(dept)] = std::move(a);
  }
  return o;
}

// {"<id>": ["<id>", ...]}; ids that are not ours read as 0 (found by nobody: not_found later).
protocol::result<std::map<std::int64_t, std::vector<std::int64_t>>> read_rules(const json::value& v) {
  if (!v.is_object()) return error{error_code::bad_request, "visibility_rules must be an object"};
  const auto& o = v.get_object();
  if (o.size() > max_rule_departments)
    return error{error_code::too_large, "visibility_rules names more than 1000 departments"};
  std::map<std::int64_t, std::vector<std::int64_t>> out;
  for (const auto& kv : o) {
    protocol::fields f(o, "visibility_rules.");
    auto visible = f.id_list(kv.key(), max_rule_departments);
    if (!f.ok()) return f.err();
    std::sort(visible.begin(), visible.end());
    visible.erase(std::unique(visible.begin(), visible.end()), visible.end());
    out[protocol::parse_id(kv.key())] = std::move(visible);
  }
  return out;
}

// The policy columns starting at column `at`.
org_policy read_policy(const pqxx::row& r, pqxx::row::size_type at = 0) {
  org_policy p;
  p.directory_visibility = r[at].as<std::string>();
  auto rules = read_rules(json::parse(r[at + 1].as<std::string>()));
  if (rules) p.visibility_rules = std::move(rules.value());
  if (!r[at + 2].is_null()) p.retention_days = r[at + 2].as<int>();
  p.recall_window_s = r[at + 3].as<int>();
  if (!r[at + 4].is_null()) p.min_client_version = r[at + 4].as<std::string>();
  if (!r[at + 5].is_null()) p.storage_quota_mb = r[at + 5].as<std::int64_t>();
  if (!r[at + 6].is_null()) p.reclaim_inactive_days = r[at + 6].as<int>();
  return p;
}

}  // namespace

json::object to_json(const org_policy& p) {
  return {{"directory_visibility", p.directory_visibility},
          {"visibility_rules", rules_json(p.visibility_rules)},
          {"retention_days", p.retention_days ? json::value(*p.retention_days) : json::value(nullptr)},
          {"recall_window_s", p.recall_window_s},
          {"min_client_version",
           p.min_client_version ? json::value(*p.min_client_version) : json::value(nullptr)},
          {"storage_quota_mb", opt_value(p.storage_quota_mb)},
          {"reclaim_inactive_days",
           p.reclaim_inactive_days ? json::value(*p.reclaim_inactive_days) : json::value(nullptr)}};
}

protocol::result<policy_patch> read_policy_patch(const json::object& body) {
  static const std::vector<std::string> known{
      "directory_visibility", "visibility_rules", "retention_days",       "recall_window_s",
      "min_client_version",   "storage_quota_mb", "reclaim_inactive_days"};
  for (const auto& kv : body)
    if (std::find(known.begin(), known.end(), std::string(kv.key())) == known.end())
      return error{error_code::bad_request,
                   "unknown policy key '" + std::string(kv.key()).substr(0, 64) + "'"};
  protocol::fields f(body, "");
  policy_patch p;
  auto is_null = [&](const char* key) { return body.at(key).is_null(); };
  if (body.contains("directory_visibility")) {
    p.directory_visibility = f.str("directory_visibility", 1, 16);
    if (f.ok() && *p.directory_visibility != "all" && *p.directory_visibility != "department" &&
        *p.directory_visibility != "custom")
      f.fail(error_code::bad_request, "directory_visibility must be all, department or custom");
  }
  if (f.ok() && body.contains("visibility_rules")) {
    auto rules = read_rules(body.at("visibility_rules"));
    if (!rules) return rules.err();
    p.visibility_rules = std::move(rules.value());
  }
  if (f.ok() && body.contains("retention_days"))
    p.retention_days = is_null("retention_days")
                           ? std::optional<int>{}
                           : std::optional<int>{static_cast<int>(f.integer("retention_days", 1, 36500))};
  if (f.ok() && body.contains("recall_window_s"))
    p.recall_window_s = static_cast<int>(f.integer("recall_window_s", 0, 31536000));
  if (f.ok() && body.contains("min_client_version")) {
    if (is_null("min_client_version")) {
      p.min_client_version = std::optional<std::string>{};
    } else {
      auto v = f.str("min_client_version", 1, 32);
      if (f.ok() && !protocol::is_version(v))
        f.fail(error_code::bad_request,
               "min_client_version must be 1 to 4 dot-separated numbers, e.g. 2.5.0");
      p.min_client_version = std::optional<std::string>{v};
    }
  }
  if (f.ok() && body.contains("storage_quota_mb"))
    p.storage_quota_mb = is_null("storage_quota_mb")
                             ? std::optional<std::int64_t>{}
                             : std::optional<std::int64_t>{f.integer("storage_quota_mb", 0, 1LL << 40)};
  if (f.ok() && body.contains("reclaim_inactive_days"))
    p.reclaim_inactive_days =
        is_null("reclaim_inactive_days")
            ? std::optional<int>{}
            : std::optional<int>{static_cast<int>(f.integer("reclaim_inactive_days", 1, 36500))};
  if (!f.ok()) return f.err();
  return p;
}

void policy_store::prepare(pqxx::connection& c) {
  const char* cols =
      "directory_visibility, visibility_rules::text, retention_days, recall_window_s, min_client_version, "
      "storage_quota_mb, reclaim_inactive_days";
  c.prepare("policy_get", std::string("SELECT ") + cols + " FROM org_policies WHERE org_id = $1");
  c.prepare("policy_lock", "INSERT INTO org_policies (org_id) VALUES ($1) ON CONFLICT (org_id) DO NOTHING");
  c.prepare("policy_get_locked",
            std::string("SELECT ") + cols + " FROM org_policies WHERE org_id = $1 FOR UPDATE");
  c.prepare("policy_update",
            "UPDATE org_policies SET directory_visibility = $2, visibility_rules = $3::jsonb, "
            "retention_days = NULLIF($4::text, '')::integer, recall_window_s = $5, "
            "min_client_version = NULLIF($6, ''), storage_quota_mb = NULLIF($7::text, '')::bigint, "
            "reclaim_inactive_days = NULLIF($8::text, '')::integer, updated_at = now() WHERE org_id = $1");
  c.prepare("changes_clock", "SELECT (extract(epoch FROM now()) * 1000)::bigint");
  c.prepare(
      "changes_users",
      "SELECT " + user_columns("") +
          ", (extract(epoch FROM updated_at) * 1000)::bigint FROM users "
          "WHERE updated_at > to_timestamp($1::double precision / 1000) ORDER BY updated_at LIMIT 5000");
  c.prepare("changes_policies", std::string("SELECT org_id, ") + cols +
                                    ", (extract(epoch FROM updated_at) * 1000)::bigint FROM org_policies "
                                    "WHERE updated_at > to_timestamp($1::double precision / 1000)");
  c.prepare("policy_reclaim",
            "SELECT p.org_id, p.reclaim_inactive_days FROM org_policies p JOIN orgs o ON o.id = p.org_id "
            "WHERE p.reclaim_inactive_days IS NOT NULL AND o.deleted_at IS NULL ORDER BY p.org_id");
  c.prepare("changes_orgs",
            "SELECT id, (extract(epoch FROM deleted_at) * 1000)::bigint FROM orgs "
            "WHERE deleted_at > to_timestamp($1::double precision / 1000)");
  c.prepare("policy_departments_found",
            "SELECT count(*) FROM departments WHERE org_id = $1 AND id = ANY($2::bigint[])");
}

recent_changes policy_store::changed_since(pqxx::connection& c, std::int64_t since_ms,
                                           std::int64_t overlap_ms) {
  pqxx::read_transaction t(c);
  recent_changes out;
  if (since_ms == 0) {
    out.newest_ms = t.exec_prepared1("changes_clock")[0].as<std::int64_t>();
    return out;
  }
  out.newest_ms = since_ms;
  auto from = since_ms - overlap_ms;
  for (const auto& r : t.exec_prepared("changes_users", from)) {
    out.users.push_back(read_user(r));
    out.newest_ms = std::max(out.newest_ms, r[user_column_count].as<std::int64_t>());
  }
  for (const auto& r : t.exec_prepared("changes_policies", from)) {
    out.policies.emplace_back(r[0].as<std::int64_t>(), read_policy(r, 1));
    out.newest_ms = std::max(out.newest_ms, r[8].as<std::int64_t>());
  }
  for (const auto& r : t.exec_prepared("changes_orgs", from)) {
    out.deleted_orgs.push_back(r[0].as<std::int64_t>());
    out.newest_ms = std::max(out.newest_ms, r[1].as<std::int64_t>());
  }
  return out;
}

std::vector<std::pair<std::int64_t, int>> policy_store::reclaim_policies(pqxx::connection& c) {
  pqxx::nontransaction n(c);
  std::vector<std::pair<std::int64_t, int>> out;
  for (const auto& r : n.exec_prepared("policy_reclaim"))
    out.emplace_back(r[0].as<std::int64_t>(), r[1].as<int>());
  return out;
}

org_policy policy_store::get(pqxx::connection& c, std::int64_t org) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("policy_get", org);
  return r.empty() ? org_policy{} : read_policy(r[0]);
}

protocol::result<policy_change> policy_store::put(pqxx::connection& c, const actor& a,
                                                  const policy_patch& p) {
  pqxx::work w(c);
  w.exec_prepared("policy_lock", a.org);
  auto before = read_policy(w.exec_prepared1("policy_get_locked", a.org));
  auto after = before;
  if (p.directory_visibility) after.directory_visibility = *p.directory_visibility;
  if (p.visibility_rules) {
    std::vector<std::int64_t> named;
    for (const auto& [dept, visible] : *p.visibility_rules) {
      named.push_back(dept);
      named.insert(named.end(), visible.begin(), visible.end());
    }
    std::sort(named.begin(), named.end());
    named.erase(std::unique(named.begin(), named.end()), named.end());
    auto found =
        w.exec_prepared1("policy_departments_found", a.org, bigint_array(named))[0].as<std::size_t>();
    if (found != named.size())
      return error{error_code::not_found, "a department in visibility_rules does not exist"};
    after.visibility_rules = *p.visibility_rules;
  }
  if (p.retention_days) after.retention_days = *p.retention_days;
  if (p.recall_window_s) after.recall_window_s = *p.recall_window_s;
  if (p.min_client_version) after.min_client_version = *p.min_client_version;
  if (p.storage_quota_mb) after.storage_quota_mb = *p.storage_quota_mb;
  if (p.reclaim_inactive_days) after.reclaim_inactive_days = *p.reclaim_inactive_days;
  w.exec_prepared(
      "policy_update", a.org, after.directory_visibility, json::serialize(rules_json(after.visibility_rules)),
      after.retention_days ? std::to_string(*after.retention_days) : std::string(), after.recall_window_s,
      after.min_client_version.value_or(""), opt_param(after.storage_quota_mb),
      after.reclaim_inactive_days ? std::to_string(*after.reclaim_inactive_days) : std::string());
  audit_store::append(w, a, "policy.update", "policy",
                      {{"before", to_json(before)}, {"after", to_json(after)}});
  w.commit();
  return policy_change{before, after};
}

}  // namespace switchboard::storage
