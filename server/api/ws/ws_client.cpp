// One client over WebSocket.
#include "server/api/ws/ws_client.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "protocol/clock.hpp"
#include "protocol/close_codes.hpp"
#include "protocol/validate.hpp"
#include "protocol/ws_envelope.hpp"
#include "server/api/ws/ws_ops.hpp"
#include "server/core/calls.hpp"
#include "server/ops/correlation.hpp"

namespace switchboard::server {

namespace asio = boost::asio;
namespace close_code = protocol::close_code;
using clock = std::chrono::steady_clock;
using protocol::error;
using protocol::error_code;

namespace {
// Requests refused for rate in a row before the connection counts as flooding (closed 4429).
constexpr int flood_strikes = 100;
}  // namespace

ws_client::ws_client(services& ctx, const std::shared_ptr<ws_connection>& conn)
    : ctx_(ctx),
      conn_(conn),
      ex_(conn->executor()),
      hello_timer_(ex_),
      requests_(ctx.cfg.limits.requests_per_second, ctx.cfg.limits.request_burst) {}

ws_client::~ws_client() {
  on_closing();
}

void ws_client::on_open() {
  hello_timer_.expires_after(std::chrono::milliseconds(ctx_.cfg.server.hello_timeout_ms));
  hello_timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
    if (e || self->authed_ || self->closed_) return;
    self->ctx_.stats.hit(limit::hello_timeout);
    self->close_with(close_code::hello_timeout, "hello timeout");
  });
}

void ws_client::on_closing() {
  if (closed_) return;
  closed_ = true;
  hello_timer_.cancel();
  if (!registered_) return;
  registered_ = false;
  ctx_.presence.unsubscribe_all(this);
  if (ctx_.sessions.remove(this, user_)) ctx_.cluster.user_left(org_, user_, protocol::now_ms());
  if (ctx_.calls) ctx_.calls->session_closed(org_, user_, session_id_);
}

void ws_client::on_text(std::string_view text) {
  auto parsed = protocol::parse_ws_envelope(text);
  auto& env = parsed.envelope;
  ws_request req{std::move(env.id), std::move(env.op), clock::now()};
  if (parsed.failure) return reply(req, *parsed.failure);
  if (!authed_) {
    if (req.op != "hello" || hello_pending_) {
      reply(req, error{error_code::unauthorized, "the first request must be hello"});
      return close_with(close_code::unauthorized, "hello required");
    }
    hello_pending_ = true;
    return ws_ops::hello(shared_from_this(), std::move(req), env.data);
  }
  if (req.op == "hello") return reply(req, error{error_code::bad_request, "this session already said hello"});
  std::int64_t retry_after = 0;
  if (!requests_.take(clock::now(), retry_after)) {
    ctx_.stats.hit(limit::request_rate);
    if (++rejected_in_row_ >= flood_strikes) {
      ctx_.stats.hit(limit::flood);
      reply(req, error{error_code::rate_limited, "flooding", retry_after});
      return close_with(close_code::slow_or_flood, "request flood");
    }
    return reply(req, error{error_code::rate_limited, "over the request rate limit", retry_after});
  }
  rejected_in_row_ = 0;
  ws_ops::dispatch(shared_from_this(), std::move(req), env.data);
}

void ws_client::send(frame_ptr frame) {
  if (auto c = conn_.lock()) c->send(std::move(frame));
}

void ws_client::close_with(std::uint16_t code, const std::string& reason) {
  if (auto c = conn_.lock()) c->close_with(code, reason);
}

void ws_client::reply(const ws_request& req, protocol::result<boost::json::object> result) {
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - req.started);
  std::string_view op = req.op.empty() ? std::string_view("invalid") : std::string_view(req.op);
  if (result) {
    ctx_.stats.op(op).record(std::nullopt, took);
    send(std::make_shared<const std::string>(protocol::encode_ws_reply(req.id, std::move(result.value()))));
  } else {
    ctx_.stats.op(op).record(result.err().code, took);
    send(std::make_shared<const std::string>(protocol::encode_ws_error(req.id, result.err())));
  }
}

void ws_client::on_authenticated(const protocol::user& user, std::string token_hash, std::string device_id,
                                 std::string client_version, std::function<void()> then) {
  authed_ = true;
  hello_pending_ = false;
  hello_timer_.cancel();
  org_ = user.org_id;
  user_ = user.id;
  role_ = user.role;
  restricted_ = user.restricted;
  restricted_until_ms_ = user.restricted_until_ms;
  client_version_ = std::move(client_version);
  token_hash_ = std::move(token_hash);
  device_id_ = std::move(device_id);
  session_id_ = new_correlation_id();
  if (closed_) return then();  // the connection closed while hello waited on the database
  // A new hello from the same device replaces the older session, on whichever node it is (this one
  // is not registered yet, so it is not among them).
  ctx_.fan.kick(user_, {session_match::field::device_id, device_id_}, "replaced", close_code::normal);
  registered_ = true;
  if (!ctx_.sessions.add(shared_from_this())) return then();
  ctx_.cluster.user_arrived(
      org_, user_, [ex = ex_, then = std::move(then)]() mutable { asio::post(ex, std::move(then)); });
}

std::optional<protocol::error> ws_client::restricted(std::string_view feature) const {
  if (std::find(restricted_.begin(), restricted_.end(), feature) == restricted_.end()) return std::nullopt;
  if (restricted_until_ms_ && *restricted_until_ms_ <= protocol::now_ms()) return std::nullopt;  // lifted
  return error{error_code::forbidden, "an admin restricted " + std::string(feature) + " for this account"};
}

void ws_client::deliver(frame_ptr frame) {
  asio::post(ex_, [self = shared_from_this(), f = std::move(frame)]() mutable {
    if (self->authed_ && !self->closed_) self->send(std::move(f));
  });
}

void ws_client::kick(const std::string& reason, std::uint16_t code) {
  asio::post(ex_, [self = shared_from_this(), reason, code] {
    auto c = self->conn_.lock();
    if (!c || c->closing()) return;
    c->send(event_frame("kicked", {{"reason", reason}}));
    c->close_with(code, reason);
  });
}

void ws_client::account_changed(const protocol::user& u) {
  asio::post(ex_, [self = shared_from_this(), u] {
    if (!self->authed_) return;
    if (u.status != protocol::account_status::active)
      return self->kick(std::string(protocol::to_string(u.status)), close_code::suspended);
    self->role_ = u.role;
    self->restricted_ = u.restricted;
    self->restricted_until_ms_ = u.restricted_until_ms;
  });
}

void ws_client::enforce_min_version(const std::string& min) {
  asio::post(ex_, [self = shared_from_this(), min] {
    if (self->authed_ && protocol::version_below(self->client_version_, min))
      self->kick("client_too_old", close_code::too_old);
  });
}

}  // namespace switchboard::server
