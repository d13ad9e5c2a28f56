// The audit log: every admin action appends one entry in the action's own transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/connection>
#include <pqxx/transaction>

namespace switchboard::storage {

// Who acts, and from where: recorded with each admin action.
struct actor {
  std::int64_t org = 0;
  std::int64_t user = 0;
  std::string ip;
};

struct audit_entry {
  std::int64_t id = 0, ts = 0, actor = 0;
  std::string action, target, summary_json, ip;
};

class audit_store {
 public:
  static void prepare(pqxx::connection& c);
  // Newest first: up to `limit` entries with id below `before` (0: from the newest).
  static std::vector<audit_entry> list(pqxx::connection& c, std::int64_t org, std::int64_t before, int limit);
  // Appends one entry inside `w` (the action's own transaction: no action without its entry).
  static void append(pqxx::work& w, const actor& a, const std::string& action, const std::string& target,
                     const boost::json::object& summary);
};

}  // namespace switchboard::storage
