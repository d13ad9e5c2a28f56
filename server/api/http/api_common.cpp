// What every /v1 HTTP handler shares.
#include "server/api/http/api_common.hpp"

#include "protocol/fields.hpp"
#include "protocol/json_util.hpp"

namespace switchboard::server::api {

namespace {
int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

// %XX escapes decoded; a '%' not followed by two hex digits stays as it is. '+' stays '+' (RFC
// 3986; it is form encoding that reads it as a space), so "q=+8613" searches mobile numbers.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}
}  // namespace

void record(services& ctx, const call_ptr& c, unsigned status) {
  std::optional<error_code> code;
  if (status >= 400) {
    // The error body names the code; recover it for metrics from the status.
    code = status == 401   ? error_code::unauthorized
           : status == 403 ? error_code::forbidden
           : status == 404 ? error_code::not_found
           : status == 409 ? error_code::conflict
           : status == 413 ? error_code::too_large
           : status == 429 ? error_code::rate_limited
           : status == 503 ? error_code::unavailable
           : status >= 500 ? error_code::internal
                           : error_code::bad_request;
  }
  ctx.stats.op(c->op).record(code, std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - c->started));
}

void finish(services& ctx, const call_ptr& c, http_response res) {
  auto status = res.result_int();
  if (c->answer.respond(std::move(res))) record(ctx, c, status);
}

void finish_stream(services& ctx, const call_ptr& c, streamed_response res) {
  auto status = res.head.result_int();
  if (c->answer.stream(std::move(res))) record(ctx, c, status);
}

void fail(services& ctx, const call_ptr& c, const error& e) {
  finish(ctx, c, make_error_response(c->req, e));
}

void ok(services& ctx, const call_ptr& c, http::status st, const json::object& body) {
  finish(ctx, c, make_json_response(c->req, st, json::serialize(body)));
}

void no_content(services& ctx, const call_ptr& c) {
  http_response res{http::status::no_content, c->req.version()};
  res.keep_alive(c->req.keep_alive());
  finish(ctx, c, std::move(res));
}

result<json::object> json_body(const call_ptr& c) {
  auto parsed = protocol::parse_untrusted_json(c->req.body());
  if (!parsed) return parsed.err();
  if (!parsed.value().is_object()) return error{error_code::bad_request, "the body must be a JSON object"};
  return std::move(parsed.value().get_object());
}

std::optional<std::string> bearer(const call_ptr& c) {
  auto it = c->req.find(http::field::authorization);
  if (it == c->req.end()) return std::nullopt;
  std::string_view v(it->value().data(), it->value().size());
  if (v.size() < 8 || v.substr(0, 7) != "Bearer ") return std::nullopt;
  auto token = v.substr(7);
  if (token.empty() || token.size() > 512) return std::nullopt;
  return std::string(token);
}

boost::asio::ip::address client_ip(services& ctx, const call_ptr& c) {
  auto xff = c->req.find("X-Forwarded-For");
  std::string_view forwarded = xff == c->req.end() ? std::string_view{} : std::string_view(xff->value());
  return client_address(c->remote, forwarded, ctx.trusted_proxies);
}

storage::actor actor_of(services& ctx, const call_ptr& c, const storage::token_info& t) {
  return {t.org_id, t.user_id, client_ip(ctx, c).to_string()};
}

std::string query_param(const call_ptr& c, std::string_view key) {
  std::string_view target(c->req.target().data(), c->req.target().size());
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return {};
}

std::string page_cursor(std::int64_t last_id) {
  return "p" + std::to_string(last_id);
}

result<std::int64_t> read_cursor(const std::string& cursor) {
  if (cursor.empty()) return std::int64_t{0};
  auto id = cursor.size() > 1 && cursor[0] == 'p' ? protocol::parse_id(cursor.substr(1)) : 0;
  if (id <= 0) return error{error_code::bad_request, "cursor is not one this server gave out"};
  return id;
}

result<int> read_limit(const call_ptr& c, int def, int max) {
  auto s = query_param(c, "limit");
  if (s.empty()) return def;
  std::int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9' || v > 1000000)
      return error{error_code::bad_request, "limit must be a positive integer"};
    v = v * 10 + (ch - '0');
  }
  if (v < 1) return error{error_code::bad_request, "limit must be a positive integer"};
  return static_cast<int>(std::min<std::int64_t>(v, max));
}

std::optional<error> check_app_address(services& ctx, const call_ptr& c, const storage::app_token_info& a) {
  if (a.allowed_ips.empty()) return std::nullopt;
  std::vector<cidr> allowed;
  for (const auto& s : a.allowed_ips)
    if (auto block = parse_cidr(s)) allowed.push_back(*block);
  auto ip = client_ip(ctx, c);
  if (is_trusted(ip, allowed)) return std::nullopt;
  return error{error_code::forbidden, "the app may not call from " + ip.to_string()};
}

std::optional<error> admit_app(services& ctx, const call_ptr& c, const storage::app_token_info& a) {
  if (c->app_scope != "any" && !a.has(c->app_scope))
    return error{error_code::forbidden, "this call needs the app scope " + c->app_scope};
  if (auto e = check_app_address(ctx, c, a)) return e;
  auto key = std::to_string(a.app);
  std::int64_t retry_after = 0;
  if (!ctx.app_minute.take(key, retry_after) || !ctx.app_day.take(key, retry_after)) {
    ctx.stats.hit(limit::app_requests);
    return error{error_code::rate_limited,
                 "over the app's request rate (apps.requests_per_minute, apps.requests_per_day)",
                 retry_after};
  }
  ctx.cluster.took(shared_limit::app_minute, key);
  ctx.cluster.took(shared_limit::app_day, key);
  return std::nullopt;
}

bool take_login_attempt(services& ctx, const call_ptr& c) {
  std::int64_t retry_after = 0;
  if (ctx.logins.take(client_ip(ctx, c).to_string(), retry_after)) return true;
  ctx.stats.hit(limit::login_attempts);
  fail(ctx, c, {error_code::rate_limited, "too many login attempts from this address", retry_after});
  return false;
}

void apply_account_change(services& ctx, const protocol::user& u) {
  ctx.tokens.erase_user(u.id);  // role and status are cached with each token
  for (auto& s : ctx.sessions.sessions_of(u.id)) s->account_changed(u);
  ctx.cluster.changes_committed();  // the other nodes' sessions and token caches too
}

}  // namespace switchboard::server::api
