// Integration apps.
#include "storage/app_store.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "protocol/types.hpp"
#include "storage/sql_util.hpp"

namespace switchboard::storage {

namespace {

using protocol::error;
using protocol::error_code;

constexpr const char* app_columns =
    "a.org_id, a.id, a.name, array_to_string(a.scopes, ','), array_to_string(a.allowed_ips, ','), "
    "a.bot_user_id, coalesce(a.callback_url, ''), (extract(epoch FROM a.created_at) * 1000)::bigint";

app_row read_app(const pqxx::row& r) {
  return app_row{r[0].as<std::int64_t>(),
                 r[1].as<std::int64_t>(),
                 r[2].as<std::string>(),
                 split_csv(r[3].as<std::string>()),
                 split_csv(r[4].as<std::string>()),
                 r[5].as<std::int64_t>(),
                 r[6].as<std::string>(),
                 r[7].as<std::int64_t>()};
}

app_token_info token_info_of(const app_row& a) {
  return app_token_info{a.org, a.id, a.bot_user, a.scopes, a.allowed_ips, 0};
}

error app_not_found(std::int64_t id) {
  return error{error_code::not_found, "app " + protocol::id_string(id) + " not found"};
}

std::string target_of(std::int64_t id) {
  return "app:" + protocol::id_string(id);
}

}  // namespace

boost::json::object to_json(const app_row& a) {
  boost::json::array scopes, ips;
  for (const auto& s : a.scopes) scopes.emplace_back(s);
  for (const auto& s : a.allowed_ips) ips.emplace_back(s);
  boost::json::object o{{"app", protocol::id_string(a.id)},
                        {"name", a.name},
                        {"scopes", std::move(scopes)},
                        {"allowed_ips", std::move(ips)},
                        {"bot_user", protocol::id_string(a.bot_user)},
                        {"callback_url", nullptr},
                        {"created_at", a.created_at}};
  if (!a.callback_url.empty()) o["callback_url"] = a.callback_url;
  return o;
}

bool app_token_info::has(const std::string& scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

void app_store::prepare(pqxx::connection& c) {
  c.prepare("app_bot_insert",
            "INSERT INTO users (org_id, name, mobile, kind) VALUES ($1, $2, NULL, 'bot') RETURNING id");
  c.prepare("app_insert",
            std::string("INSERT INTO apps AS a (org_id, name, scopes, allowed_ips, secret_hash, "
                        "bot_user_id, secret_sealed) VALUES ($1, $2, $3::text[], $4::text[], "
                        "decode($5, 'hex'), $6, decode(NULLIF($7, ''), 'hex')) RETURNING ") +
                app_columns);
  c.prepare("app_get_locked", std::string("SELECT ") + app_columns +
                                  " FROM apps a WHERE a.org_id = $1 AND a.id = $2 AND a.deleted_at IS NULL "
                                  "FOR UPDATE");
  c.prepare("app_set_secret",
            "UPDATE apps SET secret_hash = decode($3, 'hex'), secret_sealed = decode(NULLIF($4, ''), 'hex'), "
            "updated_at = now() WHERE org_id = $1 AND id = $2");
  c.prepare("app_delete",
            "UPDATE apps SET deleted_at = now(), callback_url = NULL, updated_at = now() "
            "WHERE org_id = $1 AND id = $2");
  c.prepare("app_events_clear", "DELETE FROM app_events WHERE org_id = $1 AND app_id = $2");
  c.prepare(
      "app_set_callback",
      "UPDATE apps SET callback_url = NULLIF($3, ''), updated_at = now() WHERE org_id = $1 AND id = $2");
  c.prepare("app_sealed_secret", std::string("SELECT ") + app_columns +
                                     ", coalesce(encode(a.secret_sealed, 'hex'), '') FROM apps a "
                                     "WHERE a.org_id = $1 AND a.id = $2 AND a.deleted_at IS NULL");
  c.prepare("app_tokens_delete", "DELETE FROM app_tokens WHERE org_id = $1 AND app_id = $2");
  c.prepare("app_bot_remove",
            "UPDATE users SET status = 'removed', updated_at = now() WHERE org_id = $1 AND id = $2");
  c.prepare("app_list", std::string("SELECT ") + app_columns +
                            " FROM apps a WHERE a.org_id = $1 AND a.deleted_at IS NULL ORDER BY a.id");
  c.prepare("app_for_exchange",
            std::string("SELECT ") + app_columns +
                ", encode(a.secret_hash, 'hex') FROM apps a "
                "WHERE a.id = $1 AND a.deleted_at IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id = a.org_id AND o.deleted_at IS NOT NULL)");
  c.prepare("app_token_insert",
            "INSERT INTO app_tokens (hash, org_id, app_id, expires_at) "
            "VALUES (decode($1, 'hex'), $2, $3, to_timestamp($4::double precision / 1000))");
  c.prepare("app_token_resolve",
            std::string("SELECT ") + app_columns +
                ", (extract(epoch FROM t.expires_at) * 1000)::bigint "
                "FROM app_tokens t JOIN apps a ON a.org_id = t.org_id AND a.id = t.app_id "
                "WHERE t.hash = decode($1, 'hex') AND t.expires_at > now() "
                "AND a.deleted_at IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM orgs o WHERE o.id = t.org_id AND o.deleted_at IS NOT NULL)");
}

protocol::result<app_row> app_store::create(pqxx::connection& c, const actor& a, const std::string& name,
                                            const std::vector<std::string>& scopes,
                                            const std::vector<std::string>& allowed_ips,
                                            const app_secret& secret) {
  pqxx::work w(c);
  auto bot = w.exec_prepared1("app_bot_insert", a.org, name)[0].as<std::int64_t>();
  auto app = read_app(w.exec_prepared1("app_insert", a.org, name, text_array(scopes), text_array(allowed_ips),
                                       secret.hash_hex, bot, secret.sealed_hex));
  audit_store::append(w, a, "app.create", target_of(app.id), {{"after", to_json(app)}});
  w.commit();
  return app;
}

protocol::result<app_row> app_store::rotate(pqxx::connection& c, const actor& a, std::int64_t id,
                                            const app_secret& secret) {
  pqxx::work w(c);
  auto r = w.exec_prepared("app_get_locked", a.org, id);
  if (r.empty()) return app_not_found(id);
  w.exec_prepared("app_set_secret", a.org, id, secret.hash_hex, secret.sealed_hex);
  audit_store::append(w, a, "app.rotate_secret", target_of(id), {});
  w.commit();
  return read_app(r[0]);
}

protocol::result<app_row> app_store::remove(pqxx::connection& c, const actor& a, std::int64_t id) {
  pqxx::work w(c);
  auto r = w.exec_prepared("app_get_locked", a.org, id);
  if (r.empty()) return app_not_found(id);
  auto app = read_app(r[0]);
  w.exec_prepared("app_delete", a.org, id);
  w.exec_prepared("app_tokens_delete", a.org, id);
  w.exec_prepared("app_events_clear", a.org, id);
  w.exec_prepared("app_bot_remove", a.org, app.bot_user);
  audit_store::append(w, a, "app.delete", target_of(id), {{"before", to_json(app)}});
  w.commit();
  return app;
}

protocol::result<app_row> app_store::set_callback(pqxx::connection& c, const actor& a, std::int64_t id,
                                                  const std::string& url) {
  pqxx::work w(c);
  auto r = w.exec_prepared("app_get_locked", a.org, id);
  if (r.empty()) return app_not_found(id);
  auto before = read_app(r[0]);
  w.exec_prepared("app_set_callback", a.org, id, url);
  // Without a URL nothing will deliver what is queued; with another, it goes to the new one.
  if (url.empty()) w.exec_prepared("app_events_clear", a.org, id);
  auto after = before;
  after.callback_url = url;
  audit_store::append(w, a, "app.callback", target_of(id),
                      {{"before", to_json(before)}, {"after", to_json(after)}});
  w.commit();
  return after;
}

std::optional<std::pair<app_row, std::string>> app_store::sealed_secret(pqxx::connection& c, std::int64_t org,
                                                                        std::int64_t id) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("app_sealed_secret", org, id);
  if (r.empty()) return std::nullopt;
  return std::make_pair(read_app(r[0]), r[0][8].as<std::string>());
}

std::vector<app_row> app_store::list(pqxx::connection& c, std::int64_t org) {
  pqxx::nontransaction n(c);
  std::vector<app_row> out;
  for (const auto& r : n.exec_prepared("app_list", org)) out.push_back(read_app(r));
  return out;
}

std::optional<std::pair<app_token_info, std::string>> app_store::for_exchange(pqxx::connection& c,
                                                                              std::int64_t app) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("app_for_exchange", app);
  if (r.empty()) return std::nullopt;
  return std::make_pair(token_info_of(read_app(r[0])), r[0][8].as<std::string>());
}

void app_store::insert_token(pqxx::connection& c, const std::string& hash_hex, const app_token_info& app,
                             std::int64_t expires_at_ms) {
  pqxx::work w(c);
  w.exec_prepared("app_token_insert", hash_hex, app.org, app.app, expires_at_ms);
  w.commit();
}

std::optional<app_token_info> app_store::resolve_token(pqxx::connection& c, const std::string& hash_hex) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("app_token_resolve", hash_hex);
  if (r.empty()) return std::nullopt;
  auto info = token_info_of(read_app(r[0]));
  info.expires_at_ms = r[0][8].as<std::int64_t>();
  return info;
}

}  // namespace switchboard::storage
