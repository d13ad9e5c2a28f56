// The /v1 HTTP API.
#include "server/api/http/api_call.hpp"
#include "server/api/http/routes.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <memory>

#include "protocol/close_codes.hpp"
#include "protocol/fields.hpp"
#include "protocol/json_util.hpp"
#include "protocol/types.hpp"
#include "protocol/validate.hpp"
#include "server/api/http/admin_handlers.hpp"
#include "server/api/http/api_common.hpp"
#include "server/api/http/app_handlers.hpp"
#include "server/api/http/invite_handlers.hpp"
#include "server/api/http/media_handlers.hpp"
#include "server/base/password_hasher.hpp"
#include "server/core/db_call.hpp"
#include "server/core/token_cache.hpp"
#include "storage/dept_store.hpp"
#include "storage/directory_store.hpp"
#include "storage/org_store.hpp"
#include "storage/user_store.hpp"
#include "storage/verification_store.hpp"

namespace switchboard::server {

namespace {

using namespace api;

// --- routes -------------------------------------------------------------------------------------

// Why an account that is not active cannot log in: "account suspended until <ms>: <reason>".
std::string inactive_reason(const protocol::user& u) {
  std::string out = "account " + u.status;
  if (u.status == "suspended") {
    if (u.suspended_until_ms) out += " until " + std::to_string(*u.suspended_until_ms);
    if (!u.suspend_reason.empty()) out += ": " + u.suspend_reason;
  }
  return out;
}

void login(services& ctx, const call_ptr& c) {
  if (!take_login_attempt(ctx, c)) return;
  auto body = json_body(c);
  if (!body) return fail(ctx, c, body.err());
  protocol::fields f(body.value(), "");
  auto org = f.id("org");
  auto mobile = f.mobile("mobile");
  auto password = f.opt_str("password", 1, max_password_bytes);
  auto code = f.opt_str("code", 1, 16);
  if (f.ok() && !password && !code) f.fail(error_code::bad_request, "password or code is required");
  if (!f.ok()) return fail(ctx, c, f.err());
  // Failed attempts per number (limits.failed_logins_per_minute): guessing one account's password
  // from many addresses is slow too. Only failures are charged.
  auto number_key = std::to_string(org) + ":" + mobile;
  std::int64_t retry_after = 0;
  if (!ctx.failed_logins.available(number_key, retry_after)) {
    ctx.stats.hit(limit::failed_logins);
    return fail(ctx, c,
                {error_code::rate_limited, "too many failed login attempts for this number", retry_after});
  }
  auto failed = [&ctx, c, number_key](const error& e) {
    std::int64_t ignored = 0;
    ctx.failed_logins.take(number_key, ignored);
    fail(ctx, c, e);
  };
  const error wrong{error_code::unauthorized, "wrong mobile or password"};
  // The account checks and the token, once the password or code was right.
  auto admit = [&ctx, c](const protocol::user& u) {
    if (u.status != "active") return fail(ctx, c, {error_code::forbidden, inactive_reason(u)});
    auto user = protocol::to_json(u);
    issue_token(ctx, c, u.org_id, u.id, http::status::ok,
                [user](const std::string& token, std::int64_t expires) {
                  return json::object{{"token", token}, {"user", user}, {"expires_at", expires}};
                });
  };
  if (!password) {
    // A verification code (POST /v1/auth/code): checked and spent in the database.
    db_call<protocol::user>(
        ctx, c->ex,
        [org, mobile, code = *code](pqxx::connection& conn) -> result<protocol::user> {
          pqxx::work w(conn);
          auto check = storage::code_store::verify(w, org, mobile, "login", code);
          w.commit();  // a wrong try stays counted
          if (check != storage::code_store::check::ok) return storage::code_error(check);
          auto cand = storage::user_store::find_for_login(conn, org, mobile);
          if (!cand) return storage::code_error(storage::code_store::check::dead);
          return cand->user;
        },
        [&ctx, c, failed, admit](result<protocol::user> r) {
          if (!r && r.err().code == error_code::unauthorized) return failed(r.err());
          if (!r) return fail(ctx, c, r.err());
          admit(r.value());
        });
    return;
  }
  db_call<storage::login_candidate>(
      ctx, c->ex,
      [org, mobile, wrong](pqxx::connection& conn) -> result<storage::login_candidate> {
        auto cand = storage::user_store::find_for_login(conn, org, mobile);
        if (!cand || cand->password_hash.empty()) return wrong;
        return *cand;
      },
      [&ctx, c, failed, admit, wrong, password = *password](result<storage::login_candidate> r) mutable {
        if (!r && r.err().code == error_code::unauthorized) return failed(r.err());
        if (!r) return fail(ctx, c, r.err());
        auto cand = std::make_shared<storage::login_candidate>(std::move(r.value()));
        boost::asio::post(ctx.cpu, [&ctx, c, cand, failed, admit, wrong, password] {
          bool good = password_hasher::verify(password, cand->password_hash);
          boost::asio::post(c->ex, [cand, failed, admit, wrong, good] {
            if (!good) return failed(wrong);
            admit(cand->user);
          });
        });
      });
}

void logout(services& ctx, const call_ptr& c) {
  authenticate(ctx, c, [&ctx, c](const storage::token_info& t, const std::string& hash) {
    db_call<bool>(
        ctx, c->ex,
        [hash](pqxx::connection& conn) -> result<bool> {
          storage::user_store::revoke_token(conn, hash);
          return true;
        },
        [&ctx, c, hash, user = t.user_id](result<bool> r) {
          if (!r) return fail(ctx, c, r.err());
          ctx.tokens.erase(hash);
          for (auto& s : ctx.sessions.sessions_of(user))
            if (s->token_hash() == hash) s->kick("logout", protocol::close_code::unauthorized);
          no_content(ctx, c);
        });
  });
}

void get_me(services& ctx, const call_ptr& c) {
  authenticate(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    answer<protocol::user>(
        ctx, c, http::status::ok,
        [t](pqxx::connection& conn) -> result<protocol::user> {
          auto u = storage::user_store::get(conn, t.org_id, t.user_id);
          if (!u) return error{error_code::unauthorized, "unknown user"};
          return *u;
        },
        [](const protocol::user& v) { return protocol::to_json(v); });
  });
}

void create_user(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    protocol::fields f(body.value(), "");
    storage::new_user u;
    u.name = f.str("name", 1, max_name_bytes);
    u.mobile = f.mobile("mobile");
    auto password = f.opt_str("password", min_password_bytes, max_password_bytes);
    u.title = f.opt_str("title", 0, max_name_bytes).value_or("");
    u.email = f.opt_str("email", 0, 254).value_or("");
    u.role = f.opt_str("role", 1, 16).value_or("member");
    if (f.ok() && u.role != "member" && u.role != "admin")
      f.fail(error_code::bad_request, "role must be member or admin");
    if (f.ok() && body.value().contains("departments")) u.departments = f.id_set("departments", 100);
    if (!f.ok()) return fail(ctx, c, f.err());
    auto store = [&ctx, c, a = actor_of(ctx, c, t)](storage::new_user nu) {
      db_call<protocol::user>(
          ctx, c->ex, [a, nu](pqxx::connection& conn) { return storage::user_store::create(conn, a, nu); },
          [&ctx, c](result<protocol::user> r) {
            if (!r) return fail(ctx, c, r.err());
            ok(ctx, c, http::status::created, protocol::to_json(r.value()));
          });
    };
    if (!password) return store(std::move(u));
    hash_password(ctx, c, *password, [u, store](std::string hash) mutable {
      u.password_hash = std::move(hash);
      store(std::move(u));
    });
  });
}

