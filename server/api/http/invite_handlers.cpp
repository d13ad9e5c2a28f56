// Verification codes by SMS, and invitations accepted with one.
#include "server/api/http/invite_handlers.hpp"

#include <algorithm>

#include "protocol/fields.hpp"
#include "protocol/validate.hpp"
#include "storage/verification_store.hpp"

namespace switchboard::server::api {

void request_code(services& ctx, const call_ptr& c) {
  // Shares the per-address login limit: asking for codes is a step of logging in.
  if (!take_login_attempt(ctx, c)) return;
  auto body = json_body(c);
  if (!body) return fail(ctx, c, body.err());
  protocol::fields f(body.value(), "");
  auto org = f.id("org");
  auto mobile = f.mobile("mobile");
  auto purpose = f.opt_str("purpose", 1, 16).value_or("login");
  if (f.ok() && purpose != "login" && purpose != "invitation")
    f.fail(error_code::bad_request, "purpose must be login or invitation");
  if (!f.ok()) return fail(ctx, c, f.err());
  storage::code_settings settings{ctx.cfg.sms.code_ttl_s};
  db_call<std::optional<std::string>>(
      ctx, c->ex,
      [org, mobile, purpose, settings](pqxx::connection& conn) {
        return storage::code_store::issue(conn, org, mobile, purpose, settings);
      },
      [&ctx, c, org, mobile, purpose](result<std::optional<std::string>> r) {
        if (!r) return fail(ctx, c, r.err());
        if (!r.value()) return no_content(ctx, c);  // no one to send to: the same answer
        sms_message m{now_ms(), org, mobile, *r.value(), purpose};
        ctx.sms.send(m, c->ex, [&ctx, c](bool sent) {
          if (!sent) return fail(ctx, c, {error_code::unavailable, "the SMS gateway failed; retry later"});
          no_content(ctx, c);
        });
      });
}

void create_invitation(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    protocol::fields f(body.value(), "");
    storage::new_invitation n;
    n.mobile = f.mobile("mobile");
    n.name = f.str("name", 1, max_name_bytes);
    n.title = f.opt_str("title", 0, max_name_bytes).value_or("");
    n.role = f.opt_str("role", 1, 16).value_or("member");
    if (f.ok() && protocol::parse_role(n.role).value_or(protocol::role::owner) == protocol::role::owner)
      f.fail(error_code::bad_request, "role must be member or admin");
    if (f.ok() && body.value().contains("departments")) n.departments = f.id_set("departments", 100);
    if (!f.ok()) return fail(ctx, c, f.err());
    auto code = new_token();
    n.code_hash = token_hash(code);
    n.ttl_s = ctx.cfg.auth.invitation_ttl_s;
    answer<storage::invitation>(
        ctx, c, http::status::created,
        [a = actor_of(ctx, c, t), n](pqxx::connection& conn) {
          return storage::invitation_store::create(conn, a, n);
        },
        [code](const storage::invitation& i) {
          return json::object{{"invitation", storage::to_json(i)}, {"code", code}};
        });
  });
}

void list_invitations(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    answer_page<storage::invitation>(
        ctx, c, 50, 200,
        [org = t.org_id](pqxx::connection& conn, std::int64_t before, int n) {
          return storage::invitation_store::list(conn, org, before, n);
        },
        [](const storage::invitation& i) { return storage::to_json(i); });
  });
}

void revoke_invitation(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    answer<storage::invitation>(
        ctx, c, http::status::ok,
        [a = actor_of(ctx, c, t), id](pqxx::connection& conn) {
          return storage::invitation_store::revoke(conn, a, id);
        },
        [](const storage::invitation& v) { return storage::to_json(v); });
  });
}

void accept_invitation(services& ctx, const call_ptr& c) {
  if (!take_login_attempt(ctx, c)) return;
  auto body = json_body(c);
  if (!body) return fail(ctx, c, body.err());
  protocol::fields f(body.value(), "");
  auto code = f.str("code", 1, 512);
  auto mobile = f.mobile("mobile");
  auto sms_code = f.str("sms_code", 1, 16);
  auto password = f.opt_str("password", min_password_bytes, max_password_bytes);
  if (!f.ok()) return fail(ctx, c, f.err());
  auto store = [&ctx, c, hash = token_hash(code), mobile, sms_code,
                ip = client_ip(ctx, c).to_string()](std::string password_hash) {
    db_call<storage::accepted_invitation>(
        ctx, c->ex,
        [=](pqxx::connection& conn) {
          return storage::invitation_store::accept(conn, hash, mobile, sms_code, password_hash, ip);
        },
        [&ctx, c](result<storage::accepted_invitation> r) {
          if (!r) return fail(ctx, c, r.err());
          auto user = r.value().user;
          auto user_json = protocol::to_json(user);
          issue_token(ctx, c, user.org_id, user.id, http::status::ok,
                      [user_json](const std::string& token, std::int64_t expires) {
                        return json::object{{"token", token}, {"user", user_json}, {"expires_at", expires}};
                      });
        });
  };
  if (!password) return store("");
  hash_password(ctx, c, *password, store);
}

}  // namespace switchboard::server::api
