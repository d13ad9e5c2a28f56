// HTTP routes of exports (PROTOCOL.md POST /v1/admin/exports, POST /v1/me/export): requesting
// one, following its progress, and downloading the archive (with Range). An admin's exports are
// the admins'; a member's own export is only that member's.
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <filesystem>

#include "protocol/fields.hpp"
#include "server/api/http/api_common.hpp"
#include "server/api/http/handlers.hpp"
#include "server/api/http/media_handlers.hpp"
#include "server/core/db_call.hpp"
#include "storage/export_store.hpp"

namespace switchboard::server::api {

namespace {

// Who is reading: an admin (the admins' exports) or a member (their own).
struct reader {
  storage::actor actor;
  bool own = false;
};

bool may_read(const reader& r, const storage::export_row& e) {
  return r.own ? e.own && e.user == r.actor.user : !e.own;
}

void create_export(services& ctx, const call_ptr& c, const reader& r, std::string scope,
                   std::optional<std::int64_t> user) {
  db_call<storage::export_row>(
      ctx, c->ex,
      [a = r.actor, own = r.own, scope, user](pqxx::connection& conn) {
        return storage::export_store::create(conn, a, scope, user, own);
      },
      [&ctx, c](result<storage::export_row> res) {
        if (!res) return fail(ctx, c, res.err());
        ctx.wake_exports();
        ok(ctx, c, http::status::accepted, storage::to_json(res.value()));
      });
}

void get_export(services& ctx, const call_ptr& c, const reader& r, std::int64_t id) {
  answer<storage::export_row>(
      ctx, c, http::status::ok,
      [r, id](pqxx::connection& conn) -> result<storage::export_row> {
        auto e = storage::export_store::get(conn, r.actor.org, id);
        if (!e || !may_read(r, *e))
          return error{error_code::not_found, "export " + protocol::id_string(id) + " not found"};
        return *e;
      },
      [](const storage::export_row& e) { return storage::to_json(e); });
}

void download_export(services& ctx, const call_ptr& c, const reader& r, std::int64_t id) {
  db_call<storage::export_row>(
      ctx, c->ex,
      [r, id](pqxx::connection& conn) -> result<storage::export_row> {
        auto e = storage::export_store::get(conn, r.actor.org, id);
        if (!e || !may_read(r, *e))
          return error{error_code::not_found, "export " + protocol::id_string(id) + " not found"};
        if (e->state != "ready")
          return error{error_code::conflict,
                       "export " + protocol::id_string(id) + " is " + e->state + ", not ready"};
        return *e;
      },
      [&ctx, c, r](result<storage::export_row> res) {
        if (!res) return fail(ctx, c, res.err());
        auto e = res.value();
        boost::asio::post(ctx.files, [&ctx, c, r, e] {
          std::shared_ptr<storage::media_reader> file =
              storage::open_file((std::filesystem::path(ctx.cfg.media.dir) / e.file).string());
          boost::asio::post(c->ex, [&ctx, c, r, e, file] {
            if (!file)
              return fail(ctx, c,
                          internal_error(*ctx.log, "export download",
                                         "the file of export " + std::to_string(e.id) + " is missing"));
            std::string etag =
                "\"export-" + std::to_string(e.id) + "-" + std::to_string(e.size.value_or(0)) + "\"";
            http_response head{http::status::ok, c->req.version()};
            head.keep_alive(c->req.keep_alive());
            head.set(http::field::content_type, "application/gzip");
            head.set(http::field::etag, etag);
            head.set(http::field::cache_control, "private, no-store");
            head.set(http::field::content_disposition,
                     "attachment; filename=\"switchboard-export-" + std::to_string(e.id) + ".tar.gz\"");
            // A download that starts at the first byte is audited; its resumptions (Range) are not.
            auto range = c->req.find(http::field::range);
            bool from_start = range == c->req.end() || range->value().starts_with("bytes=0-");
            if (from_start && c->req.method() == http::verb::get)
              db_call<bool>(
                  ctx, c->ex,
                  [a = r.actor, id = e.id](pqxx::connection& conn) -> result<bool> {
                    storage::export_store::audit_download(conn, a, id);
                    return true;
                  },
                  [](result<bool>) {});
            answer_bytes(ctx, c, std::move(head), file, etag);
          });
        });
      });
}

}  // namespace

void create_org_export(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    protocol::fields f(body.value(), "");
    auto scope = f.str("scope", 1, 8);
    std::optional<std::int64_t> user;
    if (f.ok() && scope == "user") user = f.id("user");
    if (f.ok() && scope != "org" && scope != "user")
      f.fail(error_code::bad_request, "scope must be org or user");
    if (!f.ok()) return fail(ctx, c, f.err());
    create_export(ctx, c, reader{actor_of(ctx, c, t), false}, scope, user);
  });
}

void list_org_exports(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    answer_page<storage::export_row>(
        ctx, c, 50, 200,
        [org = t.org_id](pqxx::connection& conn, std::int64_t before, int n) {
          return storage::export_store::list(conn, org, before, n);
        },
        [](const storage::export_row& e) { return storage::to_json(e); });
  });
}

void get_org_export(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    get_export(ctx, c, reader{actor_of(ctx, c, t), false}, id);
  });
}

void download_org_export(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    download_export(ctx, c, reader{actor_of(ctx, c, t), false}, id);
  });
}

void create_own_export(services& ctx, const call_ptr& c) {
  authenticate(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    if (auto e = inactive_account(t)) return fail(ctx, c, *e);
    create_export(ctx, c, reader{actor_of(ctx, c, t), true}, "user", t.user_id);
  });
}

void get_own_export(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    get_export(ctx, c, reader{actor_of(ctx, c, t), true}, id);
  });
}

void download_own_export(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    download_export(ctx, c, reader{actor_of(ctx, c, t), true}, id);
  });
}

}  // namespace switchboard::server::api
