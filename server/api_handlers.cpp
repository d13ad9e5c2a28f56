// The /v1 HTTP API.
#include "server/api_handlers.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <memory>

#include "protocol/fields.hpp"
#include "protocol/json_util.hpp"
#include "protocol/types.hpp"
#include "protocol/validate.hpp"
#include "server/admin_handlers.hpp"
#include "server/api_common.hpp"
#include "server/app_handlers.hpp"
#include "server/db_call.hpp"
#include "server/invite_handlers.hpp"
#include "server/media_handlers.hpp"
#include "server/password_hasher.hpp"
#include "server/token_cache.hpp"
#include "server/ws_session.hpp"
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

void login(app_context& ctx, const call_ptr& c) {
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

void logout(app_context& ctx, const call_ptr& c) {
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
            if (s->token_hash() == hash) s->kick("logout", close_code::unauthorized);
          no_content(ctx, c);
        });
  });
}

void get_me(app_context& ctx, const call_ptr& c) {
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

void create_user(app_context& ctx, const call_ptr& c) {
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

void get_user(app_context& ctx, const call_ptr& c, std::int64_t id) {
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

void create_department(app_context& ctx, const call_ptr& c) {
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

void update_department(app_context& ctx, const call_ptr& c, std::int64_t id) {
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

void delete_department(app_context& ctx, const call_ptr& c, std::int64_t id) {
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

void list_departments(app_context& ctx, const call_ptr& c) {
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

void list_directory_users(app_context& ctx, const call_ptr& c) {
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

void list_audit(app_context& ctx, const call_ptr& c) {
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

void signup(app_context& ctx, const call_ptr& c) {
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

}  // namespace

std::vector<std::string> api_handlers::route_names() {
  return {"POST /v1/auth/login",
          "POST /v1/auth/logout",
          "GET /v1/me",
          "PATCH /v1/me",
          "POST /v1/admin/users",
          "GET /v1/admin/users/{id}",
          "PATCH /v1/admin/users/{id}",
          "DELETE /v1/admin/users/{id}",
          "POST /v1/admin/users/{id}/suspend",
          "POST /v1/admin/users/{id}/restore",
          "POST /v1/admin/users/{id}/restrict",
          "GET /v1/admin/policy",
          "PUT /v1/admin/policy",
          "POST /v1/admin/notices",
          "GET /v1/notices",
          "POST /v1/admin/users/import",
          "POST /v1/auth/code",
          "POST /v1/admin/invitations",
          "GET /v1/admin/invitations",
          "DELETE /v1/admin/invitations/{id}",
          "POST /v1/invitations/accept",
          "POST /v1/admin/departments",
          "PATCH /v1/admin/departments/{id}",
          "DELETE /v1/admin/departments/{id}",
          "GET /v1/directory/departments",
          "GET /v1/directory/users",
          "GET /v1/admin/audit",
          "POST /v1/media",
          "GET /v1/media/{id}",
          "GET /v1/admin/usage",
          "POST /v1/admin/apps",
          "GET /v1/admin/apps",
          "POST /v1/admin/apps/{id}/rotate",
          "PUT /v1/admin/apps/{id}/callback",
          "DELETE /v1/admin/apps/{id}",
          "POST /v1/app/token",
          "POST /v1/app/messages",
          "POST /v1/app/media",
          "GET /v1/app/convs/{conv}/messages",
          "GET /v1/app/users",
          "POST /v1/app/users",
          "GET /v1/app/users/{id}",
          "PATCH /v1/app/users/{id}",
          "DELETE /v1/app/users/{id}",
          "GET /v1/app/departments",
          "POST /v1/app/departments",
          "PATCH /v1/app/departments/{id}",
          "DELETE /v1/app/departments/{id}",
          "POST /v1/orgs",
          "GET /v1/ws"};
}

namespace http = boost::beast::http;
using api::finish;

// Integration apps: their management, their tokens, and the /v1/app/* calls, which run the admin
// routes' handlers as the app's bot user, within the scope each needs.
bool api_handlers::dispatch(const std::shared_ptr<api_call>& c, std::initializer_list<method_route> rs) {
  std::string allow;
  for (const auto& r : rs) {
    if (c->req.method() == r.verb) {
      c->op = r.name;
      if (r.scope) c->app_scope = r.scope;
      r.fn();
      return true;
    }
    allow += (allow.empty() ? "" : ", ") + std::string(http::to_string(r.verb));
  }
  c->op = rs.begin()->name;
  auto res = make_error_response(c->req, {error_code::bad_request, "method not allowed"});
  res.result(http::status::method_not_allowed);
  res.set(http::field::allow, allow);
  finish(ctx_, c, std::move(res));
  return true;
}

bool api_handlers::handle_apps(const call_ptr& c) {
  const std::string& p = c->path;
  auto routes = [&](std::initializer_list<method_route> rs) { return dispatch(c, rs); };
  // "/prefix/{id}" and "/prefix/{id}/action": the id (0 when not one of ours) and the action.
  auto split = [&](const std::string& prefix) -> std::optional<std::pair<std::int64_t, std::string>> {
    if (p.rfind(prefix, 0) != 0) return std::nullopt;
    auto rest = p.substr(prefix.size());
    auto slash = rest.find('/');
    return std::make_pair(protocol::parse_id(rest.substr(0, slash)),
                          slash == std::string::npos ? std::string() : rest.substr(slash + 1));
  };
  const auto get = http::verb::get, post = http::verb::post, patch = http::verb::patch,
             del = http::verb::delete_;
  if (p == "/v1/app/token") return routes({{post, "POST /v1/app/token", [&] { api::app_token(ctx_, c); }}});
  if (p == "/v1/admin/apps")
    return routes({{post, "POST /v1/admin/apps", [&] { api::create_app(ctx_, c); }},
                   {get, "GET /v1/admin/apps", [&] { api::list_apps(ctx_, c); }}});
  if (auto at = split("/v1/admin/apps/")) {
    auto id = at->first;
    if (at->second.empty())
      return routes({{del, "DELETE /v1/admin/apps/{id}", [&] { api::delete_app(ctx_, c, id); }}});
    if (at->second == "rotate")
      return routes({{post, "POST /v1/admin/apps/{id}/rotate", [&] { api::rotate_app(ctx_, c, id); }}});
    if (at->second == "callback")
      return routes({{http::verb::put, "PUT /v1/admin/apps/{id}/callback",
                      [&] { api::set_app_callback(ctx_, c, id); }}});
    return false;
  }
  // POST /v1/app/media is streamed by the session (begin_upload); only other methods arrive here.
  if (p == "/v1/app/media")
    return routes({{post, "POST /v1/app/media",
                    [&] {
                      api::fail(ctx_, c, {error_code::internal, "uploads are streamed by the session"});
                    },
                    "messages:send"}});
  if (p == "/v1/app/messages")
    return routes(
        {{post, "POST /v1/app/messages", [&] { api::send_app_message(ctx_, c); }, "messages:send"}});
  if (auto at = split("/v1/app/convs/"); at && at->second == "messages") {
    auto conv = at->first;
    return routes(
        {{get, "GET /v1/app/convs/{conv}/messages", [&] { api::read_app_conv(ctx_, c, conv); }, "any"}});
  }
  if (p == "/v1/app/users")
    return routes({{get, "GET /v1/app/users", [&] { list_directory_users(ctx_, c); }, "contacts:read"},
                   {post, "POST /v1/app/users", [&] { create_user(ctx_, c); }, "contacts:write"}});
  if (auto at = split("/v1/app/users/"); at && at->second.empty()) {
    auto id = at->first;
    return routes(
        {{get, "GET /v1/app/users/{id}", [&] { get_user(ctx_, c, id); }, "contacts:read"},
         {patch, "PATCH /v1/app/users/{id}", [&] { api::update_user(ctx_, c, id); }, "contacts:write"},
         {del, "DELETE /v1/app/users/{id}", [&] { api::delete_user(ctx_, c, id); }, "contacts:write"}});
  }
  if (p == "/v1/app/departments")
    return routes(
        {{get, "GET /v1/app/departments", [&] { list_departments(ctx_, c); }, "contacts:read"},
         {post, "POST /v1/app/departments", [&] { create_department(ctx_, c); }, "contacts:write"}});
  if (auto at = split("/v1/app/departments/"); at && at->second.empty()) {
    auto id = at->first;
    return routes(
        {{patch, "PATCH /v1/app/departments/{id}", [&] { update_department(ctx_, c, id); }, "contacts:write"},
         {del, "DELETE /v1/app/departments/{id}", [&] { delete_department(ctx_, c, id); },
          "contacts:write"}});
  }
  return false;
}

void api_handlers::begin_upload(api_call call, upload_ready_fn ready) {
  api::begin_upload(ctx_, std::make_shared<api_call>(std::move(call)), std::move(ready));
}

bool api_handlers::handle(api_call call) {
  auto c = std::make_shared<api_call>(std::move(call));
  const std::string& p = c->path;
  // One path, one or more methods: another method is 405 with Allow listing them.
  auto routes = [&](std::initializer_list<method_route> rs) { return dispatch(c, rs); };
  auto route = [&](http::verb v, const char* name, std::function<void()> fn) {
    return routes({{v, name, std::move(fn)}});
  };
  if (p == "/v1/auth/login") return route(http::verb::post, "POST /v1/auth/login", [&] { login(ctx_, c); });
  if (p == "/v1/auth/logout")
    return route(http::verb::post, "POST /v1/auth/logout", [&] { logout(ctx_, c); });
  if (p == "/v1/me")
    return routes({{http::verb::get, "GET /v1/me", [&] { get_me(ctx_, c); }},
                   {http::verb::patch, "PATCH /v1/me", [&] { api::patch_me(ctx_, c); }}});
  if (p == "/v1/auth/code")
    return route(http::verb::post, "POST /v1/auth/code", [&] { api::request_code(ctx_, c); });
  if (p == "/v1/invitations/accept")
    return route(http::verb::post, "POST /v1/invitations/accept", [&] { api::accept_invitation(ctx_, c); });
  if (p == "/v1/admin/invitations")
    return routes({{http::verb::post, "POST /v1/admin/invitations", [&] { api::create_invitation(ctx_, c); }},
                   {http::verb::get, "GET /v1/admin/invitations", [&] { api::list_invitations(ctx_, c); }}});
  static const std::string invitations_prefix = "/v1/admin/invitations/";
  if (p.rfind(invitations_prefix, 0) == 0 && p.find('/', invitations_prefix.size()) == std::string::npos) {
    auto id = protocol::parse_id(p.substr(invitations_prefix.size()));
    return route(http::verb::delete_, "DELETE /v1/admin/invitations/{id}",
                 [&] { api::revoke_invitation(ctx_, c, id); });
  }
  if (p == "/v1/notices")
    return route(http::verb::get, "GET /v1/notices", [&] { api::list_notices(ctx_, c); });
  if (p == "/v1/admin/notices")
    return route(http::verb::post, "POST /v1/admin/notices", [&] { api::create_notice(ctx_, c); });
  if (p == "/v1/admin/policy")
    return routes({{http::verb::get, "GET /v1/admin/policy", [&] { api::get_policy(ctx_, c); }},
                   {http::verb::put, "PUT /v1/admin/policy", [&] { api::put_policy(ctx_, c); }}});
  if (p == "/v1/orgs") return route(http::verb::post, "POST /v1/orgs", [&] { signup(ctx_, c); });
  // POST /v1/media is streamed by the session (begin_upload); only other methods arrive here.
  if (p == "/v1/media")
    return route(http::verb::post, "POST /v1/media", [&] {
      api::fail(ctx_, c, {error_code::internal, "uploads are streamed by the session"});
    });
  static const std::string media_prefix = "/v1/media/";
  if (p.rfind(media_prefix, 0) == 0 && p.find('/', media_prefix.size()) == std::string::npos) {
    auto id = protocol::parse_id(p.substr(media_prefix.size()));
    return routes({{http::verb::get, "GET /v1/media/{id}", [&] { api::download_media(ctx_, c, id); }},
                   {http::verb::head, "GET /v1/media/{id}", [&] { api::download_media(ctx_, c, id); }}});
  }
  if (p == "/v1/admin/usage")
    return route(http::verb::get, "GET /v1/admin/usage", [&] { api::get_usage(ctx_, c); });
  if (p.rfind("/v1/app/", 0) == 0 || p.rfind("/v1/admin/apps", 0) == 0) return handle_apps(c);
  if (p == "/v1/admin/users")
    return route(http::verb::post, "POST /v1/admin/users", [&] { create_user(ctx_, c); });
  if (p == "/v1/admin/departments")
    return route(http::verb::post, "POST /v1/admin/departments", [&] { create_department(ctx_, c); });
  if (p == "/v1/admin/audit")
    return route(http::verb::get, "GET /v1/admin/audit", [&] { list_audit(ctx_, c); });
  if (p == "/v1/directory/users")
    return route(http::verb::get, "GET /v1/directory/users", [&] { list_directory_users(ctx_, c); });
  if (p == "/v1/directory/departments")
    return route(http::verb::get, "GET /v1/directory/departments", [&] { list_departments(ctx_, c); });
  static const std::string depts_prefix = "/v1/admin/departments/";
  if (p.rfind(depts_prefix, 0) == 0 && p.find('/', depts_prefix.size()) == std::string::npos) {
    auto id = protocol::parse_id(p.substr(depts_prefix.size()));
    return routes(
        {{http::verb::patch, "PATCH /v1/admin/departments/{id}", [&] { update_department(ctx_, c, id); }},
         {http::verb::delete_, "DELETE /v1/admin/departments/{id}",
          [&] { delete_department(ctx_, c, id); }}});
  }
  if (p == "/v1/admin/users/import")
    return route(http::verb::post, "POST /v1/admin/users/import", [&] { api::import_users(ctx_, c); });
  static const std::string users_prefix = "/v1/admin/users/";
  if (p.rfind(users_prefix, 0) == 0) {
    auto rest = p.substr(users_prefix.size());
    auto slash = rest.find('/');
    auto id = protocol::parse_id(rest.substr(0, slash));
    if (slash == std::string::npos)
      return routes(
          {{http::verb::get, "GET /v1/admin/users/{id}", [&] { get_user(ctx_, c, id); }},
           {http::verb::patch, "PATCH /v1/admin/users/{id}", [&] { api::update_user(ctx_, c, id); }},
           {http::verb::delete_, "DELETE /v1/admin/users/{id}", [&] { api::delete_user(ctx_, c, id); }}});
    auto action = rest.substr(slash + 1);
    if (action == "suspend")
      return route(http::verb::post, "POST /v1/admin/users/{id}/suspend",
                   [&] { api::suspend_user(ctx_, c, id); });
    if (action == "restore")
      return route(http::verb::post, "POST /v1/admin/users/{id}/restore",
                   [&] { api::restore_user(ctx_, c, id); });
    if (action == "restrict")
      return route(http::verb::post, "POST /v1/admin/users/{id}/restrict",
                   [&] { api::restrict_user(ctx_, c, id); });
    return false;
  }
  return false;
}

}  // namespace switchboard::server
