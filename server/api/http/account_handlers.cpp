// HTTP routes of accounts and sessions: signup, login, logout, the caller's own user.
#include "server/api/http/handlers.hpp"

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
#include "server/api/http/api_common.hpp"
#include "server/base/password_hasher.hpp"
#include "server/core/db_call.hpp"
#include "server/core/token_cache.hpp"
#include "storage/dept_store.hpp"
#include "storage/directory_store.hpp"
#include "storage/org_store.hpp"
#include "storage/user_store.hpp"
#include "storage/verification_store.hpp"

namespace switchboard::server::api {

namespace {
// Why an account that is not active cannot log in: "account suspended until <ms>: <reason>".
std::string inactive_reason(const protocol::user& u) {
  std::string out = "account " + std::string(protocol::to_string(u.status));
  if (u.status == protocol::account_status::suspended) {
    if (u.suspended_until_ms) out += " until " + std::to_string(*u.suspended_until_ms);
    if (!u.suspend_reason.empty()) out += ": " + u.suspend_reason;
  }
  return out;
}

}  // namespace

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
    ctx.cluster.took(shared_limit::failed_logins, number_key);
    fail(ctx, c, e);
  };
  const error wrong{error_code::unauthorized, "wrong mobile or password"};
  // The account checks and the token, once the password or code was right.
  auto admit = [&ctx, c](const protocol::user& u) {
    if (u.status != protocol::account_status::active)
      return fail(ctx, c, {error_code::forbidden, inactive_reason(u)});
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
          ctx.fan.kick(user, {session_match::field::token_hash, hash}, "logout",
                       protocol::close_code::unauthorized);
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

}  // namespace switchboard::server::api
