// The app event outbox.
#include "storage/event_store.hpp"

#include <boost/json.hpp>
#include <map>
#include <pqxx/pqxx>
#include <tuple>

#include "protocol/types.hpp"
#include "storage/conv_store.hpp"
#include "storage/sql_util.hpp"

namespace switchboard::storage {

namespace {

// {"delivery_id","type","ts","data"}, in that order.
std::string envelope(const pending_event& e, boost::json::value data) {
  return boost::json::serialize(boost::json::object{
      {"delivery_id", e.delivery_id}, {"type", e.type}, {"ts", e.ts_ms}, {"data", std::move(data)}});
}

// Claims heads as event_store::claim does, first deleting the event `delivered` (0: none).
std::vector<pending_event> claim_in(pqxx::work& w, int limit, std::int64_t app, std::int64_t lease_ms,
                                    std::int64_t delivered) {
  std::vector<pending_event> out;
  std::vector<std::int64_t> orgs, convs, seqs;
  std::vector<std::size_t> message_at;
  for (const auto& r : w.exec_prepared("events_claim", limit, app, lease_ms, delivered)) {
    pending_event e;
    e.id = r[0].as<std::int64_t>();
    e.org = r[1].as<std::int64_t>();
    e.app = r[2].as<std::int64_t>();
    e.delivery_id = r[3].as<std::string>();
    e.type = r[4].as<std::string>();
    e.ts_ms = r[5].as<std::int64_t>();
    e.attempts = r[9].as<int>();
    e.url = r[10].as<std::string>();
    e.sealed_secret_hex = r[11].as<std::string>();
    if (r[7].is_null()) {
      boost::system::error_code ec;
      auto data = boost::json::parse(r[6].as<std::string>(), ec);
      e.body = envelope(e, ec ? boost::json::value() : std::move(data));
    } else {
      orgs.push_back(e.org);
      convs.push_back(r[7].as<std::int64_t>());
      seqs.push_back(r[8].as<std::int64_t>());
      message_at.push_back(out.size());
    }
    out.push_back(std::move(e));
  }
  if (!message_at.empty()) {
    // Messages are read now, as they are now (a recalled one arrives recalled); one that is gone
    // leaves its event with no body, which the dispatcher counts as delivered.
    std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, protocol::message> found;
    for (const auto& r :
         w.exec_prepared("events_messages", bigint_array(orgs), bigint_array(convs), bigint_array(seqs))) {
      auto m = read_message(r);
      found.emplace(std::make_tuple(r[9].as<std::int64_t>(), m.conv, m.seq), std::move(m));
    }
    for (std::size_t k = 0; k < message_at.size(); ++k) {
      auto it = found.find(std::make_tuple(orgs[k], convs[k], seqs[k]));
      if (it != found.end()) {
        auto& e = out[message_at[k]];
        e.body = envelope(e, protocol::to_json(it->second));
      }
    }
  }
  return out;
}

}  // namespace

void event_store::prepare(pqxx::connection& c) {
  c.prepare("events_enqueue",
            "INSERT INTO app_events (org_id, app_id, type, data) "
            "SELECT a.org_id, a.id, e.type, e.data "
            "FROM apps a, unnest($2::text[], $3::text[]) WITH ORDINALITY AS e(type, data, ord) "
            "WHERE a.org_id = $1 AND a.callback_url IS NOT NULL AND 'contacts:read' = ANY (a.scopes) "
            "ORDER BY a.id, e.ord");
  c.prepare("events_contact_subscribers",
            "SELECT 1 FROM apps a WHERE a.org_id = $1 AND a.callback_url IS NOT NULL "
            "AND 'contacts:read' = ANY (a.scopes) LIMIT 1");
  // Each app's head (its oldest event) when it is due and no node holds it; first, the event $4
  // that was just delivered goes (one round trip for both). Losing that delete in a crash only
  // sends the event again, with its delivery_id, so its commit need not wait for the disk.
  c.prepare(
      "events_claim",
      "WITH gone AS ("
      "  DELETE FROM app_events WHERE id = $4"
      "     AND set_config('synchronous_commit', 'off', true) IS NOT NULL"
      "), heads AS ("
      "  SELECT h.id FROM apps a"
      "  CROSS JOIN LATERAL (SELECT e.id, e.next_attempt_at, e.lease_until FROM app_events e"
      "                       WHERE e.app_id = a.id AND e.id <> $4 ORDER BY e.id LIMIT 1) h"
      "  WHERE a.callback_url IS NOT NULL AND ($2 = 0 OR a.id = $2)"
      "    AND h.next_attempt_at <= now() AND (h.lease_until IS NULL OR h.lease_until < now())"
      "  LIMIT $1"
      "), claimed AS ("
      "  UPDATE app_events e SET lease_until = clock_timestamp() + $3 * interval '1 millisecond',"
      "         attempts = e.attempts + 1"
      "    FROM heads WHERE e.id = heads.id AND e.next_attempt_at <= now()"
      "     AND (e.lease_until IS NULL OR e.lease_until < now())"
      "  RETURNING e.*"
      ") "
      "SELECT c.id, c.org_id, c.app_id, c.delivery_id::text, c.type,"
      "       (extract(epoch FROM c.created_at) * 1000)::bigint, coalesce(c.data, ''), c.conv_id, c.seq,"
      "       c.attempts, a.callback_url, coalesce(encode(a.secret_sealed, 'hex'), '')"
      "  FROM claimed c JOIN apps a ON a.id = c.app_id ORDER BY c.app_id");
  c.prepare("events_messages", std::string("SELECT ") + message_columns +
                                   ", org_id FROM messages WHERE (org_id, conv_id, seq) IN "
                                   "(SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]))");
  c.prepare(
      "events_drop_old",
      "DELETE FROM app_events WHERE app_id = $1 AND created_at < now() - $2 * interval '1 millisecond'");
  c.prepare("events_retry_later",
            "UPDATE app_events SET lease_until = NULL, last_error = $2,"
            " next_attempt_at = now() + $3 * interval '1 millisecond' WHERE id = $1");
  c.prepare("events_backlog",
            "SELECT app_id, count(*), (extract(epoch FROM now() - min(created_at)) * 1000)::bigint,"
            " coalesce((array_agg(last_error ORDER BY id) FILTER (WHERE last_error IS NOT NULL))[1], '')"
            " FROM app_events WHERE org_id = $1 GROUP BY app_id");
}

void event_store::enqueue(pqxx::transaction_base& w, std::int64_t org,
                          const std::vector<contact_event>& events) {
  if (events.empty()) return;
  std::vector<std::string> types, data;
  for (const auto& e : events) {
    types.push_back(e.type);
    data.push_back(boost::json::serialize(e.data));
  }
  w.exec_prepared("events_enqueue", org, text_array(types), text_array(data));
}

bool event_store::wants_contact_events(pqxx::transaction_base& w, std::int64_t org) {
  return !w.exec_prepared("events_contact_subscribers", org).empty();
}

std::vector<pending_event> event_store::claim(pqxx::connection& c, int limit, std::int64_t app,
                                              std::int64_t lease_ms) {
  pqxx::work w(c);
  auto out = claim_in(w, limit, app, lease_ms, 0);
  w.commit();
  return out;
}

std::optional<pending_event> event_store::finish(pqxx::connection& c, const pending_event& e,
                                                 const std::optional<event_failure>& failure,
                                                 std::int64_t lease_ms, std::int64_t& dropped) {
  pqxx::work w(c);
  if (failure) {
    auto old = w.exec_prepared("events_drop_old", e.app, failure->max_age_ms);
    dropped += static_cast<std::int64_t>(old.affected_rows());
    w.exec_prepared("events_retry_later", e.id, failure->error.substr(0, 500), failure->retry_in_ms);
  }
  auto next = claim_in(w, 1, e.app, lease_ms, failure ? 0 : e.id);
  w.commit();
  if (next.empty()) return std::nullopt;
  return std::move(next.front());
}

std::vector<event_store::backlog> event_store::backlogs(pqxx::connection& c, std::int64_t org) {
  pqxx::nontransaction n(c);
  std::vector<backlog> out;
  for (const auto& r : n.exec_prepared("events_backlog", org))
    out.push_back(
        {r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>(), r[3].as<std::string>()});
  return out;
}

}  // namespace switchboard::storage
