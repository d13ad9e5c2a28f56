// /v1 routes for running an organization: user changes, suspensions, restrictions, policy,
// announcements, and a user's own profile.
#include "server/api/http/admin_handlers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "protocol/fields.hpp"
#include "protocol/user_import.hpp"
#include "protocol/validate.hpp"
#include "storage/import_store.hpp"
#include "storage/notice_store.hpp"
#include "storage/policy_store.hpp"

namespace switchboard::server::api {

namespace {

constexpr std::size_t max_email_bytes = 254;
constexpr std::size_t max_avatar_bytes = 2048;
constexpr std::size_t max_reason_bytes = 500;
constexpr std::size_t max_title_bytes = 200;
constexpr std::size_t max_notice_bytes = 20000;
constexpr std::size_t max_user_departments = 100;
constexpr std::int64_t max_until_ms = 253402300799999;  // 9999-12-31T23:59:59.999Z

// The body of PATCH /v1/admin/users/{id} or (`self`) PATCH /v1/me. Keys a user may not change on
// themselves are 403, unknown keys 400.
result<storage::user_patch> read_user_patch(const json::object& body, bool self,
                                            std::optional<std::string>& password) {
  static const std::vector<std::string> profile{"name", "avatar", "title", "email"};
  static const std::vector<std::string> admin_only{"mobile", "password", "role", "departments"};
  static const std::vector<std::string> fixed{"user", "org", "status", "created_at"};
  auto in = [](const std::vector<std::string>& v, std::string_view k) {
    return std::find(v.begin(), v.end(), k) != v.end();
  };
  for (const auto& kv : body) {
    std::string key(kv.key());
    if (in(profile, key)) continue;
    if (in(admin_only, key)) {
      if (!self) continue;
      return error{error_code::forbidden, key +
                                              " cannot be changed here: it was set at registration; "
                                              "an admin of the organization can change it"};
    }
    if (in(fixed, key))
      return error{self ? error_code::forbidden : error_code::bad_request,
                   key + " cannot be changed" +
                       (key == "status" && !self ? std::string(": use suspend, restore or DELETE") : "")};
    return error{error_code::bad_request, "unknown field '" + key.substr(0, 64) + "'"};
  }
  protocol::fields f(body, "");
  storage::user_patch p;
  p.name = f.opt_str("name", 1, max_name_bytes);
  p.title = f.opt_str("title", 0, max_title_bytes);
  p.email = f.opt_str("email", 0, max_email_bytes);
  p.avatar = f.opt_str("avatar", 0, max_avatar_bytes);
  if (f.ok() && p.email && !p.email->empty() && p.email->find('@') == std::string::npos)
    f.fail(error_code::bad_request, "email must be an address (name@example.com) or empty");
  if (!self) {
    p.mobile = f.opt_mobile("mobile");
    if (auto role = f.opt_str("role", 1, 16)) {
      p.role = protocol::parse_role(*role);
      if (f.ok() && (!p.role || *p.role == protocol::role::owner))
        f.fail(error_code::bad_request, "role must be member or admin");
    }
    password = f.opt_str("password", min_password_bytes, max_password_bytes);
    if (f.ok() && body.contains("departments")) p.departments = f.id_set("departments", max_user_departments);
  }
  if (!f.ok()) return f.err();
  return p;
}

// Runs a change to a user on a storage thread, applies it to their live sessions and answers the
// user as it now is.
template <class Change>
void change_user(services& ctx, const call_ptr& c, Change change) {
  db_call<storage::user_change>(ctx, c->ex, std::move(change), [&ctx, c](result<storage::user_change> r) {
    if (!r) return fail(ctx, c, r.err());
    apply_account_change(ctx, r.value().after);
    ok(ctx, c, http::status::ok, protocol::to_json(r.value().after));
  });
}

}  // namespace

result<std::optional<std::int64_t>> read_until(protocol::fields& f, const json::object& body) {
  if (!body.contains("until") || body.at("until").is_null()) return std::optional<std::int64_t>{};
  auto until = f.integer("until", 0, max_until_ms);
  if (!f.ok()) return f.err();
  if (until <= now_ms()) return error{error_code::bad_request, "until must be in the future"};
  return std::optional<std::int64_t>{until};
}

std::vector<std::string> read_features(protocol::fields& f) {
  auto features = f.str_list("features", 3, 16);
  static const std::vector<std::string> known{"send", "call", "create_group"};
  for (const auto& x : features)
    if (f.ok() && std::find(known.begin(), known.end(), x) == known.end())
      f.fail(error_code::bad_request, "features may hold send, call and create_group");
  std::sort(features.begin(), features.end());
  features.erase(std::unique(features.begin(), features.end()), features.end());
  return features;
}

void update_user(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    std::optional<std::string> password;
    auto patch = read_user_patch(body.value(), false, password);
    if (!patch) return fail(ctx, c, patch.err());
    auto store = [&ctx, c, id, a = actor_of(ctx, c, t)](storage::user_patch p) {
      change_user(ctx, c, [a, id, p](pqxx::connection& conn) {
        return storage::user_store::update(conn, a, id, p, true);
      });
    };
    if (!password) return store(std::move(patch.value()));
    hash_password(ctx, c, *password, [p = std::move(patch.value()), store](std::string hash) mutable {
      p.password_hash = std::move(hash);
      store(std::move(p));
    });
  });
}

