// Retention, organization deletion and purge.
#include "storage/governance_store.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "protocol/types.hpp"
#include "storage/media_store.hpp"
#include "storage/sql_util.hpp"

namespace switchboard::storage {

using protocol::error;
using protocol::error_code;

namespace {

// Advisory lock class (the two-key form) of governance jobs; the second key names the job.
constexpr int job_lock_class = 0x676f7665;  // "gove"

int job_key(const std::string& job) {
  // A stable small hash: every node must derive the same key for a job.
  std::uint32_t h = 2166136261u;
  for (unsigned char ch : job) h = (h ^ ch) * 16777619u;
  return static_cast<int>(h & 0x7fffffff);
}

// The purge, children before parents. A chunked table is deleted `chunk` rows at a time through
// an index that starts with org_id; `whole` ones are small and go in one statement.
struct purge_table {
  const char* name;
  enum { chunked, whole, special } how;
};
constexpr purge_table purge_order[] = {
    {"exports", purge_table::special},
    {"app_events", purge_table::special},
    {"reports", purge_table::chunked},
    {"messages", purge_table::chunked},
    {"media_conversations", purge_table::chunked},
    {"call_parties", purge_table::chunked},
    {"calls", purge_table::chunked},
    {"call_minute_packages", purge_table::chunked},
    {"call_minutes", purge_table::chunked},
    {"conv_members", purge_table::chunked},
    {"conversations", purge_table::chunked},
    {"media", purge_table::special},
    {"org_usage", purge_table::chunked},
    {"notices", purge_table::chunked},
    {"invitations", purge_table::chunked},
    {"verification_codes", purge_table::chunked},
    {"audit_log", purge_table::chunked},
    {"user_departments", purge_table::chunked},
    {"departments", purge_table::whole},  // parents reference children: one statement
    {"app_tokens", purge_table::chunked},
    {"apps", purge_table::chunked},
    {"tokens", purge_table::chunked},
    {"users", purge_table::chunked},  // live_users and last_seen go with them (ON DELETE CASCADE)
    {"org_policies", purge_table::chunked},
};

}  // namespace

void governance_store::prepare(pqxx::connection& c) {
  c.prepare("gov_try_lock", "SELECT pg_try_advisory_lock($1, $2)");
  c.prepare("gov_unlock", "SELECT pg_advisory_unlock($1, $2)");
  c.prepare("gov_retention_policies",
            "SELECT p.org_id, p.retention_days FROM org_policies p JOIN orgs o ON o.id = p.org_id "
            "WHERE p.retention_days IS NOT NULL AND o.deleted_at IS NULL ORDER BY p.org_id");
  // Each conversation's oldest stored message: one probe of the primary key from first_seq.
  c.prepare("gov_retention_candidates",
            "SELECT c.id, h.ts FROM conversations c "
            "LEFT JOIN LATERAL (SELECT m.ts FROM messages m WHERE m.org_id = c.org_id AND m.conv_id = c.id "
            "                    AND m.seq >= c.first_seq ORDER BY m.seq LIMIT 1) h ON true "
            "WHERE c.org_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3");
  // One chunk. The conversation's row is locked last (by the UPDATE), so a send to it waits at most
  // for this statement's end.
  c.prepare(
      "gov_retention_chunk",
      "WITH cv AS MATERIALIZED ("
      "  SELECT first_seq FROM conversations WHERE org_id = $1 AND id = $2"
      "), head AS MATERIALIZED ("
      "  SELECT m.seq, m.ts FROM messages m, cv WHERE m.org_id = $1 AND m.conv_id = $2 "
      "     AND m.seq >= cv.first_seq ORDER BY m.seq LIMIT $4"
      "), cut AS MATERIALIZED ("
      "  SELECT coalesce((SELECT min(seq) FROM head WHERE ts >= $3), (SELECT max(seq) + 1 FROM head)) AS b,"
      "         (SELECT count(*) FROM head WHERE ts < $3) AS old,"
      "         (SELECT count(*) FROM head) AS n"
      "), gone AS ("
      "  DELETE FROM messages m USING cut, cv WHERE m.org_id = $1 AND m.conv_id = $2 "
      "     AND m.seq >= cv.first_seq AND m.seq < cut.b RETURNING 1"
      "), reps AS ("
      "  DELETE FROM reports r USING cut WHERE r.org_id = $1 AND r.conv_id = $2 AND r.seq < cut.b RETURNING 1"
      "), evs AS ("
      "  DELETE FROM app_events e USING cut WHERE e.org_id = $1 AND e.conv_id = $2 AND e.type = 'message' "
      "     AND e.seq < cut.b RETURNING 1"
      "), moved AS ("
      "  UPDATE conversations c SET first_seq = cut.b FROM cut "
      "   WHERE c.org_id = $1 AND c.id = $2 AND cut.b > c.first_seq RETURNING c.first_seq"
      ") "
      "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM reps), (SELECT count(*) FROM evs), "
      "       coalesce((SELECT first_seq FROM moved), (SELECT first_seq FROM cv), 1), "
      "       cut.n = $4 AND cut.old = cut.n "
      "FROM cut");
  c.prepare("gov_release_media",
            "WITH dropped AS ("
            "  DELETE FROM media_conversations WHERE org_id = $1 AND conv_id = ANY($2::bigint[]) "
            "     AND last_sent_ms < $3 RETURNING media_id, conv_id"
            "), orphaned AS ("
            // Still referenced elsewhere: not by a row dropped here (the snapshot still shows those).
            "  UPDATE media m SET sent_at = NULL FROM (SELECT DISTINCT media_id FROM dropped) d "
            "   WHERE m.org_id = $1 AND m.id = d.media_id AND NOT EXISTS ("
            "     SELECT 1 FROM media_conversations mc WHERE mc.org_id = $1 AND mc.media_id = d.media_id "
            "        AND NOT EXISTS (SELECT 1 FROM dropped x WHERE x.media_id = mc.media_id AND x.conv_id = "
            "mc.conv_id))"
            "  RETURNING 1"
            ") SELECT (SELECT count(*) FROM dropped), (SELECT count(*) FROM orphaned)");
  c.prepare("gov_org_lock", "SELECT name, deleted_at IS NOT NULL FROM orgs WHERE id = $1 FOR UPDATE");
  c.prepare(
      "gov_org_mark_deleted",
      "UPDATE orgs SET deleted_at = now(), purge_after = now() + $2 * interval '1 second' WHERE id = $1 "
      "RETURNING (extract(epoch FROM purge_after) * 1000)::bigint");
  c.prepare("gov_purges_due",
            "SELECT id FROM orgs WHERE deleted_at IS NOT NULL AND ($1 OR purge_after <= now()) ORDER BY id");
  c.prepare("gov_org_deleting", "SELECT deleted_at IS NOT NULL FROM orgs WHERE id = $1");
  for (const auto& t : purge_order) {
    std::string name = std::string("gov_purge_") + t.name;
    if (t.how == purge_table::chunked)
      c.prepare(name, std::string("DELETE FROM ") + t.name + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " +
                          t.name + " WHERE org_id = $1 LIMIT $2))");
    else if (t.how == purge_table::whole)
      c.prepare(name, std::string("DELETE FROM ") + t.name + " WHERE org_id = $1 AND $2 > 0");
  }
  c.prepare("gov_purge_app_events",
            "DELETE FROM app_events WHERE id = ANY(ARRAY(SELECT e.id FROM apps a JOIN app_events e ON "
            "e.app_id = a.id "
            "WHERE a.org_id = $1 LIMIT $2))");
  c.prepare("gov_purge_exports_files",
            "SELECT id, file FROM exports WHERE org_id = $1 ORDER BY id LIMIT $2 FOR UPDATE");
  c.prepare("gov_purge_exports", "DELETE FROM exports WHERE org_id = $1 AND id = ANY($2::bigint[])");
  c.prepare("gov_purge_org", "DELETE FROM orgs WHERE id = $1 AND deleted_at IS NOT NULL");
}

bool governance_store::try_lock_job(pqxx::connection& c, const std::string& job) {
  pqxx::nontransaction n(c);
  return n.exec_prepared1("gov_try_lock", job_lock_class, job_key(job))[0].as<bool>();
}

void governance_store::unlock_job(pqxx::connection& c, const std::string& job) {
  pqxx::nontransaction n(c);
  n.exec_prepared("gov_unlock", job_lock_class, job_key(job));
}

std::vector<retention_policy> governance_store::retention_policies(pqxx::connection& c) {
  pqxx::nontransaction n(c);
  std::vector<retention_policy> out;
  for (const auto& r : n.exec_prepared("gov_retention_policies"))
    out.push_back({r[0].as<std::int64_t>(), r[1].as<int>()});
  return out;
}

retention_page governance_store::retention_candidates(pqxx::connection& c, std::int64_t org,
                                                      std::int64_t after_conv, std::int64_t cutoff_ms,
                                                      int limit) {
  pqxx::nontransaction n(c);
  retention_page page;
  for (const auto& r : n.exec_prepared("gov_retention_candidates", org, after_conv, limit)) {
    page.last_conv = r[0].as<std::int64_t>();
    page.looked.push_back(page.last_conv);
    if (!r[1].is_null() && r[1].as<std::int64_t>() < cutoff_ms) page.due.push_back(page.last_conv);
  }
  return page;
}

retention_chunk governance_store::delete_old_messages(pqxx::connection& c, std::int64_t org,
                                                      std::int64_t conv, std::int64_t cutoff_ms, int chunk) {
  pqxx::work w(c);
  auto r = w.exec_prepared("gov_retention_chunk", org, conv, cutoff_ms, chunk);
  w.commit();
  retention_chunk out;
  if (r.empty()) return out;  // the conversation is gone
  out.messages = r[0][0].as<std::int64_t>();
  out.reports = r[0][1].as<std::int64_t>();
  out.events = r[0][2].as<std::int64_t>();
  out.first_seq = r[0][3].as<std::int64_t>();
  out.more = r[0][4].as<bool>();
  return out;
}

std::int64_t governance_store::release_old_media(pqxx::connection& c, std::int64_t org,
                                                 const std::vector<std::int64_t>& convs,
                                                 std::int64_t cutoff_ms) {
  if (convs.empty()) return 0;
  pqxx::work w(c);
  auto r = w.exec_prepared1("gov_release_media", org, bigint_array(convs), cutoff_ms);
  w.commit();
  return r[0].as<std::int64_t>();
}

void governance_store::audit_system(pqxx::connection& c, std::int64_t org, const std::string& action,
                                    const boost::json::object& summary) {
  pqxx::work w(c);
  audit_store::append(w, actor{org, 0, ""}, action, "org:" + protocol::id_string(org), summary);
  w.commit();
}

protocol::result<org_deletion> governance_store::begin_deletion(pqxx::connection& c, const actor& a,
                                                                const std::string& confirm,
                                                                std::int64_t delay_s) {
  pqxx::work w(c);
  auto r = w.exec_prepared("gov_org_lock", a.org);
  if (r.empty()) return error{error_code::not_found, "organization not found"};
  if (r[0][1].as<bool>()) return error{error_code::not_found, "organization not found"};
  if (r[0][0].as<std::string>() != confirm)
    return error{error_code::bad_request, "confirm: must be the organization's name, exactly"};
  org_deletion out;
  out.org = a.org;
  out.purge_after_ms = w.exec_prepared1("gov_org_mark_deleted", a.org, delay_s)[0].as<std::int64_t>();
  audit_store::append(w, a, "org.delete", "org:" + protocol::id_string(a.org),
                      {{"purge_after", out.purge_after_ms}});
  w.commit();
  return out;
}

std::vector<std::int64_t> governance_store::purges_due(pqxx::connection& c, bool now) {
  pqxx::nontransaction n(c);
  std::vector<std::int64_t> out;
  for (const auto& r : n.exec_prepared("gov_purges_due", now)) out.push_back(r[0].as<std::int64_t>());
  return out;
}

bool governance_store::deleting(pqxx::connection& c, std::int64_t org) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("gov_org_deleting", org);
  return !r.empty() && r[0][0].as<bool>();
}

