// One WebSocket connection, the transport only: the opening handshake, heartbeats, text frames in,
// one write in flight and a byte-bounded outbound queue, and the close. What the frames mean is
// its handler's business (server/api/ws/ws_client).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>

#include "server/net/connection_registry.hpp"
#include "server/net/frame_queue.hpp"
#include "server/net/gated_stream.hpp"
#include "server/net/tls.hpp"
#include "server/net/transport.hpp"
#include "server/net/ws_close_state.hpp"

namespace switchboard::server {

class ws_connection : public closable, public std::enable_shared_from_this<ws_connection> {
 public:
  // The WebSocket over plain TCP or over TLS.
  // Beneath Beast, the gate through which the connection writes its batches of frames.
  using stream = std::variant<boost::beast::websocket::stream<gated_stream<boost::beast::tcp_stream>>,
                              boost::beast::websocket::stream<gated_stream<tls_stream>>>;

  // What the frames mean. Called on the connection's strand only.
  class handler {
   public:
    virtual ~handler() = default;
    // The opening handshake is done: frames may come.
    virtual void on_open() = 0;
    // One text frame, in arrival order; not called once a close is decided.
    virtual void on_text(std::string_view text) = 0;
    // The connection is closing (a close was decided on either side, or it broke): nothing more
    // reaches the peer that is not already queued. Called exactly once.
    virtual void on_closing() = 0;
  };

  // `conn_slot`: the connection's place under server.max_connections_per_ip, held for its life;
  // `tls`: the TLS context the stream uses, kept alive as long as it.
  ws_connection(stream&& ws, transport& net, std::shared_ptr<void> conn_slot = nullptr,
                std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~ws_connection() override;

  // Answers the upgrade `req` and starts reading; `h` is kept for the connection's life.
  void run(boost::beast::http::request<boost::beast::http::string_body> req, std::shared_ptr<handler> h);
  boost::asio::any_io_executor executor() const { return ex_; }

  // On the strand. Queues one frame; over limits.outbound_queue_bytes the peer is a slow
  // consumer: what it has not taken is dropped and the connection closes with 4429.
  void send(frame_ptr frame);
  // On the strand. Closes with `code` after the frames already queued.
  void close_with(std::uint16_t code, const std::string& reason);
  // On the strand: a close is decided (nothing more may be queued).
  bool closing() const { return close_.closing(); }

  // closable (any thread)
  void close_for_shutdown() override;

 private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void do_close();
  void start_heartbeat();
  void on_heartbeat(boost::beast::error_code ec);
  void closing_started();
  void teardown();

  boost::beast::tcp_stream& lowest();
  std::shared_ptr<boost::asio::ssl::context> tls_;  // declared first: destroyed after ws_
  stream ws_;
  boost::asio::any_io_executor ex_;
  boost::beast::flat_buffer buffer_;
  transport& net_;
  std::shared_ptr<handler> handler_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer close_timer_;
  frame_queue outq_;
  std::size_t out_bytes_ = 0;
  std::string batch_;             // the frames of the write in flight, encoded; empty between writes
  std::size_t batch_frames_ = 0;  // how many of outq_'s frames the write in flight carries
  bool writing_ = false;
  bool deflate_ = false;  // permessage-deflate: Beast compresses and writes each frame itself
  ws_close_state close_;
  int unanswered_pings_ = 0;
  bool ping_in_flight_ = false;
  std::shared_ptr<void> conn_slot_;
};

}  // namespace switchboard::server
