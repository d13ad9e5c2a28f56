// Media over HTTP.
#include "server/api/http/media_handlers.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <cctype>

#include "protocol/http_range.hpp"
#include "protocol/json_util.hpp"
#include "protocol/media_types.hpp"
#include "protocol/types.hpp"
#include "storage/media_store.hpp"

namespace switchboard::server {

namespace asio = boost::asio;
using api::call_ptr;
using protocol::byte_range;
using protocol::error;
using protocol::error_code;
using protocol::etag_matches;
using protocol::parse_range;
using protocol::parse_u64;

media_upload::media_upload(services& ctx, call_ptr call, params p,
                           std::shared_ptr<storage::media_writer> writer)
    : ctx_(ctx), call_(std::move(call)), p_(std::move(p)), writer_(std::move(writer)) {}

media_upload::~media_upload() {
  // Discarding the temporary is file I/O: not on the io_context thread that drops the upload.
  if (writer_) asio::post(ctx_.files, [w = std::move(writer_)] {});
}

std::optional<error> media_upload::check_head(bool complete) {
  if (sniffed_ || (!complete && head_.size() < protocol::media_sniff_bytes)) return std::nullopt;
  sniffed_ = true;
  if (protocol::media_matches(p_.content_type, head_)) return std::nullopt;
  return error{error_code::bad_request, "the bytes are not " + p_.content_type};
}

void media_upload::write(const char* data, std::size_t size, std::function<void(bool)> done) {
  received_ += size;
  if (p_.room && received_ > *p_.room) {
    refuse({error_code::quota_exceeded, "this upload would pass the organization's storage quota"});
    return done(false);
  }
  if (!sniffed_) head_.append(data, std::min(size, protocol::media_sniff_bytes - head_.size()));
  if (auto e = check_head(false)) {
    refuse(*e);
    return done(false);
  }
  asio::post(ctx_.files, [self = shared_from_this(), data, size, done = std::move(done)]() mutable {
    std::optional<error> e;
    try {
      self->writer_->write(data, size);
    } catch (const std::exception& ex) {
      e = internal_error(*self->ctx_.log, "media write", ex.what());
    }
    asio::post(self->call_->ex, [self, e, done = std::move(done)] {
      if (e) self->refuse(*e);
      done(!e);
    });
  });
}

void media_upload::refuse(const error& e) {
  api::fail(ctx_, call_, e);
}

void media_upload::finish() {
  if (received_ == 0) return refuse({error_code::bad_request, "the upload is empty"});
  if (auto e = check_head(true)) return refuse(*e);
  asio::post(ctx_.files, [self = shared_from_this()] {
    std::string sha;
    try {
      sha = self->writer_->finish();
    } catch (const std::exception& ex) {
      auto e = internal_error(*self->ctx_.log, "media write", ex.what());
      return asio::post(self->call_->ex, [self, e] { self->refuse(e); });
    }
    auto& ctx = self->ctx_;
    auto c = self->call_;
    // The writer goes with the storage job: it is named inside the transaction that records it.
    auto writer = std::move(self->writer_);
    db_call<storage::media_row>(
        ctx, c->ex,
        [p = self->p_, sha, size = static_cast<std::int64_t>(self->received_),
         writer](pqxx::connection& conn) -> protocol::result<storage::media_row> {
          return storage::media_store::add(conn, p.org, p.user, sha, size, p.content_type, p.name,
                                           [&] { writer->commit(); });
        },
        [&ctx, c, writer](protocol::result<storage::media_row> r) mutable {
          // An upload refused here (the quota) drops its temporary on a file thread.
          asio::post(ctx.files, [w = std::move(writer)] {});
          if (!r) return api::fail(ctx, c, r.err());
          ctx.log->debug("media {} stored: {} bytes of {}", r.value().id, r.value().size,
                         r.value().content_type);
          api::ok(ctx, c, boost::beast::http::status::created, storage::to_json(r.value()));
        });
  });
}

namespace api {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// The declared media type: lowercase, without parameters ("image/png; x=y" is image/png).
std::string declared_type(const call_ptr& c) {
  auto it = c->req.find(http::field::content_type);
  if (it == c->req.end()) return {};
  std::string_view v(it->value().data(), it->value().size());
  return lower(protocol::trim_ows(v.substr(0, v.find(';'))));
}

std::optional<std::string> header(const call_ptr& c, http::field f) {
  auto it = c->req.find(f);
  if (it == c->req.end()) return std::nullopt;
  return std::string(it->value());
}

// RFC 8187 ext-value: UTF-8, every byte outside attr-char percent-encoded.
std::string ext_value(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out = "UTF-8''";
  for (unsigned char ch : s) {
    if (std::isalnum(ch) ||
        std::string_view("!#$&+-.^_`|~").find(static_cast<char>(ch)) != std::string_view::npos) {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

}  // namespace

std::uint64_t media_limit(const config::settings& cfg, std::string_view content_type) {
  if (content_type.rfind("image/", 0) == 0) return static_cast<std::uint64_t>(cfg.media.max_image_bytes);
  if (content_type.rfind("audio/", 0) == 0) return static_cast<std::uint64_t>(cfg.media.max_voice_bytes);
  return static_cast<std::uint64_t>(cfg.media.max_file_bytes);
}

void begin_upload(services& ctx, const call_ptr& c, upload_ready_fn ready) {
  media_upload::params p;
  p.content_type = declared_type(c);
  if (p.content_type.empty())
    return fail(ctx, c, {error_code::bad_request, "Content-Type is required: the media type of the bytes"});
  if (!protocol::is_accepted_media_type(p.content_type))
    return fail(
        ctx, c,
        {error_code::bad_request, "Content-Type " + p.content_type + " is not an accepted media type"});
  p.name = query_param(c, "name");
  if (p.name.size() > 255) return fail(ctx, c, {error_code::bad_request, "name is over 255 bytes"});
  if (!protocol::is_valid_utf8(p.name)) return fail(ctx, c, {error_code::bad_request, "name is not UTF-8"});
  for (unsigned char ch : p.name)
    if (ch < 0x20 || ch == 0x7f)
      return fail(ctx, c, {error_code::bad_request, "name has a control character"});
  p.limit = media_limit(ctx.cfg, p.content_type);
  std::optional<std::uint64_t> length;
  if (auto cl = header(c, http::field::content_length)) {
    std::uint64_t n = 0;
    if (parse_u64(protocol::trim_ows(*cl), n)) length = n;
  }
  if (length && *length > p.limit) {
    ctx.stats.hit(limit::http_body_size);
    return fail(ctx, c,
                {error_code::too_large, "the upload is over " + std::to_string(p.limit) +
                                            " bytes, the limit for " + p.content_type});
  }
  if (length && *length == 0) return fail(ctx, c, {error_code::bad_request, "the upload is empty"});
  authenticate(ctx, c, [&ctx, c, p, length, ready](const storage::token_info& t, const std::string&) mutable {
    if (auto e = inactive_account(t)) return fail(ctx, c, *e);
    p.org = t.org_id;
    p.user = t.user_id;
    db_call<storage::storage_usage>(
        ctx, c->ex,
        [org = p.org](pqxx::connection& conn) -> protocol::result<storage::storage_usage> {
          return storage::media_store::usage(conn, org);
        },
        [&ctx, c, p, length, ready](protocol::result<storage::storage_usage> r) mutable {
          if (!r) return fail(ctx, c, r.err());
          if (auto room = r.value().room()) {
            p.room = static_cast<std::uint64_t>(*room);
            if ((length ? *length : 1) > *p.room)
              return fail(
                  ctx, c,
                  {error_code::quota_exceeded, "this upload would pass the organization's storage quota"});
          }
          // Creating the temporary is file I/O too.
          asio::post(ctx.files, [&ctx, c, p, ready]() mutable {
            std::unique_ptr<storage::media_writer> w;
            std::optional<error> e;
            try {
              w = ctx.media.begin();
            } catch (const std::exception& ex) {
              e = internal_error(*ctx.log, "media store", ex.what());
            }
            asio::post(c->ex, [&ctx, c, p = std::move(p),
                               w = std::shared_ptr<storage::media_writer>(std::move(w)), e, ready]() mutable {
              if (e) return fail(ctx, c, *e);
              ready(std::make_shared<media_upload>(ctx, c, std::move(p), std::move(w)));
            });
          });
        });
  });
}

void download_media(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    if (auto e = inactive_account(t)) return fail(ctx, c, *e);
    db_call<storage::media_row>(
        ctx, c->ex,
        [org = t.org_id, user = t.user_id,
         id](pqxx::connection& conn) -> protocol::result<storage::media_row> {
          auto m = storage::media_store::readable(conn, org, id, user);
          if (!m) return error{error_code::not_found, "media " + protocol::id_string(id) + " not found"};
          return *m;
        },
        [&ctx, c](protocol::result<storage::media_row> r) {
          if (!r) return fail(ctx, c, r.err());
          auto m = r.value();
          std::string etag = "\"" + m.sha256 + "\"";
          http_response head{http::status::ok, c->req.version()};
          head.keep_alive(c->req.keep_alive());
          head.set(http::field::etag, etag);
          // The bytes behind an id never change; who may read them can, so caches revalidate.
          head.set(http::field::cache_control, "private, no-cache");
          if (auto inm = header(c, http::field::if_none_match); inm && etag_matches(*inm, etag)) {
            head.result(http::status::not_modified);
            return finish(ctx, c, std::move(head));
          }
          asio::post(ctx.files, [&ctx, c, m, etag, head = std::move(head)]() mutable {
            std::shared_ptr<storage::media_reader> reader;
            try {
              reader = ctx.media.open(m.sha256);
            } catch (const std::exception& ex) {
              ctx.log->error("media {}: {}", m.id, ex.what());
            }
            asio::post(c->ex, [&ctx, c, m, etag, head = std::move(head), reader]() mutable {
              if (!reader) {
                return fail(ctx, c,
                            internal_error(*ctx.log, "media download",
                                           "the object of media " + std::to_string(m.id) + " is missing"));
              }
              head.set(http::field::content_type, m.content_type);
              head.set("X-Content-Type-Options", "nosniff");
              bool inline_type =
                  m.content_type.rfind("image/", 0) == 0 || m.content_type.rfind("audio/", 0) == 0;
              std::string disposition = inline_type ? "inline" : "attachment";
              if (!m.name.empty()) disposition += "; filename*=" + ext_value(m.name);
              head.set(http::field::content_disposition, disposition);
              answer_bytes(ctx, c, std::move(head), reader, etag);
            });
          });
        });
  });
}

void answer_bytes(services& ctx, const call_ptr& c, http_response head,
                  std::shared_ptr<storage::media_reader> reader, const std::string& etag) {
  auto size = reader->size();
  byte_range range;
  range.length = size;
  auto if_range = header(c, http::field::if_range);
  if (auto h = header(c, http::field::range); h && (!if_range || protocol::trim_ows(*if_range) == etag))
    range = parse_range(*h, size);
  if (range.what == byte_range::kind::unsatisfiable) {
    auto res = make_error_response(c->req, {error_code::bad_request, "the range is past the end"});
    res.result(http::status::range_not_satisfiable);
    res.set(http::field::content_range, "bytes */" + std::to_string(size));
    return finish(ctx, c, std::move(res));
  }
  head.set(http::field::accept_ranges, "bytes");
  if (range.what == byte_range::kind::partial) {
    head.result(http::status::partial_content);
    head.set(http::field::content_range, "bytes " + std::to_string(range.offset) + "-" +
                                             std::to_string(range.offset + range.length - 1) + "/" +
                                             std::to_string(size));
  }
  head.content_length(range.length);
  streamed_response res{std::move(head), c->req.method() == http::verb::head ? nullptr : std::move(reader),
                        range.offset, range.length};
  finish_stream(ctx, c, std::move(res));
}

void get_usage(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    answer<json::object>(
        ctx, c, http::status::ok,
        [org = t.org_id](pqxx::connection& conn) -> protocol::result<json::object> {
          return storage::media_store::usage_report(conn, org);
        },
        [](const json::object& o) { return o; });
  });
}

}  // namespace api

}  // namespace switchboard::server
