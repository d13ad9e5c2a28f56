// Media over HTTP: POST /v1/media (streamed to the media store as it arrives), GET /v1/media/{id}
// (streamed back, with ETag and Range) and GET /v1/admin/usage.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "protocol/errors.hpp"
#include "server/api/http/api_common.hpp"
#include "storage/media_backend.hpp"

namespace switchboard::server {

// One upload whose header passed its checks. The session feeds it the body a chunk at a time
// (one chunk in flight: the next is read only when the last is written, so a fast client cannot
// outrun the disk), then calls finish(). Dropping it before finish() discards what was written.
class media_upload : public upload_sink, public std::enable_shared_from_this<media_upload> {
 public:
  struct params {
    std::int64_t org = 0, user = 0;
    std::string content_type, name;
    std::uint64_t limit = 0;            // the type's size limit
    std::optional<std::uint64_t> room;  // what the quota leaves, when there is one
  };
  media_upload(services& ctx, api::call_ptr call, params p, std::shared_ptr<storage::media_writer> writer);
  ~media_upload() override;

  std::uint64_t body_limit() const override { return p_.limit; }
  // Writes `data` (valid until `done` runs) on a file thread; `done(true)` on the call's executor
  // when it may go on, `done(false)` when the upload was refused (the call is answered then).
  void write(const char* data, std::size_t size, std::function<void(bool)> done) override;
  // The whole body is in: names the bytes, records the upload and answers the call.
  void finish() override;
  // The body could not be read (over the size limit): answers the call.
  void refuse(const protocol::error& e) override;

 private:
  std::optional<protocol::error> check_head(bool complete);
  services& ctx_;
  api::call_ptr call_;
  params p_;
  std::shared_ptr<storage::media_writer> writer_;  // shared only to travel through handlers
  std::uint64_t received_ = 0;
  std::string head_;  // the first bytes, for the type check
  bool sniffed_ = false;
};

namespace api {
// POST /v1/media before its body: the token, the declared type and name, Content-Length against
// the type's limit and the quota. Then `ready(upload)`, or the call is answered with the refusal.
void begin_upload(services& ctx, const call_ptr& c, upload_ready_fn ready);
// GET (and HEAD) /v1/media/{id}.
void download_media(services& ctx, const call_ptr& c, std::int64_t id);
// GET /v1/admin/usage.
void get_usage(services& ctx, const call_ptr& c);
// Answers with `reader`'s bytes: 200, or 206 for a Range (honouring If-Range against `etag`), or
// 416 past the end. `head` carries the status line and the headers already set.
void answer_bytes(services& ctx, const call_ptr& c, http_response head,
                  std::shared_ptr<storage::media_reader> reader, const std::string& etag);

// The size limit for an upload declared as `content_type`.
std::uint64_t media_limit(const config::settings& cfg, std::string_view content_type);
}  // namespace api

}  // namespace switchboard::server
