// One WebSocket client session.
#include "server/ws_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "protocol/json_util.hpp"
#include "protocol/validate.hpp"
#include "server/correlation.hpp"
#include "server/ws_ops.hpp"

namespace switchboard::server {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {
// A close handshake that has not finished in this time is cut at the TCP level.
constexpr auto close_deadline = std::chrono::seconds(5);
// Requests refused for rate in a row before the connection counts as flooding (closed 4429).
constexpr int flood_strikes = 100;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

frame_ptr encode_error_reply(const boost::json::value& id, const protocol::error& e) {
  boost::json::object err{{"code", protocol::to_string(e.code)}, {"message", e.message}};
  if (e.retry_after_ms) err["retry_after_ms"] = *e.retry_after_ms;
  return std::make_shared<const std::string>(
      boost::json::serialize(boost::json::object{{"id", id}, {"ok", false}, {"error", std::move(err)}}));
}
}  // namespace

ws_session::ws_session(stream&& ws, app_context& ctx, std::shared_ptr<void> conn_slot,
                       std::shared_ptr<asio::ssl::context> tls)
    : tls_(std::move(tls)),
      ws_(std::move(ws)),
      ex_(lowest().get_executor()),
      ctx_(ctx),
      hello_timer_(ex_),
      heartbeat_timer_(ex_),
      close_timer_(ex_),
      tokens_(ctx.cfg.limits.request_burst),
      refilled_(clock::now()),
      conn_slot_(std::move(conn_slot)) {
  ctx_.stats.ws_connections.fetch_add(1, std::memory_order_relaxed);
}

ws_session::~ws_session() {
  ctx_.stats.ws_connections.fetch_sub(1, std::memory_order_relaxed);
  ctx_.connections.remove(this);
  if (registered_) {
    ctx_.presence.unsubscribe_all(this);
    if (ctx_.sessions.remove(this, user_)) ctx_.presence.went_offline(user_, now_ms());
  }
}

beast::tcp_stream& ws_session::lowest() {
  return std::visit([](auto& w) -> beast::tcp_stream& { return beast::get_lowest_layer(w); }, ws_);
}

void ws_session::run(http_request req) {
  ctx_.connections.add(shared_from_this());
  std::visit(
      [&](auto& ws) {
        ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(30),
                                                      beast::websocket::stream_base::none(), false});
        ws.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(beast::http::field::server, "switchboard"); }));
        ws.read_message_max(static_cast<std::size_t>(ctx_.cfg.limits.max_frame_bytes));
        if (ctx_.cfg.server.permessage_deflate) {
          websocket::permessage_deflate pmd;
          pmd.server_enable = true;
          ws.set_option(pmd);
        }
        ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
          if (kind == websocket::frame_type::pong) unanswered_pings_ = 0;
        });
        ws.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
      },
      ws_);
}

void ws_session::on_accept(beast::error_code ec) {
  if (ec) return teardown();
  hello_timer_.expires_after(std::chrono::milliseconds(ctx_.cfg.server.hello_timeout_ms));
  hello_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
    if (e || self->authed_ || self->closing_) return;
    self->ctx_.stats.hit(limit::hello_timeout);
    self->close_with(close_code::hello_timeout, "hello timeout");
  });
  start_heartbeat();
  do_read();
}

void ws_session::start_heartbeat() {
  heartbeat_timer_.expires_after(std::chrono::seconds(ctx_.cfg.server.heartbeat_s));
  heartbeat_timer_.async_wait(beast::bind_front_handler(&ws_session::on_heartbeat, shared_from_this()));
}

void ws_session::on_heartbeat(beast::error_code ec) {
  if (ec || closing_ || dead_) return;
  if (unanswered_pings_ >= 2) {
    ctx_.log->debug("websocket session {}: two pings unanswered, closing", session_id_);
    return teardown();
  }
  // A ping is a write: only one at a time, and the Beast stream interleaves it with message writes.
  if (!ping_in_flight_) {
    ping_in_flight_ = true;
    ++unanswered_pings_;
    std::visit(
        [&](auto& ws) {
          ws.async_ping({}, [self = shared_from_this()](beast::error_code e) {
            self->ping_in_flight_ = false;
            if (e) self->teardown();
          });
        },
        ws_);
  }
  start_heartbeat();
}

void ws_session::do_read() {
  std::visit(
      [&](auto& ws) {
        ws.async_read(buffer_, beast::bind_front_handler(&ws_session::on_read, shared_from_this()));
      },
      ws_);
}

