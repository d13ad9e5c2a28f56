// Integration apps: management and the token exchange.
#include "server/api/http/app_handlers.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "protocol/fields.hpp"
#include "protocol/http_range.hpp"
#include "protocol/message_body.hpp"
#include "protocol/types.hpp"
#include "server/base/limits.hpp"
#include "server/core/callbacks.hpp"
#include "server/core/conversations.hpp"
#include "server/core/message_send.hpp"
#include "storage/conv_store.hpp"
#include "storage/dept_store.hpp"
#include "storage/event_store.hpp"
#include "storage/user_store.hpp"

namespace switchboard::server::api {

namespace {

const std::vector<std::string> known_scopes{"contacts:read", "contacts:write", "messages:send", "events"};
constexpr std::size_t max_allowed_ips = 50;
constexpr std::size_t max_user_recipients = 1000;
constexpr int max_department_recipients = 10000;

// Where an app's message goes: one conversation per recipient (the direct conversation of the
// bot and that user), or the one conversation named.
struct delivery_plan {
  std::vector<std::pair<std::int64_t, std::int64_t>> targets;  // (user, or 0 for `conv`; conversation)
  std::vector<storage::conv_change> created;                   // direct conversations opened now
};

delivery_plan open_directs(pqxx::connection& conn, std::int64_t org, std::int64_t bot,
                           const std::vector<std::int64_t>& users) {
  delivery_plan plan;
  // Most recipients have their conversation with the bot already: one read finds them all. Each
  // open_direct is a write transaction (its commit waits for the disk), so only the new ones go
  // through it.
  auto existing = storage::conv_store::find_directs(conn, org, bot, users);
  for (auto u : users) {
    if (auto it = existing.find(u); it != existing.end()) {
      plan.targets.emplace_back(u, it->second);
      continue;
    }
    auto opened = storage::conv_store::open_direct(conn, org, bot, u);
    if (!opened) continue;  // (checked to exist just before: removed in between)
    if (opened.value().changed) plan.created.push_back(opened.value());
    plan.targets.emplace_back(u, opened.value().conv.id);
  }
  return plan;
}

// The body of a verification answer, without the line break a shell script's echo adds.
std::string_view echoed(std::string_view body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  return body;
}

// A new secret as stored: hashed for the token exchange, sealed for signing callbacks.
storage::app_secret stored_secret(services& ctx, const std::string& secret) {
  return storage::app_secret{token_hash(secret), ctx.secrets.seal_hex(secret)};
}

}  // namespace

void create_app(services& ctx, const call_ptr& c) {
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
        [a = actor_of(ctx, c, t), name, scopes, ips,
         stored = stored_secret(ctx, secret)](pqxx::connection& conn) {
          return storage::app_store::create(conn, a, name, scopes, ips, stored);
        },
        [&ctx, c, secret](result<storage::app_row> r) {
          if (!r) return fail(ctx, c, r.err());
          auto o = storage::to_json(r.value());
          o["secret"] = secret;  // shown here only
          ok(ctx, c, http::status::created, o);
        });
  });
}

void list_apps(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    using listing = std::pair<std::vector<storage::app_row>, std::vector<storage::event_store::backlog>>;
    answer<listing>(
        ctx, c, http::status::ok,
        [org = t.org_id](pqxx::connection& conn) -> result<listing> {
          return listing{storage::app_store::list(conn, org), storage::event_store::backlogs(conn, org)};
        },
        [](const listing& l) {
          json::array items;
          for (const auto& a : l.first) {
            auto o = storage::to_json(a);
            // Events waiting for the app's receiver: how many, the oldest's age, the last failure.
            json::object events{{"pending", 0}, {"oldest_ms", 0}, {"last_error", nullptr}};
            for (const auto& b : l.second)
              if (b.app == a.id) {
                events = {{"pending", b.pending}, {"oldest_ms", b.oldest_ms}, {"last_error", nullptr}};
                if (!b.last_error.empty()) events["last_error"] = b.last_error;
              }
            o["events"] = std::move(events);
            items.push_back(std::move(o));
          }
          return json::object{{"items", std::move(items)}};
        });
  });
}

