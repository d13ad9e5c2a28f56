// WebSocket ops of the session: hello and ping.
#include <spdlog/spdlog.h>

#include "protocol/clock.hpp"
#include "protocol/close_codes.hpp"
#include "protocol/validate.hpp"
#include "server/api/ws/op_support.hpp"
#include "server/api/ws/ws_ops.hpp"
#include "server/core/db_call.hpp"
#include "server/core/token_cache.hpp"
#include "storage/user_store.hpp"

namespace switchboard::server::ws_ops {

namespace close_code = protocol::close_code;
using protocol::now_ms;

namespace {
const std::vector<std::string> platforms{"ios", "android", "windows", "mac", "linux", "web", "bot"};

// What hello needs: the token, its user, and the org's policy (for min_client_version).
struct hello_t {
  storage::token_info info;
  protocol::user user;
  policy_cache::policy_ptr policy;
};

void finish_hello(session_ptr s, const ws_request& req, const std::string& hash, const std::string& device_id,
                  const std::string& version, const hello_t& h);
}  // namespace

void op_ping(session_ptr s, ws_request req, const json::object&) {
  s->reply(req, json::object{});
}

void hello(session_ptr s, ws_request req, const json::object& data) {
  auto* tok = data.if_contains("token");
  if (!tok || !tok->is_string() || tok->get_string().empty() || tok->get_string().size() > 512) {
    s->reply(req, error{error_code::unauthorized, "a valid token is required"});
    return s->close_with(close_code::unauthorized, "unauthorized");
  }
  protocol::fields f(data);
  auto* device = f.object("device");
  std::string device_id, version;
  if (device) {
    protocol::fields d(*device, "data.device.");
    device_id = d.str("id", 1, 128);
    auto platform = d.str("platform", 1, 16);
    version = d.str("version", 1, 32);
    if (d.ok() && std::find(platforms.begin(), platforms.end(), platform) == platforms.end())
      d.fail(error_code::bad_request,
             "data.device.platform must be one of ios, android, windows, mac, linux, web, bot");
    if (!d.ok()) f.fail(d.err().code, d.err().message);
  }
  if (!f.ok()) {
    s->reply(req, f.err());
    return s->close_with(close_code::protocol_violation, "bad hello");
  }
  std::string hash = token_hash(std::string(tok->get_string()));
  auto& ctx = s->ctx();
  auto cached = ctx.tokens.get(hash, now_ms());
  auto finish = [s, req = std::move(req), hash, device_id, version, &ctx](result<hello_t> r) mutable {
    if (r) {
      ctx.tokens.put_user(hash, r.value().user);
    } else if (r.err().code == error_code::unavailable) {
      // PostgreSQL is down: a token verified here within token_cache::max_age still opens a
      // session, with the user as that hello read it (live connections keep working too).
      if (auto remembered = ctx.tokens.get_with_user(hash, now_ms()))
        r = hello_t{remembered->first, remembered->second, ctx.policies.get(remembered->first.org_id)};
    }
    if (!r) {
      s->reply(req, r.err());
      if (r.err().code == error_code::unauthorized)
        return s->close_with(close_code::unauthorized, "unauthorized");
      return s->close_with(close_code::going_away, "try again");  // database unavailable
    }
    finish_hello(s, req, hash, device_id, version, r.value());
  };
  if (!cached) {
    // First seen here: looked up together with the other hellos arriving meanwhile.
    ctx.hello_tokens->resolve(hash, [hash, &ctx, ex = s->executor(), finish](
                                        pqxx::connection* c, result<token_lookup::found> found) mutable {
      result<hello_t> r = error{error_code::unavailable, "the database is unavailable; retry later"};
      if (!found) {
        r = found.err();
      } else if (!found.value()) {
        r = error{error_code::unauthorized, "unknown, expired or revoked token"};
      } else {
        try {
          hello_t out{found.value()->first, std::move(found.value()->second), nullptr};
          ctx.tokens.put(hash, out.info);
          out.policy = ctx.policies.load(*c, out.info.org_id);
          r = std::move(out);
        } catch (const std::exception& e) {
          ctx.log->debug("hello: policy not loaded: {}", e.what());
        }
      }
      boost::asio::post(ex,
                        [finish = std::move(finish), r = std::move(r)]() mutable { finish(std::move(r)); });
    });
    return;
  }
  // A token verified before: its user (who may have changed) and the org's policy, in one job.
  db_call<hello_t>(
      ctx, s->executor(),
      [cached, &ctx](pqxx::connection& c) -> result<hello_t> {
        hello_t out;
        auto user = storage::user_store::get(c, cached->org_id, cached->user_id);
        if (!user) return error{error_code::unauthorized, "unknown, expired or revoked token"};
        out.info = *cached;
        out.user = std::move(*user);
        out.policy = ctx.policies.load(c, out.info.org_id);
        return out;
      },
      std::move(finish));
}

namespace {
void finish_hello(session_ptr s, const ws_request& req, const std::string& hash, const std::string& device_id,
                  const std::string& version, const hello_t& h) {
  if (h.user.status != protocol::account_status::active) {
    auto why = "account " + std::string(protocol::to_string(h.user.status));
    s->reply(req, error{error_code::forbidden, why});
    return s->close_with(close_code::suspended, why);
  }
  if (h.policy && h.policy->min_client_version &&
      protocol::version_below(version, *h.policy->min_client_version)) {
    s->reply(req, error{error_code::upgrade_required, "this organization requires client version " +
                                                          *h.policy->min_client_version + " or later"});
    return s->close_with(close_code::too_old, "client too old");
  }
  s->on_authenticated(h.user, hash, device_id, version, [s, req, user = h.user] {
    s->reply(req, json::object{{"user", protocol::to_json(user)},
                               {"session_id", s->session_id()},
                               {"heartbeat_s", s->ctx().cfg.server.heartbeat_s},
                               {"server_time", now_ms()}});
  });
}

}  // namespace

}  // namespace switchboard::server::ws_ops
