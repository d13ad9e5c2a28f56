// Departments: a tree per organization (names unique among siblings, no cycles), and the audit
// log that every admin action appends to in the same transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/connection>
#include <pqxx/transaction>

#include "protocol/errors.hpp"

namespace switchboard::storage {

struct department {
  std::int64_t id = 0;
  std::optional<std::int64_t> parent;
  std::string name;
  int sort = 0;
};

// A change to a department; unset fields stay as they are. `parent` set to nullopt inside the
// optional moves the department to the root.
struct department_patch {
  std::optional<std::string> name;
  std::optional<std::optional<std::int64_t>> parent;
  std::optional<int> sort;
};

// Who acts, and from where: recorded with each admin action.
struct actor {
  std::int64_t org = 0;
  std::int64_t user = 0;
  std::string ip;
};

class dept_store {
 public:
  static void prepare(pqxx::connection& c);
  static protocol::result<department> create(pqxx::connection& c, const actor& a, const std::string& name,
                                             std::optional<std::int64_t> parent, int sort);
  static protocol::result<department> update(pqxx::connection& c, const actor& a, std::int64_t id,
                                             const department_patch& p);
  // With `move_to_parent`, children and members move to the department's parent (members of a
  // root department just leave it); without, a department with either is `conflict`.
  static protocol::result<department> remove(pqxx::connection& c, const actor& a, std::int64_t id,
                                             bool move_to_parent);
  static std::vector<department> list(pqxx::connection& c, std::int64_t org);
};

boost::json::object to_json(const department& d);

struct audit_entry {
  std::int64_t id = 0, ts = 0, actor = 0;
  std::string action, target, summary_json, ip;
};

class audit_store {
 public:
  // Newest first: up to `limit` entries with id below `before` (0: from the newest).
  static std::vector<audit_entry> list(pqxx::connection& c, std::int64_t org, std::int64_t before, int limit);
  // Appends one entry inside `w` (the action's own transaction: no action without its entry).
  static void append(pqxx::work& w, const actor& a, const std::string& action, const std::string& target,
                     const boost::json::object& summary);
};

}  // namespace switchboard::storage