void delete_user(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    change_user(ctx, c, [a = actor_of(ctx, c, t), id](pqxx::connection& conn) {
      return storage::user_store::remove(conn, a, id);
    });
  });
}

void suspend_user(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    protocol::fields f(body.value(), "");
    auto reason = f.str("reason", 1, max_reason_bytes);
    auto until = read_until(f, body.value());
    if (!f.ok()) return fail(ctx, c, f.err());
    if (!until) return fail(ctx, c, until.err());
    change_user(ctx, c, [a = actor_of(ctx, c, t), id, reason, until = until.value()](pqxx::connection& conn) {
      return storage::user_store::suspend(conn, a, id, reason, until);
    });
  });
}

void restore_user(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    change_user(ctx, c, [a = actor_of(ctx, c, t), id](pqxx::connection& conn) {
      return storage::user_store::restore(conn, a, id);
    });
  });
}

void restrict_user(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    protocol::fields f(body.value(), "");
    auto features = read_features(f);
    auto until = read_until(f, body.value());
    if (!f.ok()) return fail(ctx, c, f.err());
    if (!until) return fail(ctx, c, until.err());
    change_user(ctx, c,
                [a = actor_of(ctx, c, t), id, features, until = until.value()](pqxx::connection& conn) {
                  return storage::user_store::restrict(conn, a, id, features, until);
                });
  });
}

namespace {

struct import_state {
  storage::actor actor;
  std::vector<storage::import_row> rows;
  std::size_t next = 0;                       // the first row of the next chunk
  std::map<std::string, std::int64_t> paths;  // department paths resolved so far
  json::array results;
  int created = 0, updated = 0, failed = 0;

  void add(const storage::import_outcome& o) {
    json::object r{{"row", o.row}, {"status", o.status}};
    if (o.status == "created") ++created;
    if (o.status == "updated") ++updated;
    if (o.user) r["user"] = protocol::id_string(o.user);
    if (o.error) {
      ++failed;
      r["error"] = json::object{{"code", protocol::to_string(o.error->code)}, {"message", o.error->message}};
    }
    results.push_back(std::move(r));
  }
};

constexpr std::size_t import_chunk_rows = 500;

void import_next(services& ctx, const call_ptr& c, std::shared_ptr<import_state> st) {
  if (st->next >= st->rows.size())
    return ok(ctx, c, http::status::ok,
              json::object{{"created", st->created},
                           {"updated", st->updated},
                           {"failed", st->failed},
                           {"results", std::move(st->results)}});
  auto end = std::min(st->rows.size(), st->next + import_chunk_rows);
  std::vector<storage::import_row> chunk(st->rows.begin() + static_cast<std::ptrdiff_t>(st->next),
                                         st->rows.begin() + static_cast<std::ptrdiff_t>(end));
  st->next = end;
  // Jobs of one import run one after another, so `paths` is never used by two threads at once.
  db_call<std::vector<storage::import_outcome>>(
      ctx, c->ex,
      [st, chunk](pqxx::connection& conn) -> result<std::vector<storage::import_outcome>> {
        return storage::import_store::store_chunk(conn, st->actor, chunk, st->paths);
      },
      [&ctx, c, st, chunk](result<std::vector<storage::import_outcome>> r) {
        if (r) {
          for (const auto& o : r.value()) st->add(o);
        } else {
          // Earlier chunks are stored: the report says exactly which rows are, so this chunk's
          // rows (and the rest) are reported with the error instead of failing the call.
          for (const auto& row : chunk) st->add({row.row, "error", 0, r.err()});
          for (; st->next < st->rows.size(); ++st->next)
            st->add({st->rows[st->next].row, "error", 0, r.err()});
        }
        import_next(ctx, c, st);
      });
}

}  // namespace

