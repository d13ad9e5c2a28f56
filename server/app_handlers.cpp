// Integration apps: management and the token exchange.
#include "server/app_handlers.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "protocol/fields.hpp"
#include "protocol/types.hpp"
#include "server/limits.hpp"

namespace switchboard::server::api {

namespace {

const std::vector<std::string> known_scopes{"contacts:read", "contacts:write", "messages:send", "events"};
constexpr std::size_t max_allowed_ips = 50;

}  // namespace

void create_app(app_context& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    protocol::fields f(body.value(), "");
    auto name = f.str("name", 1, max_name_bytes);
    auto scopes = f.str_list("scopes", known_scopes.size(), 32);
    std::vector<std::string> ips;
    if (f.ok() && body.value().contains("allowed_ips") && !body.value().at("allowed_ips").is_null())
      ips = f.str_list("allowed_ips", max_allowed_ips, 64);
    if (!f.ok()) return fail(ctx, c, f.err());
    std::sort(scopes.begin(), scopes.end());
    scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
    for (const auto& s : scopes)
      if (std::find(known_scopes.begin(), known_scopes.end(), s) == known_scopes.end())
        return fail(ctx, c,
                    {error_code::bad_request,
                     "scopes: " + s + " is not one of contacts:read, contacts:write, messages:send, events"});
    for (const auto& ip : ips)
      if (!parse_cidr(ip))
        return fail(ctx, c,
                    {error_code::bad_request, "allowed_ips: " + ip + " is not an address or CIDR block"});
    auto secret = new_token();
    db_call<storage::app_row>(
        ctx, c->ex,
        [a = actor_of(ctx, c, t), name, scopes, ips, hash = token_hash(secret)](pqxx::connection& conn) {
          return storage::app_store::create(conn, a, name, scopes, ips, hash);
        },
        [&ctx, c, secret](result<storage::app_row> r) {
          if (!r) return fail(ctx, c, r.err());
          auto o = storage::to_json(r.value());
          o["secret"] = secret;  // shown here only
          ok(ctx, c, http::status::created, o);
        });
  });
}

void list_apps(app_context& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    answer<std::vector<storage::app_row>>(
        ctx, c, http::status::ok,
        [org = t.org_id](pqxx::connection& conn) -> result<std::vector<storage::app_row>> {
          return storage::app_store::list(conn, org);
        },
        [](const std::vector<storage::app_row>& apps) {
          json::array items;
          for (const auto& a : apps) items.push_back(storage::to_json(a));
          return json::object{{"items", std::move(items)}};
        });
  });
}

void rotate_app(app_context& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    auto secret = new_token();
    db_call<storage::app_row>(
        ctx, c->ex,
        [a = actor_of(ctx, c, t), id, hash = token_hash(secret)](pqxx::connection& conn) {
          return storage::app_store::rotate(conn, a, id, hash);
        },
        [&ctx, c, secret](result<storage::app_row> r) {
          if (!r) return fail(ctx, c, r.err());
          // Tokens issued under the old secret stay valid until they expire.
          ok(ctx, c, http::status::ok, json::object{{"secret", secret}});
        });
  });
}

void delete_app(app_context& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    db_call<storage::app_row>(
        ctx, c->ex,
        [a = actor_of(ctx, c, t), id](pqxx::connection& conn) {
          return storage::app_store::remove(conn, a, id);
        },
        [&ctx, c](result<storage::app_row> r) {
          if (!r) return fail(ctx, c, r.err());
          ctx.app_tokens.erase_app(r.value().id);
          ctx.tokens.erase_user(r.value().bot_user);
          no_content(ctx, c);
        });
  });
}

void app_token(app_context& ctx, const call_ptr& c) {
  // Guessing secrets costs from the same budget as guessing passwords.
  if (!take_login_attempt(ctx, c)) return;
  auto body = json_body(c);
  if (!body) return fail(ctx, c, body.err());
  protocol::fields f(body.value(), "");
  auto app = f.id("app_id");
  auto secret = f.str("secret", 1, 512);
  if (!f.ok()) return fail(ctx, c, f.err());
  auto ttl_ms = static_cast<std::int64_t>(ctx.cfg.apps.token_ttl_s) * 1000;
  db_call<storage::app_token_info>(
      ctx, c->ex,
      [app, given = token_hash(secret)](pqxx::connection& conn) -> result<storage::app_token_info> {
        auto found = storage::app_store::for_exchange(conn, app);
        error wrong{error_code::unauthorized, "unknown app_id or wrong secret"};
        if (!found || found->second.size() != given.size() ||
            CRYPTO_memcmp(found->second.data(), given.data(), given.size()) != 0)
          return wrong;
        return found->first;
      },
      [&ctx, c, ttl_ms](result<storage::app_token_info> r) {
        if (!r) return fail(ctx, c, r.err());
        auto info = r.value();
        if (auto e = check_app_address(ctx, c, info)) return fail(ctx, c, *e);
        auto token = new_token();
        auto hash = token_hash(token);
        info.expires_at_ms = now_ms() + ttl_ms;
        db_call<bool>(
            ctx, c->ex,
            [hash, info](pqxx::connection& conn) -> result<bool> {
              storage::app_store::insert_token(conn, hash, info, info.expires_at_ms);
              return true;
            },
            [&ctx, c, token, hash, info, ttl_ms](result<bool> w) {
              if (!w) return fail(ctx, c, w.err());
              ctx.app_tokens.put(hash, info);
              ok(ctx, c, http::status::ok,
                 json::object{{"access_token", token}, {"expires_in", ttl_ms / 1000}});
            });
      });
}

}  // namespace switchboard::server::api
