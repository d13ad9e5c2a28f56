// Media rows: uploads, who may read them, the conversations they were sent to, each organization's
// storage usage against its quota, and garbage collection of what was never sent. The bytes live
// in a media_backend; this store decides when an object may be named or deleted, under a lock per
// object taken in PostgreSQL, so several nodes sharing one backend agree.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/json/object.hpp>
#include <pqxx/connection>
#include <pqxx/transaction>

#include "protocol/errors.hpp"
#include "protocol/media_types.hpp"

namespace switchboard::storage {

struct media_row {
  std::int64_t org = 0, id = 0;
  std::string sha256;
  std::int64_t size = 0;
  std::string content_type, name;
  std::int64_t uploader = 0;
  std::int64_t created_at = 0;  // ms
};

// POST /v1/media's answer: {media_id, size, sha256, content_type}.
boost::json::object to_json(const media_row& m);

struct storage_usage {
  std::int64_t bytes = 0;
  std::optional<std::int64_t> quota_bytes;  // none: no quota
  // Bytes an upload may still add (none: no limit).
  std::optional<std::int64_t> room() const {
    if (!quota_bytes) return std::nullopt;
    return *quota_bytes > bytes ? *quota_bytes - bytes : 0;
  }
};

struct gc_outcome {
  std::int64_t rows = 0;     // uploads deleted
  std::int64_t objects = 0;  // stored objects no upload used any more, deleted
  std::int64_t bytes = 0;    // their uploads' sizes, taken off their orgs' usage
};

class media_store {
 public:
  static constexpr std::int64_t mib = 1048576;

  static void prepare(pqxx::connection& c);
  static storage_usage usage(pqxx::connection& c, std::int64_t org);
  // The admin's usage figures: {storage_bytes, storage_quota_bytes, members, media}.
  static boost::json::object usage_report(pqxx::connection& c, std::int64_t org);

  // Records an upload whose bytes are finished (sha256 known) and, in the same transaction and
  // under the object's lock, has `store_object()` name them in the backend. Counts `size` toward
  // the org's usage; past the quota it is quota_exceeded and nothing is stored or named.
  static protocol::result<media_row> add(pqxx::connection& c, std::int64_t org, std::int64_t uploader,
                                         const std::string& sha256, std::int64_t size,
                                         const std::string& content_type, const std::string& name,
                                         const std::function<void()>& store_object);

  // The media if `user` may read it (its uploader, or a member of a conversation it was sent to),
  // else nothing.
  static std::optional<media_row> readable(pqxx::connection& c, std::int64_t org, std::int64_t id,
                                           std::int64_t user);

  // Before a message that carries the media is written: the media must be readable by `user` (else
  // not_found), fit the message type (else bad_request), and `user` must be a member of `conv`
  // (not_found without the conversation, forbidden without membership). Then records that the
  // media was sent to `conv`, which lets its members read it and keeps it from collection. Runs in
  // `w`, the transaction that writes the message (the ordered writer's batch), so the reference
  // commits exactly when the message does.
  // `ts`: the message's, kept with the reference (retention drops it once every message older than
  // the last that carried the media is gone).
  static protocol::result<media_row> attach_in(pqxx::work& w, std::int64_t org, std::int64_t id,
                                               std::int64_t conv, std::int64_t user,
                                               protocol::media_kind kind, std::int64_t ts);

  // An organization's purge: deletes up to `limit` of its uploads inside `w`, and each stored object
  // no other upload (of any organization) uses through `remove_object`, under that object's lock.
  // Returns the uploads deleted.
  static std::int64_t purge_org_in(pqxx::work& w, std::int64_t org, int limit,
                                   const std::function<void(const std::string&)>& remove_object);

  // One round of garbage collection: deletes up to `limit` uploads never sent and older than
  // `grace_s`, then each stored object no upload uses any more (through `remove_object`, called
  // under that object's lock). Only one node collects at a time; the others return zeros.
  static gc_outcome collect(pqxx::connection& c, std::int64_t grace_s, int limit,
                            const std::function<void(const std::string&)>& remove_object);
};

}  // namespace switchboard::storage
