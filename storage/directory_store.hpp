// The corporate directory and who may see whom in it (policy `directory_visibility`):
//   all         everyone sees everyone;
//   department  members see the users of their own departments and those departments' subtrees;
//   custom      members see the users of the departments visibility_rules lists for their own
//               departments (each with its subtree).
// In every mode a user sees themselves and everyone they share a conversation with, and admins
// see everyone. Removed users are in no one's directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "protocol/types.hpp"
#include "storage/dept_store.hpp"
#include "storage/policy_store.hpp"

namespace switchboard::storage {

struct viewer {
  std::int64_t org = 0;
  std::int64_t user = 0;
  bool admin = false;
};

struct directory_query {
  std::string q;                // name prefix, or mobile prefix when it starts with '+' or a digit
  std::int64_t department = 0;  // 0: any; else that department's direct members
  std::string after_name;       // keyset cursor: lower(name) and id of the last row served
  std::int64_t after_id = 0;
  int limit = 50;
};

struct directory_entry {
  protocol::user user;
  std::string sort_key;  // lower(name) as PostgreSQL computes it: the cursor's first half
};

class directory_store {
 public:
  static void prepare(pqxx::connection& c);
  // Users `v` may see, ordered by lower(name) then id.
  static std::vector<directory_entry> search(pqxx::connection& c, const viewer& v, const org_policy& p,
                                             const directory_query& q);
  // Which of `users` `v` may see (the others behave as if they did not exist).
  static std::vector<std::int64_t> visible_among(pqxx::connection& c, const viewer& v, const org_policy& p,
                                                 const std::vector<std::int64_t>& users);
  // The departments `v` may see, with their ancestors so that the tree holds together.
  static std::vector<department> departments(pqxx::connection& c, const viewer& v, const org_policy& p);
  // Whether the mode hides anyone from `v` at all.
  static bool sees_everyone(const viewer& v, const org_policy& p) {
    return v.admin || p.directory_visibility == "all";
  }
};

}  // namespace switchboard::storage
