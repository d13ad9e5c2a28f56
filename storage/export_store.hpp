// Exports (PROTOCOL.md POST /v1/admin/exports, POST /v1/me/export; docs/admin.md "Exports"): the
// rows that track them, and the organization's (or one member's) data read page by page for the
// archive, so no export is ever held in memory whole.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/connection>

#include "protocol/errors.hpp"
#include "storage/audit_store.hpp"

namespace switchboard::storage {

struct export_row {
  std::int64_t id = 0, org = 0;
  std::string scope;  // org | user
  std::optional<std::int64_t> user;
  std::int64_t requested_by = 0;
  bool own = false;   // the member's own (POST /v1/me/export): only they read it
  std::string state;  // pending | running | ready | failed
  double progress = 0;
  std::optional<std::int64_t> size;
  std::string file;   // relative to the media directory, once ready
  std::string error;  // failed: why
  std::int64_t created_at_ms = 0;
  std::optional<std::int64_t> finished_at_ms, expires_at_ms;
};

boost::json::object to_json(const export_row& e);

// One line of a JSON Lines file.
using line_sink = std::function<void(const boost::json::object&)>;

struct export_media {
  std::int64_t id = 0;
  std::string sha256;
};

// Whose data an export holds: the whole organization, or what one member may see.
struct export_scope {
  std::int64_t org = 0;
  std::optional<std::int64_t> user;
};

class export_store {
 public:
  static void prepare(pqxx::connection& c);

  // A new pending export, audited (export.create). `user` must be a user of the organization.
  static protocol::result<export_row> create(pqxx::connection& c, const actor& a, const std::string& scope,
                                             std::optional<std::int64_t> user, bool own);
  static std::optional<export_row> get(pqxx::connection& c, std::int64_t org, std::int64_t id);
  // Newest first: the admins' exports (not members' own).
  static std::vector<export_row> list(pqxx::connection& c, std::int64_t org, std::int64_t before, int limit);
  // A download begins (export.download).
  static void audit_download(pqxx::connection& c, const actor& a, std::int64_t id);

  // The next export to write: pending, or running under a lease that passed (its node died). It is
  // leased for `lease_s` and marked running.
  static std::optional<export_row> claim(pqxx::connection& c, int lease_s);
  // Progress (0 to 1), which also renews the lease.
  static void progress(pqxx::connection& c, const export_row& e, double progress, int lease_s);
  static void finish(pqxx::connection& c, const export_row& e, const std::string& file, std::int64_t size,
                     int ttl_s);
  static void fail(pqxx::connection& c, const export_row& e, const std::string& why);
  // Deletes up to `limit` exports past their expiry; returns their files (to delete).
  static std::vector<std::string> expire(pqxx::connection& c, int limit);

  // The data. Each reads a bounded page per query.
  static boost::json::object organization(pqxx::connection& c, const export_scope& s);
  static void departments(pqxx::connection& c, const export_scope& s, const line_sink& out);
  static void users(pqxx::connection& c, const export_scope& s, const line_sink& out);
  // The conversations (all of the organization's, or the member's), written and returned.
  static std::vector<std::int64_t> conversations(pqxx::connection& c, const export_scope& s,
                                                 const line_sink& out);
  static void members(pqxx::connection& c, const export_scope& s, const std::vector<std::int64_t>& convs,
                      const line_sink& out);
  static std::int64_t message_count(pqxx::connection& c, const export_scope& s,
                                    const std::vector<std::int64_t>& convs);
  // Up to `limit` messages of `conv` after `after_seq`; returns the last seq written (0: none).
  static std::int64_t messages(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                               std::int64_t after_seq, int limit, const line_sink& out);
  // The media the export carries: all the organization's, or the member's uploads and what was
  // sent to their conversations.
  static std::vector<export_media> media(pqxx::connection& c, const export_scope& s);
};

}  // namespace switchboard::storage