void get_user(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    answer<protocol::user>(
        ctx, c, http::status::ok,
        [org = t.org_id, id](pqxx::connection& conn) -> result<protocol::user> {
          auto u = storage::user_store::get(conn, org, id);
          if (!u) return error{error_code::not_found, "user " + protocol::id_string(id) + " not found"};
          return *u;
        },
        [](const protocol::user& v) { return protocol::to_json(v); });
  });
}

// --- departments -------------------------------------------------------------------------------

// `name`, `parent` (an id, or null for the root) and `sort` of a POST or PATCH body.
result<storage::department_patch> department_body(const call_ptr& c, bool create) {
  auto body = json_body(c);
  if (!body) return body.err();
  const auto& o = body.value();
  protocol::fields f(o, "");
  storage::department_patch p;
  p.name = create ? std::optional<std::string>(f.str("name", 1, max_name_bytes))
                  : f.opt_str("name", 1, max_name_bytes);
  if (f.ok() && p.name && p.name->find('/') != std::string::npos)
    f.fail(error_code::bad_request, "name must not contain '/' (it separates department paths)");
  if (const auto* parent = o.if_contains("parent")) {
    if (parent->is_null())
      p.parent = std::optional<std::int64_t>{};
    else if (f.ok())
      p.parent = std::optional<std::int64_t>{f.id("parent")};
  }
  if (auto sort = f.opt_integer("sort", -1000000, 1000000)) p.sort = static_cast<int>(*sort);
  if (!f.ok()) return f.err();
  return p;
}

