// Departments: a tree per organization (names unique among siblings, no cycles).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/connection>
#include <pqxx/transaction>

#include "protocol/errors.hpp"
#include "storage/audit_store.hpp"
#include "storage/event_store.hpp"

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
  static std::optional<department> get(pqxx::connection& c, std::int64_t org, std::int64_t id);
  // The people (not removed) in the department and its subtree, at most `limit` of them; nothing
  // when the department is not the org's.
  static std::optional<std::vector<std::int64_t>> members_under(pqxx::connection& c, std::int64_t org,
                                                                std::int64_t id, int limit);
};

boost::json::object to_json(const department& d);
// department.changed for apps' callbacks: {"action": created|updated|deleted, "department"}. A
// deleted department's subdepartments and members moved to its parent.
contact_event department_event(const std::string& action, const department& d);

}  // namespace switchboard::storage
