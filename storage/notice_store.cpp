// Announcements.
#include "storage/notice_store.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "protocol/types.hpp"

namespace switchboard::storage {

namespace {
notice read_notice(const pqxx::row& r) {
  return notice{r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                r[3].as<std::int64_t>(), r[4].as<std::int64_t>()};
}
}  // namespace

boost::json::object to_json(const notice& n) {
  return {{"notice_id", protocol::id_string(n.id)}, {"title", n.title}, {"body", n.body}, {"ts", n.ts}};
}

void notice_store::prepare(pqxx::connection& c) {
  c.prepare("notice_insert",
            "INSERT INTO notices (org_id, title, body, author_id, ts) "
            "VALUES ($1, $2, $3, $4, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) "
            "RETURNING id, title, body, author_id, ts");
  c.prepare("notice_list",
            "SELECT id, title, body, author_id, ts FROM notices "
            "WHERE org_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3");
}

notice notice_store::create(pqxx::connection& c, const actor& a, const std::string& title,
                            const std::string& body) {
  pqxx::work w(c);
  auto n = read_notice(w.exec_prepared1("notice_insert", a.org, title, body, a.user));
  audit_store::append(w, a, "notice.create", "notice:" + protocol::id_string(n.id), {{"after", to_json(n)}});
  w.commit();
  return n;
}

std::vector<notice> notice_store::list(pqxx::connection& c, std::int64_t org, std::int64_t before,
                                       int limit) {
  pqxx::nontransaction n(c);
  std::vector<notice> out;
  for (const auto& r : n.exec_prepared("notice_list", org, before, limit)) out.push_back(read_notice(r));
  return out;
}

}  // namespace switchboard::storage
