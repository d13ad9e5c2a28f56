// Media rows, usage and garbage collection.
#include "storage/media_store.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "protocol/types.hpp"
#include "storage/user_store.hpp"

namespace switchboard::storage {

namespace {

using protocol::error;
using protocol::error_code;

// Advisory lock classes (the two-key form): one object's name in the backend, and the collector.
constexpr int object_lock_class = 0x6d656469;  // "medi"
constexpr int collector_lock_class = 0x6d656467;

constexpr const char* media_columns =
    "org_id, id, sha256, size, content_type, name, uploader_id, "
    "(extract(epoch FROM created_at) * 1000)::bigint";

media_row read_media(const pqxx::row& r) {
  return media_row{r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::string>(),
                   r[3].as<std::int64_t>(), r[4].as<std::string>(),  r[5].as<std::string>(),
                   r[6].as<std::int64_t>(), r[7].as<std::int64_t>()};
}

void lock_object(pqxx::work& w, const std::string& sha256) {
  w.exec_prepared("media_lock_object", object_lock_class, sha256);
}

}  // namespace

boost::json::object to_json(const media_row& m) {
  return {{"media_id", protocol::id_string(m.id)},
          {"size", m.size},
          {"sha256", m.sha256},
          {"content_type", m.content_type}};
}

void media_store::prepare(pqxx::connection& c) {
  c.prepare("media_lock_object",
            "SELECT pg_advisory_xact_lock($1, ('x' || substr($2, 1, 8))::bit(32)::integer)");
  c.prepare("media_usage",
            "SELECT coalesce((SELECT storage_bytes FROM org_usage WHERE org_id = $1), 0), "
            "(SELECT storage_quota_mb FROM org_policies WHERE org_id = $1)");
  c.prepare("media_usage_report",
            "SELECT coalesce((SELECT storage_bytes FROM org_usage WHERE org_id = $1), 0), "
            "(SELECT storage_quota_mb FROM org_policies WHERE org_id = $1), "
            "(SELECT count(*) FROM users u WHERE u.org_id = $1 AND u.kind = 'person' AND (" +
                status_sql("u.") +
                ") = 'active'), "
                "(SELECT count(*) FROM media WHERE org_id = $1)");
  c.prepare("media_usage_row", "INSERT INTO org_usage (org_id) VALUES ($1) ON CONFLICT DO NOTHING");
  // Adds the size unless that passes the quota (no row then).
  c.prepare("media_charge",
            "UPDATE org_usage u SET storage_bytes = u.storage_bytes + $2 "
            "FROM (SELECT (SELECT storage_quota_mb FROM org_policies WHERE org_id = $1) AS mb) q "
            "WHERE u.org_id = $1 AND (q.mb IS NULL OR u.storage_bytes + $2 <= q.mb * 1048576) "
            "RETURNING u.storage_bytes");
  c.prepare("media_insert",
            std::string("INSERT INTO media (org_id, sha256, size, content_type, name, uploader_id) "
                        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING ") +
                media_columns);
  c.prepare("media_readable",
            std::string("SELECT ") + media_columns +
                " FROM media m WHERE m.org_id = $1 AND m.id = $2 AND (m.uploader_id = $3 OR EXISTS ("
                "SELECT 1 FROM media_conversations mc JOIN conv_members cm "
                "ON cm.org_id = mc.org_id AND cm.conv_id = mc.conv_id AND cm.user_id = $3 "
                "WHERE mc.org_id = $1 AND mc.media_id = $2))");
  // The row is locked against collection (which takes FOR UPDATE and skips locked rows) until
  // the reference is in.
  c.prepare("media_lock_for_send",
            std::string("SELECT ") + media_columns +
                ", sent_at IS NOT NULL FROM media WHERE org_id = $1 AND id = $2 FOR NO KEY UPDATE");
  c.prepare("media_sent_to_member",
            "SELECT 1 FROM media_conversations mc JOIN conv_members cm "
            "ON cm.org_id = mc.org_id AND cm.conv_id = mc.conv_id AND cm.user_id = $3 "
            "WHERE mc.org_id = $1 AND mc.media_id = $2 LIMIT 1");
  c.prepare("media_conv_member",
            "SELECT EXISTS (SELECT 1 FROM conv_members WHERE org_id = $1 AND conv_id = $2 AND user_id = $3), "
            "EXISTS (SELECT 1 FROM conversations WHERE org_id = $1 AND id = $2)");
  c.prepare(
      "media_reference",
      "INSERT INTO media_conversations (org_id, media_id, conv_id, last_sent_ms) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (org_id, media_id, conv_id) DO UPDATE "
      "SET last_sent_ms = greatest(media_conversations.last_sent_ms, EXCLUDED.last_sent_ms)");
  c.prepare("media_mark_sent", "UPDATE media SET sent_at = now() WHERE org_id = $1 AND id = $2");
  c.prepare("media_collector_lock", "SELECT pg_try_advisory_xact_lock($1, 0)");
  c.prepare(
      "media_collect",
      "WITH doomed AS ("
      "  SELECT org_id, id FROM media "
      "   WHERE sent_at IS NULL AND created_at < now() - $1 * interval '1 second' "
      "   ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED"
      "), gone AS ("
      "  DELETE FROM media m USING doomed d WHERE m.org_id = d.org_id AND m.id = d.id "
      "  RETURNING m.org_id, m.sha256, m.size"
      "), per_org AS ("
      "  SELECT org_id, sum(size)::bigint AS bytes FROM gone GROUP BY org_id"
      "), charged AS ("
      "  UPDATE org_usage u SET storage_bytes = greatest(0, u.storage_bytes - p.bytes) "
      "    FROM per_org p WHERE u.org_id = p.org_id RETURNING 1"
      ") "
      "SELECT (SELECT count(*) FROM gone), (SELECT coalesce(sum(size), 0)::bigint FROM gone), "
      "(SELECT coalesce(string_agg(DISTINCT sha256, ','), '') FROM gone), (SELECT count(*) FROM charged)");
  c.prepare("media_object_used", "SELECT EXISTS (SELECT 1 FROM media WHERE sha256 = $1)");
  c.prepare("media_purge_chunk",
            "DELETE FROM media WHERE ctid = ANY(ARRAY(SELECT ctid FROM media WHERE org_id = $1 LIMIT $2)) "
            "RETURNING sha256");
}

storage_usage media_store::usage(pqxx::connection& c, std::int64_t org) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared1("media_usage", org);
  storage_usage u;
  u.bytes = r[0].as<std::int64_t>();
  if (!r[1].is_null()) u.quota_bytes = r[1].as<std::int64_t>() * mib;
  return u;
}

boost::json::object media_store::usage_report(pqxx::connection& c, std::int64_t org) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared1("media_usage_report", org);
  boost::json::object o{{"storage_bytes", r[0].as<std::int64_t>()},
                        {"storage_quota_bytes", nullptr},
                        {"members", r[2].as<std::int64_t>()},
                        {"media", r[3].as<std::int64_t>()}};
  if (!r[1].is_null()) o["storage_quota_bytes"] = r[1].as<std::int64_t>() * mib;
  return o;
}

