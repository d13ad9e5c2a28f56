// Organization policy: directory visibility, retention, recall window, minimum client version and
// storage quota. An organization without a row has every default.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/connection>

#include "protocol/errors.hpp"
#include "protocol/types.hpp"
#include "storage/audit_store.hpp"

namespace switchboard::storage {

struct org_policy {
  std::string directory_visibility = "all";  // all | department | custom
  // custom: department -> the departments (with their subtrees) its members may see.
  std::map<std::int64_t, std::vector<std::int64_t>> visibility_rules;
  std::optional<int> retention_days;  // none: keep forever
  int recall_window_s = 120;
  std::optional<std::string> min_client_version;  // none: any version
  std::optional<std::int64_t> storage_quota_mb;   // none: no quota
  std::optional<int> reclaim_inactive_days;       // none: never reclaim
};

// PUT /v1/admin/policy: only the keys given change. For nullable keys, an inner nullopt is null.
struct policy_patch {
  std::optional<std::string> directory_visibility;
  std::optional<std::map<std::int64_t, std::vector<std::int64_t>>> visibility_rules;
  std::optional<std::optional<int>> retention_days;
  std::optional<int> recall_window_s;
  std::optional<std::optional<std::string>> min_client_version;
  std::optional<std::optional<std::int64_t>> storage_quota_mb;
  std::optional<std::optional<int>> reclaim_inactive_days;
};

struct policy_change {
  org_policy before, after;
};

boost::json::object to_json(const org_policy& p);
// Reads a PUT body: every key optional, each validated (bad_request names the key).
protocol::result<policy_patch> read_policy_patch(const boost::json::object& body);

// Users and policies changed since a time (the change watch of each node).
struct recent_changes {
  std::vector<protocol::user> users;
  std::vector<std::pair<std::int64_t, org_policy>> policies;
  std::vector<std::int64_t> deleted_orgs;  // organizations deleted (DELETE /v1/admin/org) lately
  std::int64_t newest_ms = 0;              // the latest updated_at seen (the database's clock)
};

class policy_store {
 public:
  static void prepare(pqxx::connection& c);
  static org_policy get(pqxx::connection& c, std::int64_t org);
  // Applies the patch (departments named in visibility_rules must be the org's: not_found), audited.
  static protocol::result<policy_change> put(pqxx::connection& c, const actor& a, const policy_patch& p);
  // Rows whose updated_at is after `since_ms - overlap_ms` (since_ms 0: nothing, only the clock).
  // Organizations (not being deleted) with reclaim_inactive_days set: (org, days).
  static std::vector<std::pair<std::int64_t, int>> reclaim_policies(pqxx::connection& c);
  static recent_changes changed_since(pqxx::connection& c, std::int64_t since_ms, std::int64_t overlap_ms);
};

}  // namespace switchboard::storage
