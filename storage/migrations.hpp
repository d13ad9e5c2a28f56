// The SQL migrations compiled into the binary, validated and put in order.
#pragma once

#include <string>
#include <variant>
#include <vector>

namespace switchboard::storage {

struct embedded_file {
  std::string name;  // "0001_orgs.sql"
  std::string sql;
};

// Generated at build time from migrations/*.sql.
const std::vector<embedded_file>& embedded_migration_files();

struct migration {
  int version = 0;
  std::string name;
  std::string sql;
};

// Orders files by their number. Names must be NNNN_words.sql; numbers must run 1, 2, 3... with
// no gap or duplicate. Returns the reason when they do not.
std::variant<std::vector<migration>, std::string> order_migrations(const std::vector<embedded_file>& files);

// The validated embedded migrations (throws std::logic_error if the build embedded a bad set).
const std::vector<migration>& builtin_migrations();
int latest_builtin_version();

}  // namespace switchboard::storage