void create_department(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    auto body = department_body(c, true);
    if (!body) return fail(ctx, c, body.err());
    auto p = body.value();
    answer<storage::department>(
        ctx, c, http::status::created,
        [a = actor_of(ctx, c, t), p](pqxx::connection& conn) {
          return storage::dept_store::create(conn, a, *p.name, p.parent.value_or(std::nullopt),
                                             p.sort.value_or(0));
        },
        [](const storage::department& v) { return storage::to_json(v); });
  });
}

void update_department(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    auto body = department_body(c, false);
    if (!body) return fail(ctx, c, body.err());
    answer<storage::department>(
        ctx, c, http::status::ok,
        [a = actor_of(ctx, c, t), id, p = body.value()](pqxx::connection& conn) {
          return storage::dept_store::update(conn, a, id, p);
        },
        [](const storage::department& v) { return storage::to_json(v); });
  });
}

void delete_department(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    auto cascade = query_param(c, "cascade");
    if (!cascade.empty() && cascade != "move_to_parent")
      return fail(ctx, c, {error_code::bad_request, "cascade must be move_to_parent"});
    answer<storage::department>(
        ctx, c, http::status::ok,
        [a = actor_of(ctx, c, t), id, move = !cascade.empty()](pqxx::connection& conn) {
          return storage::dept_store::remove(conn, a, id, move);
        },
        [](const storage::department& v) { return storage::to_json(v); });
  });
}

storage::viewer viewer_of(const storage::token_info& t) {
  return {t.org_id, t.user_id, t.role == "admin" || t.role == "owner"};
}

void list_departments(services& ctx, const call_ptr& c) {
  authenticate(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    if (t.status != "active") return fail(ctx, c, {error_code::forbidden, "account " + t.status});
    db_call<std::vector<storage::department>>(
        ctx, c->ex,
        [&ctx, v = viewer_of(t)](pqxx::connection& conn) -> result<std::vector<storage::department>> {
          return storage::directory_store::departments(conn, v, *ctx.policies.load(conn, v.org));
        },
        [&ctx, c](result<std::vector<storage::department>> r) {
          if (!r) return fail(ctx, c, r.err());
          json::array out;
          for (const auto& d : r.value()) out.push_back(storage::to_json(d));
          ok(ctx, c, http::status::ok, json::object{{"departments", std::move(out)}});
        });
  });
}

// Directory cursors: "u", the hex of the last row's lower(name), ".", its id.
std::string directory_cursor(const storage::directory_entry& e) {
  static const char* hex = "0123456789abcdef";
  std::string out = "u";
  for (unsigned char ch : e.sort_key) {
    out += hex[ch >> 4];
    out += hex[ch & 15];
  }
  return out + "." + protocol::id_string(e.user.id);
}

