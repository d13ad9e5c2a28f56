// One WebSocket connection's transport.
#include "server/net/ws_connection.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "protocol/close_codes.hpp"

namespace switchboard::server {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
namespace close_code = protocol::close_code;

namespace {
// A close handshake that has not finished in this time is cut at the TCP level. Longer than the
// 10 s a phone may stop reading while its app goes to the background: a client that resumes
// within that still receives the close frame (4429) that explains why it was dropped.
constexpr auto close_deadline = std::chrono::seconds(15);
// The most bytes one write gathers from the queue (a single larger frame still goes, alone).
constexpr std::size_t max_batch_bytes = 256 * 1024;
}  // namespace

ws_connection::ws_connection(stream&& ws, transport& net, std::shared_ptr<void> conn_slot,
                             std::shared_ptr<asio::ssl::context> tls)
    : tls_(std::move(tls)),
      ws_(std::move(ws)),
      ex_(lowest().get_executor()),
      net_(net),
      heartbeat_timer_(ex_),
      close_timer_(ex_),
      conn_slot_(std::move(conn_slot)) {
  net_.stats.ws_connections.fetch_add(1, std::memory_order_relaxed);
}

ws_connection::~ws_connection() {
  net_.stats.ws_connections.fetch_sub(1, std::memory_order_relaxed);
  net_.connections.remove(this);
  closing_started();
}

beast::tcp_stream& ws_connection::lowest() {
  return std::visit([](auto& w) -> beast::tcp_stream& { return beast::get_lowest_layer(w); }, ws_);
}

void ws_connection::run(beast::http::request<beast::http::string_body> req, std::shared_ptr<handler> h) {
  handler_ = std::move(h);
  deflate_ = net_.cfg.server.permessage_deflate;
  net_.connections.add(shared_from_this());
  std::visit(
      [&](auto& ws) {
        ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(30),
                                                      beast::websocket::stream_base::none(), false});
        ws.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(beast::http::field::server, "switchboard"); }));
        ws.read_message_max(static_cast<std::size_t>(net_.cfg.limits.max_frame_bytes));
        if (net_.cfg.server.permessage_deflate) {
          websocket::permessage_deflate pmd;
          pmd.server_enable = true;
          ws.set_option(pmd);
        }
        ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
          if (kind == websocket::frame_type::pong) unanswered_pings_ = 0;
        });
        ws.async_accept(req, beast::bind_front_handler(&ws_connection::on_accept, shared_from_this()));
      },
      ws_);
}

void ws_connection::on_accept(beast::error_code ec) {
  if (ec) return teardown();
  std::visit([](auto& ws) { ws.next_layer().frames_started(); }, ws_);
  handler_->on_open();
  start_heartbeat();
  do_read();
}

void ws_connection::start_heartbeat() {
  heartbeat_timer_.expires_after(std::chrono::seconds(net_.cfg.server.heartbeat_s));
  heartbeat_timer_.async_wait(beast::bind_front_handler(&ws_connection::on_heartbeat, shared_from_this()));
}

