// Announcements an admin publishes to the whole organization.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/connection>

#include "storage/audit_store.hpp"

namespace switchboard::storage {

struct notice {
  std::int64_t id = 0;
  std::string title, body;
  std::int64_t author = 0;
  std::int64_t ts = 0;
};

// {notice_id, title, body, ts}: the Notice object and the `notice` event's data.
boost::json::object to_json(const notice& n);

class notice_store {
 public:
  static void prepare(pqxx::connection& c);
  // Stores the notice, audited as `a`'s action.
  static notice create(pqxx::connection& c, const actor& a, const std::string& title,
                       const std::string& body);
  // Newest first: up to `limit` notices with id below `before` (0: from the newest).
  static std::vector<notice> list(pqxx::connection& c, std::int64_t org, std::int64_t before, int limit);
};

}  // namespace switchboard::storage
