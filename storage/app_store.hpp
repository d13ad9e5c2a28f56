// Integration apps: their rows, their bot users, their secrets (stored as SHA-256, and sealed for
// signing callbacks: server/secret_box.hpp) and their access tokens (stored as SHA-256).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/connection>

#include "protocol/errors.hpp"
#include "storage/audit_store.hpp"

namespace switchboard::storage {

struct app_row {
  std::int64_t org = 0, id = 0;
  std::string name;
  std::vector<std::string> scopes, allowed_ips;
  std::int64_t bot_user = 0;
  std::string callback_url;  // empty: none
  std::int64_t created_at = 0;
};

// {app, name, scopes, allowed_ips, bot_user, callback_url, created_at}
boost::json::object to_json(const app_row& a);

// What an access token stands for.
struct app_token_info {
  std::int64_t org = 0, app = 0, bot_user = 0;
  std::vector<std::string> scopes, allowed_ips;
  std::int64_t expires_at_ms = 0;
  bool has(const std::string& scope) const;
};

// A new secret as stored: its SHA-256, and the secret sealed under apps.secret_key ("" when no
// key is set), both hex.
struct app_secret {
  std::string hash_hex, sealed_hex;
};

class app_store {
 public:
  static void prepare(pqxx::connection& c);
  // Creates the app and its bot user (named after the app), audited as `a`'s action.
  static protocol::result<app_row> create(pqxx::connection& c, const actor& a, const std::string& name,
                                          const std::vector<std::string>& scopes,
                                          const std::vector<std::string>& allowed_ips,
                                          const app_secret& secret);
  static protocol::result<app_row> rotate(pqxx::connection& c, const actor& a, std::int64_t id,
                                          const app_secret& secret);
  // Sets the callback URL ("" removes it, and drops the events queued for it). The caller has
  // verified the URL and checked the app's scopes.
  static protocol::result<app_row> set_callback(pqxx::connection& c, const actor& a, std::int64_t id,
                                                const std::string& url);
  // The app (not deleted) and its sealed secret's hex ("" when it has none).
  static std::optional<std::pair<app_row, std::string>> sealed_secret(pqxx::connection& c, std::int64_t org,
                                                                      std::int64_t id);
  // Deletes the app: its tokens end, its bot user is removed (its messages stay).
  static protocol::result<app_row> remove(pqxx::connection& c, const actor& a, std::int64_t id);
  static std::vector<app_row> list(pqxx::connection& c, std::int64_t org);

  // The app (not deleted) and the SHA-256 of its current secret, for the token exchange.
  static std::optional<std::pair<app_token_info, std::string>> for_exchange(pqxx::connection& c,
                                                                            std::int64_t app);
  static void insert_token(pqxx::connection& c, const std::string& hash_hex, const app_token_info& app,
                           std::int64_t expires_at_ms);
  static std::optional<app_token_info> resolve_token(pqxx::connection& c, const std::string& hash_hex);
};

}  // namespace switchboard::storage
