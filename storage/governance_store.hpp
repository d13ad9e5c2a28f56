// Data governance in PostgreSQL (PROTOCOL.md "Retention and reclamation", DELETE /v1/admin/org;
// docs/admin.md): retention's chunked deletes, organizations being deleted and their chunked,
// resumable purge. Every method does a bounded amount of work in short transactions, so none holds
// a lock for long or stalls the sends around it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "protocol/errors.hpp"
#include "storage/audit_store.hpp"

namespace switchboard::storage {

struct retention_policy {
  std::int64_t org = 0;
  int days = 0;
};

// One page of an organization's conversations, in id order.
struct retention_page {
  std::vector<std::int64_t> due;     // whose oldest stored message is older than the cutoff
  std::vector<std::int64_t> looked;  // every conversation of the page
  std::int64_t last_conv = 0;        // the keyset cursor: the highest id looked at (0: none left)
};

// What one chunk of a conversation's old messages took with it.
struct retention_chunk {
  std::int64_t messages = 0, reports = 0, events = 0;
  std::int64_t first_seq = 0;  // the conversation's first_seq after the chunk
  bool more = false;           // a full chunk of old messages: there may be more
};

struct org_deletion {
  std::int64_t org = 0;
  std::int64_t purge_after_ms = 0;
};

// One step of a purge: `rows` of `table` deleted; `finished` once the organization's row is gone.
struct purge_step {
  std::string table;
  std::int64_t rows = 0;
  bool finished = false;
};

// What a purge deletes outside PostgreSQL, called inside the transaction that deletes the rows (a
// crash before its commit leaves the rows, and the next attempt deletes again what is gone).
struct purge_files {
  std::function<void(const std::string& sha256)> remove_object;  // a media object nobody else uses
  std::function<void(const std::string& file)> remove_export;    // relative to the media directory
};

class governance_store {
 public:
  static void prepare(pqxx::connection& c);

  // A lock on `job` held by this connection's session (and released with it: a node that dies
  // frees it). False when another node holds it.
  static bool try_lock_job(pqxx::connection& c, const std::string& job);
  static void unlock_job(pqxx::connection& c, const std::string& job);

  // Organizations with retention_days set, not being deleted.
  static std::vector<retention_policy> retention_policies(pqxx::connection& c);
  // The conversations of `org` after `after_conv` (up to `limit` looked at) whose oldest stored
  // message is older than `cutoff_ms`.
  static retention_page retention_candidates(pqxx::connection& c, std::int64_t org, std::int64_t after_conv,
                                             std::int64_t cutoff_ms, int limit);
  // Deletes up to `chunk` of the conversation's oldest messages older than `cutoff_ms` (in seq
  // order, stopping at the first newer one) with their reports and pending app events, and moves
  // first_seq past them: one transaction, the conversation's row locked only at its end.
  static retention_chunk delete_old_messages(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                             std::int64_t cutoff_ms, int chunk);
  // Drops the references of `convs` to media last sent before `cutoff_ms` (every message carrying
  // them is gone); a media no conversation references any more is left to the media collector.
  // Returns the references dropped.
  static std::int64_t release_old_media(pqxx::connection& c, std::int64_t org,
                                        const std::vector<std::int64_t>& convs, std::int64_t cutoff_ms);
  // The audit entry of one organization's retention run (actor: system).
  static void audit_system(pqxx::connection& c, std::int64_t org, const std::string& action,
                           const boost::json::object& summary);

  // DELETE /v1/admin/org: `confirm` must be the organization's name. Marks it deleting (every
  // token, login and app token is refused from the commit on) with its purge `delay_s` later.
  static protocol::result<org_deletion> begin_deletion(pqxx::connection& c, const actor& a,
                                                       const std::string& confirm, std::int64_t delay_s);
  // Organizations being deleted whose purge is due (`now`: every one being deleted).
  static std::vector<std::int64_t> purges_due(pqxx::connection& c, bool now);
  // Whether `org` is being deleted (false when it does not exist, also after its purge).
  static bool deleting(pqxx::connection& c, std::int64_t org);
  // Deletes the next chunk of the organization's rows, children before parents; media objects no
  // other organization uses go through `remove_object`. Resumable: after a crash, the next call
  // goes on where the rows say. nullopt when `org` is not being deleted.
  static std::optional<purge_step> purge_next(pqxx::connection& c, std::int64_t org, int chunk,
                                              const purge_files& files);
};

}  // namespace switchboard::storage
