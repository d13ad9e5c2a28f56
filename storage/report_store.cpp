// Reports and their resolution.
#include "storage/report_store.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "protocol/clock.hpp"
#include "storage/conv_store.hpp"
#include "storage/sql_util.hpp"

namespace switchboard::storage {

using protocol::error;
using protocol::error_code;

namespace {

constexpr const char* report_columns =
    "r.id, r.conv_id, r.seq, r.reporter_id, r.reason, r.state, coalesce(r.action, ''), r.resolved_by, "
    "(extract(epoch FROM r.resolved_at) * 1000)::bigint, (extract(epoch FROM r.created_at) * 1000)::bigint";
constexpr int report_column_count = 10;

report read_report(const pqxx::row& row) {
  report r;
  r.id = row[0].as<std::int64_t>();
  r.conv = row[1].as<std::int64_t>();
  r.seq = row[2].as<std::int64_t>();
  r.reporter = row[3].as<std::int64_t>();
  r.reason = row[4].as<std::string>();
  r.state = row[5].as<std::string>();
  r.action = row[6].as<std::string>();
  if (!row[7].is_null()) r.resolved_by = row[7].as<std::int64_t>();
  if (!row[8].is_null()) r.resolved_at_ms = row[8].as<std::int64_t>();
  r.created_at_ms = row[9].as<std::int64_t>();
  return r;
}

std::string message_columns_of(const char* alias) {
  std::string out;
  for (const char* col :
       {"conv_id", "seq", "id", "sender_id", "client_msg_id", "type", "body", "ts", "recalled_at"}) {
    if (!out.empty()) out += ", ";
    out += std::string(alias) + col;
  }
  return out;
}

}  // namespace

boost::json::object to_json(const report& r, bool with_message) {
  boost::json::object o{{"report", protocol::id_string(r.id)},
                        {"conv", protocol::id_string(r.conv)},
                        {"seq", r.seq},
                        {"reporter", protocol::id_string(r.reporter)},
                        {"reason", r.reason},
                        {"state", r.state},
                        {"created_at", r.created_at_ms}};
  if (r.state == "resolved") {
    o["action"] = r.action;
    o["resolved_by"] = r.resolved_by ? boost::json::value(protocol::id_string(*r.resolved_by)) : nullptr;
    o["resolved_at"] = r.resolved_at_ms ? boost::json::value(*r.resolved_at_ms) : nullptr;
  }
  if (with_message) o["message"] = r.message ? boost::json::value(protocol::to_json(*r.message)) : nullptr;
  return o;
}

void report_store::prepare(pqxx::connection& c) {
  const std::string cols = report_columns;
  c.prepare("report_member",
            "SELECT EXISTS (SELECT 1 FROM conversations WHERE org_id = $1 AND id = $2), "
            "EXISTS (SELECT 1 FROM conv_members WHERE org_id = $1 AND conv_id = $2 AND user_id = $3), "
            "EXISTS (SELECT 1 FROM messages WHERE org_id = $1 AND conv_id = $2 AND seq = $4)");
  c.prepare(
      "report_insert",
      "INSERT INTO reports AS r (org_id, conv_id, seq, reporter_id, reason) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (org_id, conv_id, seq, reporter_id) WHERE state = 'open' DO NOTHING RETURNING " +
          cols);
  c.prepare(
      "report_open_of",
      "SELECT " + cols +
          " FROM reports r WHERE r.org_id = $1 AND r.conv_id = $2 AND r.seq = $3 AND r.reporter_id = $4 "
          "AND r.state = 'open'");
  c.prepare("report_list", "SELECT " + cols + ", " + message_columns_of("m.") +
                               " FROM reports r LEFT JOIN messages m ON m.org_id = r.org_id AND m.conv_id = "
                               "r.conv_id AND m.seq = r.seq "
                               "WHERE r.org_id = $1 AND ($2 = '' OR r.state = $2) AND ($3 = 0 OR r.id < $3) "
                               "ORDER BY r.id DESC LIMIT $4");
  c.prepare("report_lock", "SELECT " + cols + " FROM reports r WHERE r.org_id = $1 AND r.id = $2 FOR UPDATE");
  c.prepare("report_author",
            "SELECT sender_id FROM messages WHERE org_id = $1 AND conv_id = $2 AND seq = $3");
  c.prepare("report_resolve",
            "UPDATE reports r SET state = 'resolved', action = $3, resolved_by = $4, resolved_at = now() "
            "WHERE r.org_id = $1 AND r.id = $2 RETURNING " +
                cols);
}

protocol::result<new_report> report_store::create(pqxx::connection& c, std::int64_t org,
                                                  std::int64_t reporter, std::int64_t conv, std::int64_t seq,
                                                  const std::string& reason) {
  pqxx::work w(c);
  auto check = w.exec_prepared1("report_member", org, conv, reporter, seq);
  if (!check[0].as<bool>())
    return error{error_code::not_found, "conversation " + protocol::id_string(conv) + " not found"};
  if (!check[1].as<bool>())
    return error{error_code::forbidden, "only a member of the conversation may report its messages"};
  if (!check[2].as<bool>())
    return error{error_code::not_found, "message " + std::to_string(seq) + " not found"};
  new_report out;
  auto ins = w.exec_prepared("report_insert", org, conv, seq, reporter, reason);
  if (ins.empty()) {
    out.created = false;
    out.r = read_report(w.exec_prepared1("report_open_of", org, conv, seq, reporter));
  } else {
    out.r = read_report(ins[0]);
  }
  w.commit();
  return out;
}

std::vector<report> report_store::list(pqxx::connection& c, std::int64_t org, const std::string& state,
                                       std::int64_t before, int limit) {
  pqxx::read_transaction t(c);
  std::vector<report> out;
  for (const auto& row : t.exec_prepared("report_list", org, state, before, limit)) {
    auto r = read_report(row);
    if (!row[report_column_count].is_null()) {
      // The message's columns follow the report's, in read_message's order.
      pqxx::row tail = row.slice(report_column_count, row.size());
      r.message = read_message(tail);
    }
    out.push_back(std::move(r));
  }
  return out;
}

protocol::result<resolved_report> report_store::resolve(pqxx::connection& c, const actor& a, std::int64_t id,
                                                        const resolution& how) {
  pqxx::work w(c);
  auto locked = w.exec_prepared("report_lock", a.org, id);
  if (locked.empty()) return error{error_code::not_found, "report " + protocol::id_string(id) + " not found"};
  resolved_report out;
  out.r = read_report(locked[0]);
  if (out.r.state != "open")
    return error{error_code::conflict, "report " + protocol::id_string(id) + " is resolved already"};
  auto msg = w.exec_prepared("report_author", a.org, out.r.conv, out.r.seq);
  if (msg.empty() && how.action != "dismiss")
    return error{error_code::not_found, "the reported message is gone; only dismiss is left"};
  if (!msg.empty()) out.author_id = msg[0][0].as<std::int64_t>();
  if (how.action == "remove_message") {
    auto members = conv_store::recall_in(w, a.org, out.r.conv, a.user, true, out.r.seq, 0);
    if (!members) return members.err();
    out.members = std::move(members.value());
  } else if (how.action == "restrict" || how.action == "suspend") {
    auto changed = how.action == "restrict"
                       ? user_store::restrict_in(w, a, out.author_id, how.features, how.until_ms)
                       : user_store::suspend_in(w, a, out.author_id, how.text, how.until_ms);
    if (!changed) return changed.err();
    out.author = changed.value().after;
  }
  out.r = read_report(w.exec_prepared1("report_resolve", a.org, id, how.action, a.user));
  boost::json::object summary{{"action", how.action},
                              {"conv", protocol::id_string(out.r.conv)},
                              {"seq", out.r.seq},
                              {"author", protocol::id_string(out.author_id)}};
  if (how.action == "warn") summary["text"] = how.text;
  if (how.action == "restrict") {
    boost::json::array f;
    for (const auto& x : how.features) f.emplace_back(x);
    summary["features"] = std::move(f);
  }
  audit_store::append(w, a, "report.resolve", "report:" + protocol::id_string(id), summary);
  w.commit();
  return out;
}

}  // namespace switchboard::storage
