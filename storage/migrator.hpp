// Applies the numbered migrations to a database, once each, under a PostgreSQL advisory lock.
#pragma once

#include <pqxx/connection>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/migrations.hpp"

namespace switchboard::storage {

// The database holds migrations this binary does not know: an older binary must not run on it.
struct schema_too_new : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct migrate_report {
  int from_version = 0;
  int to_version = 0;
  std::vector<std::string> applied;
};

class migrator {
 public:
  // Any fixed number works as long as every node uses the same one.
  static constexpr long long advisory_lock_key = 0x53574244'4d494752LL;  // "SWBDMIGR"

  migrator(pqxx::connection& conn, const std::vector<migration>& known);

  // Takes the advisory lock (waiting for another node that holds it), applies every missing
  // migration in order, each in its own transaction, and records it in schema_migrations.
  // Throws schema_too_new when the database is ahead of `known`.
  migrate_report migrate();

  // The highest applied version (0 when schema_migrations does not exist yet).
  int current_version();

 private:
  void check_not_newer(int db_version);

  pqxx::connection& conn_;
  const std::vector<migration>& known_;
};

}  // namespace switchboard::storage
