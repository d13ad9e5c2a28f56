// HTTP routes of members, departments, the directory and the audit log.
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
    auto role = protocol::parse_role(f.opt_str("role", 1, 16).value_or("member"));
    if (role) u.role = *role;
    if (f.ok() && (!role || u.role == protocol::role::owner))
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

namespace {
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
}  // namespace

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

namespace {
storage::viewer viewer_of(const storage::token_info& t) {
  return {t.org_id, t.user_id, protocol::is_admin(t.role)};
}

}  // namespace

void list_departments(services& ctx, const call_ptr& c) {
  authenticate(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    if (auto e = inactive_account(t)) return fail(ctx, c, *e);
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
namespace {
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

}  // namespace

void list_directory_users(services& ctx, const call_ptr& c) {
  authenticate(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    if (auto e = inactive_account(t)) return fail(ctx, c, *e);
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
                              {"actor", e.actor == 0 ? std::string("system") : protocol::id_string(e.actor)},
                              {"action", e.action},
                              {"target", e.target},
                              {"summary", json::parse(e.summary_json)},
                              {"ip", e.ip}};
        });
  });
}

}  // namespace switchboard::server::api