std::optional<std::pair<std::string, std::int64_t>> read_directory_cursor(const std::string& s) {
  auto dot = s.rfind('.');
  if (s.size() < 3 || s[0] != 'u' || dot == std::string::npos || (dot - 1) % 2 != 0) return std::nullopt;
  std::string name;
  for (std::size_t i = 1; i < dot; i += 2) {
    auto nib = [](char ch) {
      return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    };
    int hi = nib(s[i]), lo = nib(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    name += static_cast<char>(hi * 16 + lo);
  }
  auto id = protocol::parse_id(s.substr(dot + 1));
  if (id <= 0) return std::nullopt;
  return std::make_pair(name, id);
}

void list_directory_users(services& ctx, const call_ptr& c) {
  authenticate(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    if (t.status != "active") return fail(ctx, c, {error_code::forbidden, "account " + t.status});
    storage::directory_query q;
    q.q = query_param(c, "q");
    if (q.q.size() > 100 || !protocol::is_valid_utf8(q.q) || q.q.find('\0') != std::string::npos)
      return fail(ctx, c, {error_code::bad_request, "q must be UTF-8 text of at most 100 bytes"});
    auto dept = query_param(c, "department");
    if (!dept.empty()) {
      q.department = protocol::parse_id(dept);
      if (q.department <= 0)
        return fail(ctx, c, {error_code::not_found, "department " + dept.substr(0, 32) + " not found"});
    }
    auto cursor = query_param(c, "cursor");
    if (!cursor.empty()) {
      auto at = read_directory_cursor(cursor);
      if (!at) return fail(ctx, c, {error_code::bad_request, "cursor is not one this server gave out"});
      q.after_name = at->first;
      q.after_id = at->second;
    }
    auto limit = read_limit(c, 50, 200);
    if (!limit) return fail(ctx, c, limit.err());
    q.limit = limit.value() + 1;  // one more: is there a next page?
    db_call<std::vector<storage::directory_entry>>(
        ctx, c->ex,
        [&ctx, v = viewer_of(t), q](pqxx::connection& conn) -> result<std::vector<storage::directory_entry>> {
          if (q.department && storage::dept_store::get(conn, v.org, q.department) == std::nullopt)
            return error{error_code::not_found,
                         "department " + protocol::id_string(q.department) + " not found"};
          return storage::directory_store::search(conn, v, *ctx.policies.load(conn, v.org), q);
        },
        [&ctx, c, n = limit.value()](result<std::vector<storage::directory_entry>> r) {
          if (!r) return fail(ctx, c, r.err());
          auto& rows = r.value();
          bool more = static_cast<int>(rows.size()) > n;
          if (more) rows.resize(static_cast<std::size_t>(n));
          json::array items;
          for (const auto& e : rows) items.push_back(protocol::to_json(e.user));
          json::value next = more ? json::value(directory_cursor(rows.back())) : json::value(nullptr);
          ok(ctx, c, http::status::ok, json::object{{"items", std::move(items)}, {"next_cursor", next}});
        });
  });
}

// --- audit log ---------------------------------------------------------------------------------

void list_audit(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    answer_page<storage::audit_entry>(
        ctx, c, 50, 200,
        [org = t.org_id](pqxx::connection& conn, std::int64_t before, int n) {
          return storage::audit_store::list(conn, org, before, n);
        },
        [](const storage::audit_entry& e) {
          return json::object{{"id", protocol::id_string(e.id)},
                              {"ts", e.ts},
                              {"actor", protocol::id_string(e.actor)},
                              {"action", e.action},
                              {"target", e.target},
                              {"summary", json::parse(e.summary_json)},
                              {"ip", e.ip}};
        });
  });
}