protocol::result<media_row> media_store::add(pqxx::connection& c, std::int64_t org, std::int64_t uploader,
                                             const std::string& sha256, std::int64_t size,
                                             const std::string& content_type, const std::string& name,
                                             const std::function<void()>& store_object) {
  pqxx::work w(c);
  lock_object(w, sha256);
  w.exec_prepared("media_usage_row", org);
  if (w.exec_prepared("media_charge", org, size).empty())
    return error{error_code::quota_exceeded, "this upload would pass the organization's storage quota"};
  auto row = read_media(w.exec_prepared1("media_insert", org, sha256, size, content_type, name, uploader));
  store_object();  // named while the lock is held: collection cannot delete it before the commit
  w.commit();
  return row;
}

std::optional<media_row> media_store::readable(pqxx::connection& c, std::int64_t org, std::int64_t id,
                                               std::int64_t user) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("media_readable", org, id, user);
  if (r.empty()) return std::nullopt;
  return read_media(r[0]);
}

protocol::result<media_row> media_store::attach_in(pqxx::work& w, std::int64_t org, std::int64_t id,
                                                   std::int64_t conv, std::int64_t user,
                                                   protocol::media_kind kind, std::int64_t ts) {
  error missing{error_code::not_found, "media " + protocol::id_string(id) + " not found"};
  auto r = w.exec_prepared("media_lock_for_send", org, id);
  if (r.empty()) return missing;
  auto m = read_media(r[0]);
  bool sent = r[0][8].as<bool>();
  if (m.uploader != user && w.exec_prepared("media_sent_to_member", org, id, user).empty()) return missing;
  if (!protocol::media_fits(m.content_type, kind))
    return error{error_code::bad_request, "data.body.media_id: media " + protocol::id_string(id) + " is " +
                                              m.content_type + ", which this message type cannot carry"};
  auto member = w.exec_prepared1("media_conv_member", org, conv, user);
  if (!member[0].as<bool>()) {
    if (!member[1].as<bool>())
      return error{error_code::not_found, "conversation " + protocol::id_string(conv) + " not found"};
    return error{error_code::forbidden, "not a member of conversation " + protocol::id_string(conv)};
  }
  w.exec_prepared("media_reference", org, id, conv, ts);
  if (!sent) w.exec_prepared("media_mark_sent", org, id);
  return m;
}

gc_outcome media_store::collect(pqxx::connection& c, std::int64_t grace_s, int limit,
                                const std::function<void(const std::string&)>& remove_object) {
  gc_outcome out;
  std::string shas;
  {
    pqxx::work w(c);
    if (!w.exec_prepared1("media_collector_lock", collector_lock_class)[0].as<bool>()) return out;
    auto r = w.exec_prepared1("media_collect", grace_s, limit);
    out.rows = r[0].as<std::int64_t>();
    out.bytes = r[1].as<std::int64_t>();
    shas = r[2].as<std::string>();
    w.commit();
  }
  for (std::size_t i = 0; i < shas.size();) {
    auto comma = shas.find(',', i);
    if (comma == std::string::npos) comma = shas.size();
    auto sha = shas.substr(i, comma - i);
    i = comma + 1;
    pqxx::work w(c);
    lock_object(w, sha);
    if (!w.exec_prepared1("media_object_used", sha)[0].as<bool>()) {
      remove_object(sha);
      ++out.objects;
    }
    w.commit();
  }
  return out;
}

std::int64_t media_store::purge_org_in(pqxx::work& w, std::int64_t org, int limit,
                                       const std::function<void(const std::string&)>& remove_object) {
  std::vector<std::string> shas;
  for (const auto& r : w.exec_prepared("media_purge_chunk", org, limit))
    shas.push_back(r[0].as<std::string>());
  auto rows = static_cast<std::int64_t>(shas.size());
  std::sort(shas.begin(), shas.end());
  shas.erase(std::unique(shas.begin(), shas.end()), shas.end());
  for (const auto& sha : shas) {
    lock_object(w, sha);
    // This transaction's deletes are visible to it: true only when another upload still uses it.
    if (!w.exec_prepared1("media_object_used", sha)[0].as<bool>()) remove_object(sha);
  }
  return rows;
}

}  // namespace switchboard::storage