std::optional<purge_step> governance_store::purge_next(pqxx::connection& c, std::int64_t org, int chunk,
                                                       const purge_files& files) {
  pqxx::work w(c);
  auto lock = w.exec_prepared("gov_org_lock", org);
  if (lock.empty() || !lock[0][1].as<bool>()) return std::nullopt;
  purge_step step;
  for (const auto& t : purge_order) {
    step.table = t.name;
    if (step.table == "exports") {
      std::vector<std::int64_t> ids;
      for (const auto& r : w.exec_prepared("gov_purge_exports_files", org, chunk)) {
        ids.push_back(r[0].as<std::int64_t>());
        if (!r[1].is_null()) files.remove_export(r[1].as<std::string>());
      }
      if (!ids.empty()) w.exec_prepared("gov_purge_exports", org, bigint_array(ids));
      step.rows = static_cast<std::int64_t>(ids.size());
    } else if (step.table == "media") {
      step.rows = media_store::purge_org_in(w, org, chunk, files.remove_object);
    } else {
      step.rows = static_cast<std::int64_t>(
          w.exec_prepared(std::string("gov_purge_") + t.name, org, chunk).affected_rows());
    }
    if (step.rows > 0) {
      w.commit();
      return step;
    }
  }
  step.table = "orgs";
  step.rows = static_cast<std::int64_t>(w.exec_prepared("gov_purge_org", org).affected_rows());
  step.finished = true;
  w.commit();
  return step;
}

}  // namespace switchboard::storage
