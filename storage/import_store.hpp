// Bulk import of users (POST /v1/admin/users/import): rows already parsed and checked one by one
// are stored a chunk per transaction. Department paths ("Sales/East") are created when missing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "protocol/errors.hpp"
#include "protocol/user_import.hpp"
#include "storage/audit_store.hpp"

namespace switchboard::storage {

using protocol::import_row;

struct import_outcome {
  int row = 0;
  std::string status;  // created | updated | error
  std::int64_t user = 0;
  std::optional<protocol::error> error;
};

class import_store {
 public:
  static void prepare(pqxx::connection& c);
  // Stores `rows` (rows with `error` are only reported) in one transaction, audited as one
  // `user.import` entry. `paths` caches department paths resolved by earlier chunks. When the
  // database refuses the chunk as a whole, each row is tried in its own transaction, so a bad row
  // never costs the good ones.
  static std::vector<import_outcome> store_chunk(pqxx::connection& c, const actor& a,
                                                 const std::vector<import_row>& rows,
                                                 std::map<std::string, std::int64_t>& paths);
};

}  // namespace switchboard::storage
