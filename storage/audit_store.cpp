// The audit log.
#include "storage/audit_store.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

namespace switchboard::storage {

void audit_store::prepare(pqxx::connection& c) {
  c.prepare("audit_list",
            "SELECT id, ts, actor_id, action, target, summary::text, ip FROM audit_log "
            "WHERE org_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3");
  c.prepare("audit_insert",
            "INSERT INTO audit_log (org_id, ts, actor_id, action, target, summary, ip) "
            "VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint, $2, $3, $4, $5::jsonb, $6)");
}

std::vector<audit_entry> audit_store::list(pqxx::connection& c, std::int64_t org, std::int64_t before,
                                           int limit) {
  pqxx::nontransaction n(c);
  std::vector<audit_entry> out;
  for (const auto& r : n.exec_prepared("audit_list", org, before, limit))
    out.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>(),
                   r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                   r[6].as<std::string>()});
  return out;
}

void audit_store::append(pqxx::work& w, const actor& a, const std::string& action, const std::string& target,
                         const boost::json::object& summary) {
  w.exec_prepared("audit_insert", a.org, a.user, action, target, boost::json::serialize(summary), a.ip);
}

}  // namespace switchboard::storage