void ws_connection::on_heartbeat(beast::error_code ec) {
  if (ec || close_.frame_was_sent() || close_.has_read_ended()) return;
  if (unanswered_pings_ >= 2) {
    net_.log->debug("websocket connection: two pings unanswered, closing");
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

void ws_connection::do_read() {
  std::visit(
      [&](auto& ws) {
        ws.async_read(buffer_, beast::bind_front_handler(&ws_connection::on_read, shared_from_this()));
      },
      ws_);
}

void ws_connection::on_read(beast::error_code ec, std::size_t) {
  if (ec) {
    // Beast has already answered 1009 (too big) and 1007 (invalid UTF-8) with a close frame.
    if (ec == websocket::error::message_too_big) net_.stats.hit(limit::ws_frame_size);
    close_.read_ended();
    return teardown();
  }
  unanswered_pings_ = 0;
  if (!std::visit([](auto& ws) { return ws.got_text(); }, ws_)) {
    buffer_.consume(buffer_.size());
    close_.read_ended();
    return close_with(close_code::unsupported_data, "binary frames are not accepted");
  }
  auto data = buffer_.data();
  std::string_view text(static_cast<const char*>(data.data()), data.size());
  // Once a close is decided (flood, kick, failed hello), requests still arriving are not run:
  // the connection only reads on to see the peer's close.
  if (!closing()) handler_->on_text(text);
  buffer_.consume(buffer_.size());
  if (!close_.frame_was_sent()) do_read();
}

void ws_connection::close_for_shutdown() {
  asio::post(
      ex_, [self = shared_from_this()] { self->close_with(close_code::going_away, "server shutting down"); });
}

void ws_connection::send(frame_ptr frame) {
  if (closing()) return;
  out_bytes_ += frame->size();
  outq_.push_back(std::move(frame));
  if (out_bytes_ > static_cast<std::size_t>(net_.cfg.limits.outbound_queue_bytes)) {
    // Slow consumer: drop what it has not taken; it catches up with sync after reconnecting.
    while (outq_.size() > (writing_ ? batch_frames_ : 0u)) {
      out_bytes_ -= outq_.back()->size();
      outq_.pop_back();
    }
    net_.stats.hit(limit::slow_consumer);
    return close_with(close_code::slow_or_flood, "slow consumer");
  }
  if (!writing_) do_write();
}

void ws_connection::do_write() {
  if (outq_.empty()) {
    if (close_.frame_due(writing_, true)) do_close();
    return;
  }
  writing_ = true;
  if (deflate_) {
    batch_frames_ = 1;
    net_.stats.ws_batch(1);
    return std::visit(
        [&](auto& ws) {
          ws.text(true);
          ws.async_write(asio::buffer(*outq_.front()),
                         beast::bind_front_handler(&ws_connection::on_write, shared_from_this()));
        },
        ws_);
  }
  // Everything queued (up to max_batch_bytes) in one write: one system call, one TCP segment.
  std::size_t n = 0, bytes = 0;
  while (n < outq_.size() && (n == 0 || bytes + outq_[n]->size() <= max_batch_bytes)) {
    bytes += outq_[n]->size() + 10;
    ++n;
  }
  batch_.reserve(bytes);
  for (std::size_t i = 0; i < n; ++i) append_text_frame(batch_, *outq_[i]);
  batch_frames_ = n;
  net_.stats.ws_batch(n);
  std::visit(
      [&](auto& ws) {
        ws.next_layer().async_write_frames(
            asio::buffer(batch_), beast::bind_front_handler(&ws_connection::on_write, shared_from_this()));
      },
      ws_);
}

void ws_connection::on_write(beast::error_code ec, std::size_t) {
  writing_ = false;
  for (; batch_frames_ > 0 && !outq_.empty(); --batch_frames_) {
    out_bytes_ -= outq_.front()->size();
    outq_.pop_front();
  }
  batch_frames_ = 0;
  std::string().swap(batch_);  // an idle connection keeps no write buffer
  if (ec) return teardown();
  do_write();
}

void ws_connection::close_with(std::uint16_t code, const std::string& reason) {
  if (!close_.decide(code, reason)) return;
  if (code == close_code::slow_or_flood) net_.log->info("websocket connection: closing 4429: {}", reason);
  // The peer is gone as far as everyone else can tell: offline now, not when the socket ends.
  closing_started();
  close_timer_.expires_after(close_deadline);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
    if (!e) self->teardown();
  });
  if (!writing_) do_write();  // flushes the queue, then closes
}

void ws_connection::do_close() {
  close_.frame_sent();
  websocket::close_reason why(static_cast<websocket::close_code>(close_.code()), close_.reason());
  std::visit(
      [&](auto& ws) {
        ws.async_close(why, [self = shared_from_this()](beast::error_code) {
          // The read loop sees the peer's close (or our teardown) and ends the connection.
          if (self->close_.teardown_after_frame()) self->teardown();
        });
      },
      ws_);
}

void ws_connection::closing_started() {
  if (!handler_ || !close_.tell_handler()) return;
  try {
    handler_->on_closing();
  } catch (const std::exception& e) {
    net_.log->error("websocket connection: on_closing threw: {}", e.what());
  }
}

void ws_connection::teardown() {
  closing_started();
  if (!close_.tear_down()) return;
  heartbeat_timer_.cancel();
  close_timer_.cancel();
  beast::error_code ec;
  lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  lowest().socket().close(ec);
}

}  // namespace switchboard::server