void ws_session::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    // Beast has already answered 1009 (too big) and 1007 (invalid UTF-8) with a close frame.
    if (ec == websocket::error::message_too_big) ctx_.stats.hit(limit::ws_frame_size);
    dead_ = true;
    return teardown();
  }
  unanswered_pings_ = 0;
  if (!std::visit([](auto& ws) { return ws.got_text(); }, ws_)) {
    buffer_.consume(buffer_.size());
    dead_ = true;
    return close_with(close_code::unsupported_data, "binary frames are not accepted");
  }
  auto data = buffer_.data();
  std::string_view text(static_cast<const char*>(data.data()), data.size());
  // Once a close is decided (flood, kick, failed hello), requests still arriving are not run:
  // the session only reads on to see the peer's close.
  if (!pending_close_) handle_text(text);
  buffer_.consume(buffer_.size());
  if (!closing_) do_read();
}

bool ws_session::take_rate_token(std::int64_t& retry_after_ms) {
  auto now = clock::now();
  double rate = ctx_.cfg.limits.requests_per_second;
  double elapsed = std::chrono::duration<double>(now - refilled_).count();
  refilled_ = now;
  tokens_ = std::min<double>(ctx_.cfg.limits.request_burst, tokens_ + elapsed * rate);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  retry_after_ms = static_cast<std::int64_t>(std::ceil((1.0 - tokens_) / rate * 1000.0));
  return false;
}

void ws_session::handle_text(std::string_view text) {
  ws_request req{nullptr, "", clock::now()};
  auto parsed = protocol::parse_untrusted_json(text);
  if (!parsed) return reply(req, parsed.err());
  if (!parsed.value().is_object())
    return reply(req, protocol::error{protocol::error_code::bad_request, "a request must be a JSON object"});
  auto& obj = parsed.value().get_object();
  if (auto* id = obj.if_contains("id"); id && (id->is_string() || id->is_number())) req.id = *id;
  auto* op = obj.if_contains("op");
  if (!op || !op->is_string())
    return reply(req, protocol::error{protocol::error_code::bad_request, "op is required"});
  req.op = std::string(op->get_string());
  if (req.id.is_null())
    return reply(req, protocol::error{protocol::error_code::bad_request, "id is required"});
  boost::json::object empty;
  const boost::json::object* data = &empty;
  if (auto* d = obj.if_contains("data"); d && !d->is_null()) {
    if (!d->is_object())
      return reply(req, protocol::error{protocol::error_code::bad_request, "data must be an object"});
    data = &d->get_object();
  }
  if (!authed_) {
    if (req.op != "hello" || hello_pending_) {
      reply(req, protocol::error{protocol::error_code::unauthorized, "the first request must be hello"});
      return close_with(close_code::unauthorized, "hello required");
    }
    hello_pending_ = true;
    return ws_ops::hello(shared_from_this(), std::move(req), *data);
  }
  if (req.op == "hello")
    return reply(req, protocol::error{protocol::error_code::bad_request, "this session already said hello"});
  std::int64_t retry_after = 0;
  if (!take_rate_token(retry_after)) {
    ctx_.stats.hit(limit::request_rate);
    if (++rejected_in_row_ >= flood_strikes) {
      ctx_.stats.hit(limit::flood);
      reply(req, protocol::error{protocol::error_code::rate_limited, "flooding", retry_after});
      return close_with(close_code::slow_or_flood, "request flood");
    }
    return reply(
        req, protocol::error{protocol::error_code::rate_limited, "over the request rate limit", retry_after});
  }
  rejected_in_row_ = 0;
  ws_ops::dispatch(shared_from_this(), std::move(req), *data);
}

void ws_session::reply(const ws_request& req, protocol::result<boost::json::object> result) {
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - req.started);
  std::string_view op = req.op.empty() ? std::string_view("invalid") : std::string_view(req.op);
  if (result) {
    ctx_.stats.op(op).record(std::nullopt, took);
    send(std::make_shared<const std::string>(boost::json::serialize(
        boost::json::object{{"id", req.id}, {"ok", true}, {"data", std::move(result.value())}})));
  } else {
    ctx_.stats.op(op).record(result.err().code, took);
    send(encode_error_reply(req.id, result.err()));
  }
}