void signup(services& ctx, const call_ptr& c) {
  if (!ctx.cfg.auth.signup_enabled)
    return fail(ctx, c, {error_code::forbidden, "sign-up is disabled on this server"});
  auto body = json_body(c);
  if (!body) return fail(ctx, c, body.err());
  protocol::fields f(body.value(), "");
  auto name = f.str("name", 1, max_name_bytes);
  auto* admin = f.object("admin");
  std::string admin_name, mobile, password;
  if (admin) {
    protocol::fields a(*admin, "admin.");
    admin_name = a.str("name", 1, max_name_bytes);
    mobile = a.mobile("mobile");
    password = a.str("password", min_password_bytes, max_password_bytes);
    if (!a.ok()) f.fail(a.err().code, a.err().message);
  }
  if (!f.ok()) return fail(ctx, c, f.err());
  hash_password(ctx, c, password, [&ctx, c, name, admin_name, mobile](std::string hash) {
    // One transaction, nothing after its COMMIT: a retry on a new connection cannot create twice.
    db_call<storage::created_org>(
        ctx, c->ex,
        [=](pqxx::connection& conn) -> result<storage::created_org> {
          return storage::org_store::create_with_owner(conn, name, {admin_name, mobile, hash});
        },
        [&ctx, c](result<storage::created_org> r) {
          if (!r) return fail(ctx, c, r.err());
          const auto& created = r.value();
          auto user_json = protocol::to_json(created.owner);
          issue_token(
              ctx, c, created.org_id, created.user_id, http::status::created,
              [org = created.org_id, user_json](const std::string& token, std::int64_t) {
                return json::object{{"org", protocol::id_string(org)}, {"user", user_json}, {"token", token}};
              });
        });
  });
}

// --- operational endpoints ---------------------------------------------------------------------

// GET and HEAD: HEAD answers the same headers without the body.
void answer_get(services& ctx, const call_ptr& c, http_response res) {
  if (c->req.method() == http::verb::head) {
    auto len = res.body().size();
    res.body().clear();
    res.content_length(len);
  }
  finish(ctx, c, std::move(res));
}

void healthz(services& ctx, const call_ptr& c, std::int64_t) {
  answer_get(ctx, c, make_json_response(c->req, http::status::ok, R"({"status":"ok"})"));
}

void readyz(services& ctx, const call_ptr& c, std::int64_t) {
  bool reachable = ctx.health.reachable();
  json::object body{{"database", reachable ? "up" : "down"},
                    {"schema_version", ctx.health.schema_version()},
                    {"expected_schema_version", ctx.health.expected_version()},
                    {"draining", ctx.draining.load()}};
  bool ready = ctx.health.ready() && !ctx.draining.load();
  body["status"] = ready ? "ready" : "not_ready";
  answer_get(ctx, c,
             make_json_response(c->req, ready ? http::status::ok : http::status::service_unavailable,
                                json::serialize(body)));
}

void metrics_text(services& ctx, const call_ptr& c, std::int64_t) {
  http_response res{http::status::ok, c->req.version()};
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.keep_alive(c->req.keep_alive());
  res.body() =
      ctx.stats.render(ctx.db.stats(), ctx.writer.stats(), ctx.health.ready(), ctx.health.schema_version());
  res.prepare_payload();
  answer_get(ctx, c, std::move(res));
}

// Uploads are streamed by the session (http_router::begin_upload); only a request that was not
// (none today) arrives here.
void upload_not_streamed(services& ctx, const call_ptr& c, std::int64_t) {
  fail(ctx, c, {error_code::internal, "uploads are streamed by the session"});
}

// GET /v1/ws without an upgrade.
void ws_without_upgrade(services& ctx, const call_ptr& c, std::int64_t) {
  fail(ctx, c, {error_code::not_found, "no route for /v1/ws"});
}

// The table's handlers all take the call's id; most routes have none.
template <void (*F)(services&, const call_ptr&)>
void no_id(services& ctx, const call_ptr& c, std::int64_t) {
  F(ctx, c);
}

}  // namespace

