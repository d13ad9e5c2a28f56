// One WebSocket connection's transport.
#include "server/net/ws_connection.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "protocol/close_codes.hpp"

namespace switchboard::server {

namespace beast = boost::beast;
namespace asio = boost::asio;
namespace close_code = protocol::close_code;
using tcp = asio::ip::tcp;

namespace {
// A close handshake that has not finished in this time is cut at the TCP level. Longer than the
// 10 s a phone may stop reading while its app goes to the background: a client that resumes
// within that still receives the close frame (4429) that explains why it was dropped.
constexpr auto close_deadline = std::chrono::seconds(15);
// The most bytes one write gathers from the queue (a single larger frame still goes, alone).
constexpr std::size_t max_batch_bytes = 256 * 1024;
// What one read takes from a plain socket, into the buffer the thread's connections share; a
// readable socket is read at most this many times before the others get their turn.
constexpr std::size_t scratch_bytes = 64 * 1024;
constexpr int reads_per_turn = 4;
// A TLS connection decrypts into a buffer of its own (OpenSSL holds the records anyway).
constexpr std::size_t tls_read_bytes = 16 * 1024;
// Smaller messages go uncompressed even when compression was agreed (RFC 7692 allows either per
// message): below this deflate saves nothing worth its CPU.
constexpr std::size_t min_deflate_bytes = 128;

// A message compressed on its own (no context takeover) is the same bytes for every recipient: a
// fan-out frame is deflated once per run of recipients on a thread, not once per recipient. The
// last frame is kept (alive, so its address cannot be reused) with its compressed form.
const std::string& deflated(const frame_ptr& frame, int window_bits) {
  thread_local struct {
    frame_ptr frame;
    int bits = 0;
    std::string packed;
  } last;
  if (last.frame != frame || last.bits != window_bits) {
    last.frame = frame;
    last.bits = window_bits;
    last.packed.clear();
    protocol::deflate_message(*frame, window_bits, last.packed);
  }
  return last.packed;
}

char* scratch() {
  thread_local std::unique_ptr<char[]> buf(new char[scratch_bytes]);
  return buf.get();
}
}  // namespace

ws_connection::ws_connection(stream&& s, transport& net, ws_handshake hs, std::shared_ptr<void> conn_slot,
                             std::shared_ptr<asio::ssl::context> tls)
    : tls_(std::move(tls)),
      s_(std::move(s)),
      ex_(socket().get_executor()),
      net_(net),
      heartbeat_timer_(ex_),
      close_timer_(ex_),
      decoder_(static_cast<std::size_t>(net.cfg.limits.max_frame_bytes), hs.deflate_bits != 0),
      batch_(std::move(hs.response)),
      deflate_bits_(hs.deflate_bits),
      conn_slot_(std::move(conn_slot)) {
  net_.stats.ws_connections.fetch_add(1, std::memory_order_relaxed);
}

ws_connection::~ws_connection() {
  net_.stats.ws_connections.fetch_sub(1, std::memory_order_relaxed);
  net_.connections.remove(this);
  closing_started();
}

tcp::socket& ws_connection::socket() {
  if (auto* plain = std::get_if<tcp::socket>(&s_)) return *plain;
  return beast::get_lowest_layer(std::get<tls_stream>(s_)).socket();
}

void ws_connection::run(std::shared_ptr<handler> h) {
  handler_ = std::move(h);
  net_.connections.add(shared_from_this());
  beast::error_code ec;
  socket().non_blocking(true, ec);  // reads after a readiness wait must not block
  writing_ = true;
  auto done = beast::bind_front_handler(&ws_connection::on_handshake_written, shared_from_this());
  std::visit([&](auto& s) { asio::async_write(s, asio::buffer(batch_), std::move(done)); }, s_);
}

void ws_connection::on_handshake_written(beast::error_code ec, std::size_t) {
  writing_ = false;
  std::string().swap(batch_);
  if (ec) return teardown();
  handler_->on_open();
  start_heartbeat();
  do_read();
  do_write();  // whatever on_open queued
}

void ws_connection::start_heartbeat() {
  heartbeat_timer_.expires_after(std::chrono::seconds(net_.cfg.server.heartbeat_s));
  heartbeat_timer_.async_wait(beast::bind_front_handler(&ws_connection::on_heartbeat, shared_from_this()));
}

void ws_connection::on_heartbeat(beast::error_code ec) {
  if (ec || close_.frame_was_sent() || close_.has_read_ended()) return;
  // Anything read from the peer counts as an answer (decode resets the count).
  if (unanswered_pings_ >= 2) {
    net_.log->debug("websocket connection: two pings unanswered, closing");
    return teardown();
  }
  ++unanswered_pings_;
  ping_due_ = true;
  do_write();
  start_heartbeat();
}

void ws_connection::do_read() {
  if (auto* plain = std::get_if<tcp::socket>(&s_)) {
    return plain->async_wait(tcp::socket::wait_read,
                             beast::bind_front_handler(&ws_connection::on_readable, shared_from_this()));
  }
  if (!tls_read_) tls_read_ = std::make_unique<char[]>(tls_read_bytes);
  std::get<tls_stream>(s_).async_read_some(
      asio::buffer(tls_read_.get(), tls_read_bytes),
      beast::bind_front_handler(&ws_connection::on_tls_read, shared_from_this()));
}

void ws_connection::on_readable(beast::error_code ec) {
  if (ec) return read_ended();
  auto& sock = std::get<tcp::socket>(s_);
  char* buf = scratch();
  for (int i = 0; i < reads_per_turn; ++i) {
    std::size_t n = sock.read_some(asio::buffer(buf, scratch_bytes), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) return read_ended();  // the peer's end of stream, or a broken connection
    decode(buf, n);
    if (decoder_.done() || close_.has_read_ended()) return;
    if (n < scratch_bytes) break;  // drained: wait for more rather than read again for nothing
  }
  do_read();
}

void ws_connection::on_tls_read(beast::error_code ec, std::size_t n) {
  if (ec) return read_ended();
  decode(tls_read_.get(), n);
  if (decoder_.done() || close_.has_read_ended()) return;
  do_read();
}

void ws_connection::decode(char* data, std::size_t n) {
  unanswered_pings_ = 0;  // the peer is there
  decoder_.feed(data, n, *this);
}

void ws_connection::read_ended() {
  close_.read_ended();
  teardown();
}

void ws_connection::on_text(std::string_view text) {
  // Once a close is decided (flood, kick, failed hello), requests still arriving are not run:
  // the connection only reads on to see the peer's close.
  if (!closing()) handler_->on_text(text);
}

void ws_connection::on_ping(std::string_view payload) {
  if (close_.frame_was_sent()) return;           // nothing may follow our close frame
  pong_.assign(payload.data(), payload.size());  // only the last ping needs its pong (§5.5.3)
  pong_due_ = true;
  do_write();
}

void ws_connection::on_close(std::uint16_t code, std::string_view) {
  // The peer's close: answered with its code after what is already queued (or, when ours went
  // first, the handshake is complete). Either way the connection ends once our frame is out.
  if (close_.frame_was_sent()) return read_ended();
  close_with(code, "");
  close_.read_ended();
  if (!close_.frame_was_sent() && !writing_) teardown();  // (torn down already: nothing to do)
}

void ws_connection::on_error(std::uint16_t code, std::string_view reason) {
  if (code == close_code::too_big) net_.stats.hit(limit::ws_frame_size);
  close_with(code, std::string(reason));
  // The connection is failed (RFC 6455 §7.1.7): nothing more is read; it ends once the close
  // frame is written.
  close_.read_ended();
  if (!close_.frame_was_sent() && !writing_) teardown();
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
  do_write();
}

void ws_connection::do_write() {
  if (writing_ || close_.frame_was_sent() || !handler_) return;
  std::size_t frames = 0;
  // Control frames first: a pong is owed, a ping keeps the peer honest.
  if (pong_due_) {
    protocol::append_frame(batch_, 0xA, pong_);
    std::string().swap(pong_);
    pong_due_ = false;
    ++frames;
  }
  if (ping_due_) {
    protocol::append_frame(batch_, 0x9, {});
    ping_due_ = false;
    ++frames;
  }
  // Everything queued (up to max_batch_bytes) in one write: one system call, one TCP segment.
  std::size_t n = 0, bytes = 0;
  while (n < outq_.size() && (n == 0 || bytes + outq_[n]->size() <= max_batch_bytes)) {
    bytes += outq_[n]->size() + 10;
    ++n;
  }
  batch_.reserve(batch_.size() + bytes);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& payload = *outq_[i];
    if (deflate_bits_ != 0 && payload.size() >= min_deflate_bytes) {
      protocol::append_frame(batch_, 0x1, deflated(outq_[i], deflate_bits_), true);
    } else {
      protocol::append_text_frame(batch_, payload);
    }
  }
  frames += n;
  // The close frame follows the last queued frame, in the same write.
  const bool closes = n == outq_.size() && close_.frame_due(false, true);
  if (closes) {
    protocol::append_close_frame(batch_, close_.code(), close_.reason());
    close_.frame_sent();
    ++frames;
  }
  if (batch_.empty()) return;
  writing_ = true;
  batch_frames_ = n;
  close_in_batch_ = closes;
  net_.stats.ws_batch(frames);
  auto done = beast::bind_front_handler(&ws_connection::on_write, shared_from_this());
  std::visit([&](auto& s) { asio::async_write(s, asio::buffer(batch_), std::move(done)); }, s_);
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
  if (close_in_batch_) {
    close_in_batch_ = false;
    // The peer's close came first (or it broke the protocol): done. Else its answer, or the
    // deadline, ends the connection.
    if (close_.teardown_after_frame()) teardown();
    return;
  }
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
  do_write();  // flushes the queue, then closes
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
  socket().shutdown(tcp::socket::shutdown_both, ec);
  socket().close(ec);
}

}  // namespace switchboard::server
