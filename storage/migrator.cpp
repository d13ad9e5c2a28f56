// Applies migrations under an advisory lock.
#include "storage/migrator.hpp"

#include <pqxx/nontransaction>
#include <pqxx/pqxx>

namespace switchboard::storage {

namespace {
// Releases the session-level advisory lock however migrate() leaves (the lock also dies with the session).
class advisory_lock {
 public:
  advisory_lock(pqxx::connection& c, long long key) : c_(c), key_(key) {
    pqxx::nontransaction n(c_);
    n.exec_params("SELECT pg_advisory_lock($1)", key_);
  }
  ~advisory_lock() {
    try {
      pqxx::nontransaction n(c_);
      n.exec_params("SELECT pg_advisory_unlock($1)", key_);
    } catch (...) {  // a broken connection has released it already
    }
  }
  advisory_lock(const advisory_lock&) = delete;
  advisory_lock& operator=(const advisory_lock&) = delete;

 private:
  pqxx::connection& c_;
  long long key_;
};
}  // namespace

migrator::migrator(pqxx::connection& conn, const std::vector<migration>& known)
    : conn_(conn), known_(known) {}

int migrator::current_version() {
  pqxx::nontransaction n(conn_);
  auto r = n.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!r[0][0].as<bool>()) return 0;
  auto v = n.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
  return v[0][0].as<int>();
}

void migrator::check_not_newer(int db_version) {
  int latest = known_.empty() ? 0 : known_.back().version;
  if (db_version > latest)
    throw schema_too_new("the database schema is at version " + std::to_string(db_version) +
                         " but this binary knows versions up to " + std::to_string(latest) +
                         "; run a newer switchboard binary");
}

migrate_report migrator::migrate() {
  advisory_lock lock(conn_, advisory_lock_key);
  {
    pqxx::work w(conn_);
    w.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    w.commit();
  }
  migrate_report report;
  report.from_version = current_version();
  check_not_newer(report.from_version);
  {
    // A recorded migration whose name differs from ours means two branches of the schema met.
    pqxx::nontransaction n(conn_);
    for (const auto& row : n.exec("SELECT version, name FROM schema_migrations ORDER BY version")) {
      int v = row[0].as<int>();
      std::string name = row[1].as<std::string>();
      if (v >= 1 && v <= static_cast<int>(known_.size()) && known_[v - 1].name != name)
        throw std::runtime_error("schema_migrations records version " + std::to_string(v) + " as '" + name +
                                 "' but this binary has '" + known_[v - 1].name + "'");
    }
  }
  for (const auto& m : known_) {
    if (m.version <= report.from_version) continue;
    pqxx::work w(conn_);
    w.exec(m.sql);
    w.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name);
    w.commit();
    report.applied.push_back(m.name);
  }
  report.to_version = current_version();
  return report;
}

}  // namespace switchboard::storage