void import_users(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    auto type_it = c->req.find(http::field::content_type);
    std::string type = type_it == c->req.end() ? "" : std::string(type_it->value());
    type = type.substr(0, type.find(';'));
    for (auto& ch : type) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool is_json = type == "application/json";
    if (type.empty()) {  // no Content-Type: a JSON array starts with '['
      auto first = c->req.body().find_first_not_of(" \t\r\n");
      is_json = first != std::string::npos && c->req.body()[first] == '[';
    } else if (!is_json && type != "text/csv") {
      return fail(ctx, c, {error_code::bad_request, "Content-Type must be text/csv or application/json"});
    }
    int max_rows = ctx.cfg.limits.max_import_rows;
    // Parsed on the CPU pool, stored a chunk per storage job (each job under the query deadline,
    // and other work runs between them): a big import never holds an io thread or a connection.
    boost::asio::post(ctx.cpu, [&ctx, c, a = actor_of(ctx, c, t), is_json, max_rows] {
      auto rows = is_json ? protocol::parse_import_json(c->req.body(), max_rows)
                          : protocol::parse_import_csv(c->req.body(), max_rows);
      boost::asio::post(c->ex, [&ctx, c, a, rows = std::move(rows)]() mutable {
        if (!rows) return fail(ctx, c, rows.err());
        auto st = std::make_shared<import_state>();
        st->actor = a;
        st->rows = std::move(rows.value());
        import_next(ctx, c, st);
      });
    });
  });
}

void patch_me(services& ctx, const call_ptr& c) {
  authenticate(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    if (auto e = inactive_account(t)) return fail(ctx, c, *e);
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    std::optional<std::string> ignored;
    auto patch = read_user_patch(body.value(), true, ignored);
    if (!patch) return fail(ctx, c, patch.err());
    change_user(ctx, c, [a = actor_of(ctx, c, t), p = patch.value()](pqxx::connection& conn) {
      return storage::user_store::update(conn, a, a.user, p, false);
    });
  });
}

void get_policy(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    answer<storage::org_policy>(
        ctx, c, http::status::ok,
        [org = t.org_id](pqxx::connection& conn) -> result<storage::org_policy> {
          return storage::policy_store::get(conn, org);
        },
        [](const storage::org_policy& v) { return storage::to_json(v); });
  });
}

void put_policy(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    auto patch = storage::read_policy_patch(body.value());
    if (!patch) return fail(ctx, c, patch.err());
    db_call<storage::policy_change>(
        ctx, c->ex,
        [a = actor_of(ctx, c, t), p = patch.value()](pqxx::connection& conn) {
          return storage::policy_store::put(conn, a, p);
        },
        [&ctx, c, org = t.org_id](result<storage::policy_change> r) {
          if (!r) return fail(ctx, c, r.err());
          const auto& after = r.value().after;
          ctx.policies.put(org, after);
          // Live sessions older than a raised minimum close now (4426), not at their next hello.
          if (after.min_client_version && after.min_client_version != r.value().before.min_client_version)
            for (auto& s : ctx.sessions.sessions_in_org(org))
              s->enforce_min_version(*after.min_client_version);
          ctx.cluster.changes_committed();  // the other nodes' sessions too
          ok(ctx, c, http::status::ok, storage::to_json(after));
        });
  });
}

void create_notice(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    protocol::fields f(body.value(), "");
    auto title = f.str("title", 1, max_title_bytes);
    auto text = f.str("body", 0, max_notice_bytes);
    if (!f.ok()) return fail(ctx, c, f.err());
    db_call<storage::notice>(
        ctx, c->ex,
        [a = actor_of(ctx, c, t), title, text](pqxx::connection& conn) -> result<storage::notice> {
          return storage::notice_store::create(conn, a, title, text);
        },
        [&ctx, c, org = t.org_id](result<storage::notice> r) {
          if (!r) return fail(ctx, c, r.err());
          auto data = storage::to_json(r.value());
          ctx.fan.to_org(org, event_frame("notice", data));
          ok(ctx, c, http::status::created, data);
        });
  });
}

void list_notices(services& ctx, const call_ptr& c) {
  authenticate(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    if (auto e = inactive_account(t)) return fail(ctx, c, *e);
    answer_page<storage::notice>(
        ctx, c, 20, 100,
        [org = t.org_id](pqxx::connection& conn, std::int64_t before, int n) {
          return storage::notice_store::list(conn, org, before, n);
        },
        [](const storage::notice& n) { return storage::to_json(n); });
  });
}

}  // namespace switchboard::server::api