void rotate_app(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    auto secret = new_token();
    db_call<storage::app_row>(
        ctx, c->ex,
        [a = actor_of(ctx, c, t), id, stored = stored_secret(ctx, secret)](pqxx::connection& conn) {
          return storage::app_store::rotate(conn, a, id, stored);
        },
        [&ctx, c, secret](result<storage::app_row> r) {
          if (!r) return fail(ctx, c, r.err());
          // Tokens issued under the old secret stay valid until they expire.
          ok(ctx, c, http::status::ok, json::object{{"secret", secret}});
        });
  });
}

void delete_app(services& ctx, const call_ptr& c, std::int64_t id) {
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

void set_app_callback(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    if (!body.value().contains("url"))
      return fail(ctx, c, {error_code::bad_request, "url is required (\"\" or null removes the callback)"});
    protocol::fields f(body.value(), "");
    auto url = f.opt_str("url", 0, 2048).value_or("");
    if (!f.ok()) return fail(ctx, c, f.err());
    auto store = [&ctx, c, a = actor_of(ctx, c, t), id](const std::string& url) {
      answer<storage::app_row>(
          ctx, c, http::status::ok,
          [a, id, url](pqxx::connection& conn) { return storage::app_store::set_callback(conn, a, id, url); },
          [](const storage::app_row& app) { return storage::to_json(app); });
    };
    if (url.empty()) return store("");  // no callback: events stop
    if (auto why = check_callback_url(ctx.cfg, url)) return fail(ctx, c, {error_code::bad_request, *why});
    if (!ctx.secrets.ready())
      return fail(ctx, c,
                  {error_code::conflict,
                   "event callbacks need apps.secret_key in the server's configuration (see docs/api.md)"});
    db_call<std::string>(
        ctx, c->ex,
        [org = t.org_id, id, &ctx](pqxx::connection& conn) -> result<std::string> {
          auto found = storage::app_store::sealed_secret(conn, org, id);
          if (!found) return error{error_code::not_found, "app " + protocol::id_string(id) + " not found"};
          const auto& scopes = found->first.scopes;
          if (std::find(scopes.begin(), scopes.end(), "events") == scopes.end())
            return error{error_code::bad_request, "the app has no events scope"};
          auto secret = ctx.secrets.open_hex(found->second);
          if (!secret)
            return error{error_code::conflict,
                         "the app's secret was set while apps.secret_key was unset or different: rotate it "
                         "first"};
          return *secret;
        },
        [&ctx, c, url, store](result<std::string> secret) {
          if (!secret) return fail(ctx, c, secret.err());
          auto challenge = new_token();
          auto body = json::serialize(json::object{{"type", "url_verification"}, {"challenge", challenge}});
          http_post(
              c->ex, ctx.callback_tls, callback_request(ctx.cfg, url, body, "", secret.value()),
              [&ctx, c, url, store, challenge](outbound_result r) {
                std::string why;
                if (r.status == 0)
                  why = r.error == "the host's addresses are not allowed"
                            ? "its host has only loopback or private addresses (callbacks.allow_private "
                              "is off)"
                            : r.error;
                else if (r.status < 200 || r.status > 299)
                  why = "it answered HTTP " + std::to_string(r.status);
                else if (echoed(r.body) != challenge)
                  why = "its answer was not the challenge";
                if (!why.empty())
                  return fail(ctx, c, {error_code::bad_request, "url did not pass the verification: " + why});
                store(url);
              });
        });
  });
}