void ws_session::on_authenticated(const protocol::user& user, std::string token_hash, std::string device_id,
                                  std::string client_version) {
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
  // A new hello from the same device replaces the older session.
  for (auto& other : ctx_.sessions.sessions_of(user_))
    if (other->device_id() == device_id_) other->kick("replaced", close_code::normal);
  registered_ = true;
  if (ctx_.sessions.add(shared_from_this())) ctx_.presence.came_online(user_);
}

std::optional<protocol::error> ws_session::restricted(std::string_view feature) const {
  if (std::find(restricted_.begin(), restricted_.end(), feature) == restricted_.end()) return std::nullopt;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  if (restricted_until_ms_ && *restricted_until_ms_ <= now) return std::nullopt;  // lifted itself
  return protocol::error{protocol::error_code::forbidden,
                         "an admin restricted " + std::string(feature) + " for this account"};
}

void ws_session::account_changed(const protocol::user& u) {
  asio::post(ex_, [self = shared_from_this(), u] {
    if (!self->authed_) return;
    if (u.status != "active") return self->kick(u.status, close_code::suspended);
    self->role_ = u.role;
    self->restricted_ = u.restricted;
    self->restricted_until_ms_ = u.restricted_until_ms;
  });
}

void ws_session::enforce_min_version(const std::string& min) {
  asio::post(ex_, [self = shared_from_this(), min] {
    if (self->authed_ && protocol::version_below(self->client_version_, min))
      self->kick("client_too_old", close_code::too_old);
  });
}

void ws_session::deliver(frame_ptr frame) {
  asio::post(ex_, [self = shared_from_this(), f = std::move(frame)]() mutable {
    if (self->authed_) self->send(std::move(f));
  });
}

void ws_session::kick(const std::string& reason, std::uint16_t code) {
  asio::post(ex_, [self = shared_from_this(), reason, code] {
    if (self->closing_ || self->pending_close_) return;
    self->send(std::make_shared<const std::string>(boost::json::serialize(
        boost::json::object{{"ev", "kicked"}, {"data", boost::json::object{{"reason", reason}}}})));
    self->close_with(code, reason);
  });
}

void ws_session::close_for_shutdown() {
  asio::post(
      ex_, [self = shared_from_this()] { self->close_with(close_code::going_away, "server shutting down"); });
}

void ws_session::send(frame_ptr frame) {
  if (closing_ || pending_close_) return;
  out_bytes_ += frame->size();
  outq_.push_back(std::move(frame));
  if (out_bytes_ > static_cast<std::size_t>(ctx_.cfg.limits.outbound_queue_bytes)) {
    // Slow consumer: drop what it has not taken; it catches up with sync after reconnecting.
    while (outq_.size() > (writing_ ? 1u : 0u)) {
      out_bytes_ -= outq_.back()->size();
      outq_.pop_back();
    }
    ctx_.stats.hit(limit::slow_consumer);
    return close_with(close_code::slow_or_flood, "slow consumer");
  }
  if (!writing_) do_write();
}

void ws_session::do_write() {
  if (outq_.empty()) {
    if (pending_close_) do_close();
    return;
  }
  writing_ = true;
  std::visit(
      [&](auto& ws) {
        ws.text(true);
        ws.async_write(asio::buffer(*outq_.front()),
                       beast::bind_front_handler(&ws_session::on_write, shared_from_this()));
      },
      ws_);
}

void ws_session::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  if (!outq_.empty()) {
    out_bytes_ -= outq_.front()->size();
    outq_.pop_front();
  }
  if (ec) return teardown();
  do_write();
}

void ws_session::close_with(std::uint16_t code, const std::string& reason) {
  if (closing_ || pending_close_) return;
  if (code == close_code::slow_or_flood)
    ctx_.log->info("websocket session {} (user {}): closing 4429: {}", session_id_, user_, reason);
  pending_close_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
  close_timer_.expires_after(close_deadline);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
    if (!e) self->teardown();
  });
  if (!writing_) do_write();  // flushes the queue, then closes
}

void ws_session::do_close() {
  if (closing_) return;
  closing_ = true;
  std::visit(
      [&](auto& ws) {
        ws.async_close(*pending_close_, [self = shared_from_this()](beast::error_code) {
          // The read loop sees the peer's close (or our teardown) and ends the session.
          if (self->dead_) self->teardown();
        });
      },
      ws_);
}

void ws_session::teardown() {
  hello_timer_.cancel();
  heartbeat_timer_.cancel();
  close_timer_.cancel();
  beast::error_code ec;
  lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  lowest().socket().close(ec);
}

}  // namespace switchboard::server
