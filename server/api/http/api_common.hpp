// What every /v1 HTTP handler shares: answering, reading bodies and queries, authenticating.
#pragma once

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/clock.hpp"
#include "protocol/errors.hpp"
#include "protocol/types.hpp"
#include "server/api/http/api_call.hpp"
#include "server/base/password_hasher.hpp"
#include "server/core/db_call.hpp"
#include "server/core/token_cache.hpp"
#include "storage/app_store.hpp"
#include "storage/dept_store.hpp"
#include "storage/user_store.hpp"

namespace switchboard::server::api {

namespace http = boost::beast::http;
namespace json = boost::json;
using protocol::error;
using protocol::error_code;
using protocol::result;
using call_ptr = std::shared_ptr<api_call>;

constexpr std::size_t max_name_bytes = 200;
constexpr std::size_t min_password_bytes = 8;
constexpr std::size_t max_password_bytes = 256;

using protocol::now_ms;

// forbidden ("account suspended") unless the token's account is active.
inline std::optional<error> inactive_account(const storage::token_info& t) {
  if (t.status == protocol::account_status::active) return std::nullopt;
  return error{error_code::forbidden, "account " + std::string(protocol::to_string(t.status))};
}

// Records the call's latency and outcome (by HTTP status) under the route's name.
void record(services& ctx, const call_ptr& c, unsigned status);
// Answers the call and records it.
void finish(services& ctx, const call_ptr& c, http_response res);
// Answers the call with a body streamed from the media store, and records it.
void finish_stream(services& ctx, const call_ptr& c, streamed_response res);
void fail(services& ctx, const call_ptr& c, const error& e);
void ok(services& ctx, const call_ptr& c, http::status st, const json::object& body);
void no_content(services& ctx, const call_ptr& c);
// The body as a JSON object, or bad_request.
result<json::object> json_body(const call_ptr& c);
std::optional<std::string> bearer(const call_ptr& c);
// The client's address: the peer, or behind a trusted proxy its X-Forwarded-For.
boost::asio::ip::address client_ip(services& ctx, const call_ptr& c);
// Who acts, for the audit log.
storage::actor actor_of(services& ctx, const call_ptr& c, const storage::token_info& t);
// The value of `key` in the query string, percent-decoded ("" when absent).
std::string query_param(const call_ptr& c, std::string_view key);
// Paged lists' cursors are opaque to clients: "p" and the last id served.
std::string page_cursor(std::int64_t last_id);
// The id a cursor stands for (0 for none), or bad_request.
result<std::int64_t> read_cursor(const std::string& cursor);
// `limit` from the query: default `def`, clamped to `max`, below 1 is bad_request.
result<int> read_limit(const call_ptr& c, int def, int max);

// Whether the app may call from the client's address (its allowed_ips; none: anywhere).
std::optional<error> check_app_address(services& ctx, const call_ptr& c, const storage::app_token_info& a);
// An app's call admitted: its scope (c->app_scope), its allowed addresses, its request budget.
std::optional<error> admit_app(services& ctx, const call_ptr& c, const storage::app_token_info& a);

// The bearer token's record: from `cache` when it has it, else through `resolve(conn, hash)` on a
// storage thread (then cached); `then(info, hash)` runs on the call's executor. No token, or one
// `resolve` does not know, is 401 with `unknown`.
template <class Info, class Cache, class Resolve, class Then>
void resolve_bearer(services& ctx, const call_ptr& c, Cache& cache, Resolve resolve, const char* unknown,
                    Then then) {
  auto token = bearer(c);
  if (!token) return fail(ctx, c, {error_code::unauthorized, "missing or malformed bearer token"});
  auto hash = token_hash(*token);
  if (auto cached = cache.get(hash, now_ms())) return then(*cached, hash);
  db_call<Info>(
      ctx, c->ex,
      [hash, &cache, resolve, unknown](pqxx::connection& conn) -> result<Info> {
        auto info = resolve(conn, hash);
        if (!info) return error{error_code::unauthorized, unknown};
        cache.put(hash, *info);
        return *info;
      },
      [&ctx, c, hash, then](result<Info> r) mutable {
        if (!r) return fail(ctx, c, r.err());
        then(r.value(), hash);
      });
}

// On a /v1/app/* route: resolves an app's access token (cache first), admits the call, then runs
// `then(app_token_info, hash)` on the call's executor. A user's token here is 401.
template <class Then>
void authenticate_app(services& ctx, const call_ptr& c, Then then) {
  resolve_bearer<storage::app_token_info>(
      ctx, c, ctx.app_tokens, &storage::app_store::resolve_token, "unknown or expired app access token",
      [&ctx, c, then](const storage::app_token_info& a, const std::string& hash) mutable {
        if (auto e = admit_app(ctx, c, a)) return fail(ctx, c, *e);
        then(a, hash);
      });
}

// Resolves the bearer token (cache first), then runs `then(token_info, hash)` on the call's executor.
// On /v1/app/* routes the token is an app's, and the caller its bot user with an admin's rights.
template <class Then>
void authenticate(services& ctx, const call_ptr& c, Then then) {
  if (!c->app_scope.empty())
    return authenticate_app(
        ctx, c, [then](const storage::app_token_info& a, const std::string& hash) mutable {
          then(storage::token_info{a.org, a.bot_user, a.expires_at_ms, protocol::role::admin,
                                   protocol::account_status::active},
               hash);
        });
  resolve_bearer<storage::token_info>(ctx, c, ctx.tokens, &storage::user_store::resolve_token,
                                      "unknown, expired or revoked token", std::move(then));
}

template <class Then>
void authenticate_admin(services& ctx, const call_ptr& c, Then then) {
  authenticate(ctx, c, [&ctx, c, then](const storage::token_info& t, const std::string& hash) mutable {
    if (auto e = inactive_account(t)) return fail(ctx, c, *e);
    if (!protocol::is_admin(t.role)) return fail(ctx, c, {error_code::forbidden, "admins only"});
    then(t, hash);
  });
}

// Hashes on the CPU pool (scrypt takes ~100 ms), then continues on the call's executor.
template <class Then>
void hash_password(services& ctx, const call_ptr& c, std::string password, Then then) {
  int cost = ctx.cfg.auth.scrypt_log2_n;
  boost::asio::post(ctx.cpu, [&ctx, c, password = std::move(password), cost, then]() mutable {
    std::string h;
    try {
      h = password_hasher::hash(password, cost);
    } catch (const std::exception& e) {
      auto err = internal_error(*ctx.log, "password hashing", e.what());
      return boost::asio::post(c->ex, [&ctx, c, err] { fail(ctx, c, err); });
    }
    boost::asio::post(c->ex, [h = std::move(h), then]() mutable { then(std::move(h)); });
  });
}

// Issues a token for a user and answers with `shape(token, expires_at)`.
template <class Shape>
void issue_token(services& ctx, const call_ptr& c, std::int64_t org, std::int64_t user, http::status st,
                 Shape shape) {
  auto token = new_token();
  auto hash = token_hash(token);
  auto expires = now_ms() + static_cast<std::int64_t>(ctx.cfg.auth.token_ttl_s) * 1000;
  db_call<bool>(
      ctx, c->ex,
      [=](pqxx::connection& conn) -> result<bool> {
        storage::user_store::insert_token(conn, hash, org, user, expires);
        return true;
      },
      [&ctx, c, token, expires, st, shape](result<bool> r) mutable {
        if (!r) return fail(ctx, c, r.err());
        ok(ctx, c, st, shape(token, expires));
      });
}

// Runs `work(conn) -> result<T>` on a storage thread and answers `status` with `encode(T)`, or the
// error: what most routes do once their input is read.
template <class T, class Work, class Encode>
void answer(services& ctx, const call_ptr& c, http::status status, Work work, Encode encode) {
  db_call<T>(ctx, c->ex, std::move(work), [&ctx, c, status, encode](result<T> r) {
    if (!r) return fail(ctx, c, r.err());
    ok(ctx, c, status, encode(r.value()));
  });
}

// Charges one attempt to the client's address (limits.logins_per_minute); over the limit, answers
// rate_limited and returns false. Login, code requests and invitation acceptance share it.
bool take_login_attempt(services& ctx, const call_ptr& c);

// Answers a paged list, newest first, `{items, next_cursor}`: reads `cursor` and `limit` from the
// query, runs `fetch(conn, before_id, count)` on a storage thread (it is asked for one row more than
// the page, to learn whether there is a next page) and encodes each row with `encode`.
template <class Row, class Fetch, class Encode>
void answer_page(services& ctx, const call_ptr& c, int default_limit, int max_limit, Fetch fetch,
                 Encode encode) {
  auto before = read_cursor(query_param(c, "cursor"));
  if (!before) return fail(ctx, c, before.err());
  auto limit = read_limit(c, default_limit, max_limit);
  if (!limit) return fail(ctx, c, limit.err());
  db_call<std::vector<Row>>(
      ctx, c->ex,
      [before = before.value(), n = limit.value(),
       fetch](pqxx::connection& conn) -> result<std::vector<Row>> { return fetch(conn, before, n + 1); },
      [&ctx, c, n = limit.value(), encode](result<std::vector<Row>> r) {
        if (!r) return fail(ctx, c, r.err());
        auto& rows = r.value();
        bool more = static_cast<int>(rows.size()) > n;
        if (more) rows.resize(static_cast<std::size_t>(n));
        json::array items;
        for (const auto& row : rows) items.push_back(encode(row));
        json::value next = more ? json::value(page_cursor(rows.back().id)) : json::value(nullptr);
        ok(ctx, c, http::status::ok, json::object{{"items", std::move(items)}, {"next_cursor", next}});
      });
}

// After a user's account changed: their live sessions on this node take the change (or are kicked,
// 4403, when no longer active), and their cached tokens are dropped so the next call rereads them.
void apply_account_change(services& ctx, const protocol::user& u);

}  // namespace switchboard::server::api