void app_token(services& ctx, const call_ptr& c) {
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

void send_app_message(services& ctx, const call_ptr& c) {
  authenticate(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    const auto& o = body.value();
    protocol::fields f(o, "");
    int named = static_cast<int>(o.contains("to_users")) + static_cast<int>(o.contains("to_department")) +
                static_cast<int>(o.contains("conv"));
    if (named != 1)
      return fail(ctx, c, {error_code::bad_request, "give exactly one of to_users, to_department, conv"});
    auto cmid = f.str("client_msg_id", 1, 64);
    auto type = f.str("type", 1, 16);
    const auto* content = f.object("body");
    std::vector<std::int64_t> users;
    std::int64_t dept = 0, conv = 0;
    if (o.contains("to_users")) users = f.id_set("to_users", max_user_recipients);
    if (o.contains("to_department")) dept = f.id("to_department");
    if (o.contains("conv")) conv = f.id("conv");
    if (!f.ok()) return fail(ctx, c, f.err());
    if (o.contains("to_users") && users.empty())
      return fail(ctx, c, {error_code::bad_request, "to_users must name at least one user"});
    if (type != "text" && type != "markdown" && type != "image" && type != "file")
      return fail(ctx, c, {error_code::bad_request, "type must be one of text, markdown, image, file"});
    // A markdown body is a text body whose text is markdown.
    auto checked = protocol::check_message_body(type == "markdown" ? "text" : type, *content, "body.");
    if (!checked) return fail(ctx, c, checked.err());
    auto org = t.org_id, bot = t.user_id;
    db_call<delivery_plan>(
        ctx, c->ex,
        [org, bot, users, dept, conv](pqxx::connection& conn) -> result<delivery_plan> {
          if (conv) return delivery_plan{{{0, conv}}, {}};
          if (dept) {
            auto members = storage::dept_store::members_under(conn, org, dept, max_department_recipients);
            if (!members)
              return error{error_code::not_found, "department " + protocol::id_string(dept) + " not found"};
            return open_directs(conn, org, bot, *members);
          }
          // Any recipient not in the org makes the whole request not_found, and nothing is sent.
          auto found = storage::user_store::existing_active(conn, org, users);
          for (auto u : users)
            if (std::find(found.begin(), found.end(), u) == found.end() || u == bot)
              return error{error_code::not_found, "user " + protocol::id_string(u) + " not found"};
          return open_directs(conn, org, bot, users);
        },
        [&ctx, c, org, bot, cmid, type, checked = checked.value()](result<delivery_plan> r) {
          if (!r) return fail(ctx, c, r.err());
          for (const auto& change : r.value().created) announce_created(ctx, change);
          const auto& targets = r.value().targets;
          if (targets.empty()) return ok(ctx, c, http::status::ok, json::object{{"results", json::array{}}});
          // Every recipient's outcome, answered once all are in.
          struct gather {
            std::vector<result<send_ack>> outcomes;
            std::size_t left;
          };
          auto g = std::make_shared<gather>(
              gather{std::vector<result<send_ack>>(targets.size(), error{}), targets.size()});
          for (std::size_t i = 0; i < targets.size(); ++i) {
            submit_message(ctx, {org, targets[i].second, bot, cmid, type, checked}, nullptr, c->ex,
                           [&ctx, c, g, i, targets](result<send_ack> out) {
                             g->outcomes[i] = std::move(out);
                             if (--g->left > 0) return;
                             json::array results;
                             for (std::size_t k = 0; k < targets.size(); ++k) {
                               // A failed recipient fails the call; a retry with the same
                               // client_msg_id sends only what is missing.
                               if (!g->outcomes[k]) return fail(ctx, c, g->outcomes[k].err());
                               const auto& a = g->outcomes[k].value();
                               json::object item{{"conv", protocol::id_string(targets[k].second)},
                                                 {"msg_id", protocol::id_string(a.msg_id)},
                                                 {"seq", a.seq}};
                               if (targets[k].first) item["user"] = protocol::id_string(targets[k].first);
                               if (a.duplicate) item["duplicate"] = true;
                               results.push_back(std::move(item));
                             }
                             ok(ctx, c, http::status::ok, json::object{{"results", std::move(results)}});
                           });
          }
        });
  });
}

void read_app_conv(services& ctx, const call_ptr& c, std::int64_t conv) {
  authenticate(ctx, c, [&ctx, c, conv](const storage::token_info& t, const std::string&) {
    std::int64_t after = 0;
    auto a = query_param(c, "after_seq");
    if (!a.empty()) {
      std::uint64_t v = 0;
      if (!protocol::parse_u64(a, v) || v > static_cast<std::uint64_t>(INT64_MAX))
        return fail(ctx, c, {error_code::bad_request, "after_seq must be a non-negative integer"});
      after = static_cast<std::int64_t>(v);
    }
    auto limit = read_limit(c, 100, 500);
    if (!limit) return fail(ctx, c, limit.err());
    // The same use case as the WebSocket `sync`, as the bot.
    conversations(ctx).sync(actor{t.org_id, t.user_id, false}, conv, after, limit.value(), c->ex,
                            [&ctx, c](result<storage::message_page> r) {
                              if (!r) return fail(ctx, c, r.err());
                              ok(ctx, c, http::status::ok, storage::to_json(r.value()));
                            });
  });
}

}  // namespace switchboard::server::api