namespace api {

const std::vector<route>& route_table() {
  using v = http::verb;
  using enum caller;
  constexpr auto upload = body_kind::upload;
  static const std::vector<route> table{
      // Operational: also on the metrics listener (metrics.listen).
      {v::get, "/healthz", "GET /healthz", anyone, body_kind::json, nullptr, healthz, true},
      {v::head, "/healthz", "GET /healthz", anyone, body_kind::json, nullptr, healthz, true},
      {v::get, "/readyz", "GET /readyz", anyone, body_kind::json, nullptr, readyz, true},
      {v::head, "/readyz", "GET /readyz", anyone, body_kind::json, nullptr, readyz, true},
      {v::get, "/metrics", "GET /metrics", anyone, body_kind::json, nullptr, metrics_text, true},
      {v::head, "/metrics", "GET /metrics", anyone, body_kind::json, nullptr, metrics_text, true},
      // Accounts and sessions.
      {v::post, "/v1/orgs", "POST /v1/orgs", anyone, body_kind::json, nullptr, no_id<signup>},
      {v::post, "/v1/auth/login", "POST /v1/auth/login", anyone, body_kind::json, nullptr, no_id<login>},
      {v::post, "/v1/auth/logout", "POST /v1/auth/logout", member, body_kind::json, nullptr, no_id<logout>},
      {v::post, "/v1/auth/code", "POST /v1/auth/code", anyone, body_kind::json, nullptr, no_id<request_code>},
      {v::get, "/v1/me", "GET /v1/me", member, body_kind::json, nullptr, no_id<get_me>},
      {v::patch, "/v1/me", "PATCH /v1/me", member, body_kind::json, nullptr, no_id<patch_me>},
      {v::get, "/v1/ws", "GET /v1/ws", member, body_kind::websocket, nullptr, ws_without_upgrade},
      // Invitations and notices.
      {v::post, "/v1/invitations/accept", "POST /v1/invitations/accept", anyone, body_kind::json, nullptr,
       no_id<accept_invitation>},
      {v::post, "/v1/admin/invitations", "POST /v1/admin/invitations", admin, body_kind::json, nullptr,
       no_id<create_invitation>},
      {v::get, "/v1/admin/invitations", "GET /v1/admin/invitations", admin, body_kind::json, nullptr,
       no_id<list_invitations>},
      {v::delete_, "/v1/admin/invitations/{id}", "DELETE /v1/admin/invitations/{id}", admin, body_kind::json,
       nullptr, revoke_invitation},
      {v::get, "/v1/notices", "GET /v1/notices", member, body_kind::json, nullptr, no_id<list_notices>},
      {v::post, "/v1/admin/notices", "POST /v1/admin/notices", admin, body_kind::json, nullptr,
       no_id<create_notice>},
      {v::get, "/v1/admin/policy", "GET /v1/admin/policy", admin, body_kind::json, nullptr,
       no_id<get_policy>},
      {v::put, "/v1/admin/policy", "PUT /v1/admin/policy", admin, body_kind::json, nullptr,
       no_id<put_policy>},
      // Media.
      {v::post, "/v1/media", "POST /v1/media", member, upload, nullptr, upload_not_streamed},
      {v::get, "/v1/media/{id}", "GET /v1/media/{id}", member, body_kind::json, nullptr, download_media},
      {v::head, "/v1/media/{id}", "GET /v1/media/{id}", member, body_kind::json, nullptr, download_media},
      {v::get, "/v1/admin/usage", "GET /v1/admin/usage", admin, body_kind::json, nullptr, no_id<get_usage>},
      // Members and the directory.
      {v::post, "/v1/admin/users", "POST /v1/admin/users", admin, body_kind::json, nullptr,
       no_id<create_user>},
      {v::post, "/v1/admin/users/import", "POST /v1/admin/users/import", admin, body_kind::import, nullptr,
       no_id<import_users>},
      {v::get, "/v1/admin/users/{id}", "GET /v1/admin/users/{id}", admin, body_kind::json, nullptr, get_user},
      {v::patch, "/v1/admin/users/{id}", "PATCH /v1/admin/users/{id}", admin, body_kind::json, nullptr,
       update_user},
      {v::delete_, "/v1/admin/users/{id}", "DELETE /v1/admin/users/{id}", admin, body_kind::json, nullptr,
       delete_user},
      {v::post, "/v1/admin/users/{id}/suspend", "POST /v1/admin/users/{id}/suspend", admin, body_kind::json,
       nullptr, suspend_user},
      {v::post, "/v1/admin/users/{id}/restore", "POST /v1/admin/users/{id}/restore", admin, body_kind::json,
       nullptr, restore_user},
      {v::post, "/v1/admin/users/{id}/restrict", "POST /v1/admin/users/{id}/restrict", admin, body_kind::json,
       nullptr, restrict_user},
      {v::post, "/v1/admin/departments", "POST /v1/admin/departments", admin, body_kind::json, nullptr,
       no_id<create_department>},
      {v::patch, "/v1/admin/departments/{id}", "PATCH /v1/admin/departments/{id}", admin, body_kind::json,
       nullptr, update_department},
      {v::delete_, "/v1/admin/departments/{id}", "DELETE /v1/admin/departments/{id}", admin, body_kind::json,
       nullptr, delete_department},
      {v::get, "/v1/admin/audit", "GET /v1/admin/audit", admin, body_kind::json, nullptr, no_id<list_audit>},
      {v::get, "/v1/directory/users", "GET /v1/directory/users", member, body_kind::json, nullptr,
       no_id<list_directory_users>},
      {v::get, "/v1/directory/departments", "GET /v1/directory/departments", member, body_kind::json, nullptr,
       no_id<list_departments>},
      // Integration apps: their management, their tokens, and the /v1/app/* calls, which run the
      // admin routes' handlers as the app's bot user, within the scope each needs.
      {v::post, "/v1/admin/apps", "POST /v1/admin/apps", admin, body_kind::json, nullptr, no_id<create_app>},
      {v::get, "/v1/admin/apps", "GET /v1/admin/apps", admin, body_kind::json, nullptr, no_id<list_apps>},
      {v::delete_, "/v1/admin/apps/{id}", "DELETE /v1/admin/apps/{id}", admin, body_kind::json, nullptr,
       delete_app},
      {v::post, "/v1/admin/apps/{id}/rotate", "POST /v1/admin/apps/{id}/rotate", admin, body_kind::json,
       nullptr, rotate_app},
      {v::put, "/v1/admin/apps/{id}/callback", "PUT /v1/admin/apps/{id}/callback", admin, body_kind::json,
       nullptr, set_app_callback},
      {v::post, "/v1/app/token", "POST /v1/app/token", anyone, body_kind::json, nullptr, no_id<app_token>},
      {v::post, "/v1/app/messages", "POST /v1/app/messages", app, body_kind::json, "messages:send",
       no_id<send_app_message>},
      {v::post, "/v1/app/media", "POST /v1/app/media", app, upload, "messages:send", upload_not_streamed},
      {v::get, "/v1/app/convs/{conv}/messages", "GET /v1/app/convs/{conv}/messages", app, body_kind::json,
       "any", read_app_conv},
      {v::get, "/v1/app/users", "GET /v1/app/users", app, body_kind::json, "contacts:read",
       no_id<list_directory_users>},
      {v::post, "/v1/app/users", "POST /v1/app/users", app, body_kind::json, "contacts:write",
       no_id<create_user>},
      {v::get, "/v1/app/users/{id}", "GET /v1/app/users/{id}", app, body_kind::json, "contacts:read",
       get_user},
      {v::patch, "/v1/app/users/{id}", "PATCH /v1/app/users/{id}", app, body_kind::json, "contacts:write",
       update_user},
      {v::delete_, "/v1/app/users/{id}", "DELETE /v1/app/users/{id}", app, body_kind::json, "contacts:write",
       delete_user},
      {v::get, "/v1/app/departments", "GET /v1/app/departments", app, body_kind::json, "contacts:read",
       no_id<list_departments>},
      {v::post, "/v1/app/departments", "POST /v1/app/departments", app, body_kind::json, "contacts:write",
       no_id<create_department>},
      {v::patch, "/v1/app/departments/{id}", "PATCH /v1/app/departments/{id}", app, body_kind::json,
       "contacts:write", update_department},
      {v::delete_, "/v1/app/departments/{id}", "DELETE /v1/app/departments/{id}", app, body_kind::json,
       "contacts:write", delete_department},
  };
  return table;
}

}  // namespace api

}  // namespace switchboard::server
