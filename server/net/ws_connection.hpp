// One WebSocket connection, the transport only: frames in and out (RFC 6455, our own codec in
// protocol/ws_frames.hpp), heartbeats, one write in flight and a byte-bounded outbound queue, and
// the close. What the frames mean is its handler's business (server/api/ws/ws_client).
//
// Reading: over plain TCP the connection waits for the socket to be readable and then reads into
// a buffer its thread shares, so an idle connection holds no read buffer; frames whole in what
// was read are handed on without a copy. Writing: every frame queued when a write starts (up to
// 256 KiB), with any pong or ping due first, goes out in one write.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/ws_frames.hpp"
#include "server/net/connection_registry.hpp"
#include "server/net/frame_queue.hpp"
#include "server/net/tls.hpp"
#include "server/net/transport.hpp"
#include "server/net/ws_close_state.hpp"
#include "server/net/ws_handshake.hpp"

namespace switchboard::server {

class ws_connection : public closable,
                      public std::enable_shared_from_this<ws_connection>,
                      private protocol::ws_decoder::events {
 public:
  // Plain TCP, or TLS over TCP.
  using stream = std::variant<boost::asio::ip::tcp::socket, tls_stream>;

  // What the frames mean. Called on the connection's strand only.
  class handler {
   public:
    virtual ~handler() = default;
    // The opening handshake is done: frames may come.
    virtual void on_open() = 0;
    // One text message, in arrival order; not called once a close is decided.
    virtual void on_text(std::string_view text) = 0;
    // The connection is closing (a close was decided on either side, or it broke): nothing more
    // reaches the peer that is not already queued. Called exactly once.
    virtual void on_closing() = 0;
  };

  // `hs`: the accepted handshake (answer_upgrade); `conn_slot`: the connection's place under
  // server.max_connections_per_ip, held for its life; `tls`: the TLS context the stream uses,
  // kept alive as long as it.
  ws_connection(stream&& s, transport& net, ws_handshake hs, std::shared_ptr<void> conn_slot = nullptr,
                std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~ws_connection() override;

  // Sends the handshake's answer and starts reading; `h` is kept for the connection's life.
  void run(std::shared_ptr<handler> h);
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
  // protocol::ws_decoder::events
  void on_text(std::string_view text) override;
  void on_ping(std::string_view payload) override;
  void on_pong() override {}
  void on_close(std::uint16_t code, std::string_view reason) override;
  void on_error(std::uint16_t code, std::string_view reason) override;

  void on_handshake_written(boost::beast::error_code ec, std::size_t);
  void do_read();
  void on_readable(boost::beast::error_code ec);
  void on_tls_read(boost::beast::error_code ec, std::size_t n);
  void decode(char* data, std::size_t n);
  void read_ended();
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void start_heartbeat();
  void on_heartbeat(boost::beast::error_code ec);
  void closing_started();
  void teardown();

  boost::asio::ip::tcp::socket& socket();
  std::shared_ptr<boost::asio::ssl::context> tls_;  // declared first: destroyed after s_
  stream s_;
  boost::asio::any_io_executor ex_;
  transport& net_;
  std::shared_ptr<handler> handler_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer close_timer_;
  protocol::ws_decoder decoder_;
  std::unique_ptr<char[]> tls_read_;  // TLS only: where records are decrypted to
  frame_queue outq_;
  std::size_t out_bytes_ = 0;
  std::string batch_;             // the write in flight, encoded (first the handshake's answer); else empty
  std::string pong_;              // the payload of the last ping, while its pong is due
  std::size_t batch_frames_ = 0;  // how many of outq_'s frames the write in flight carries
  int deflate_bits_;              // permessage-deflate agreed: the server's window bits; else 0
  int unanswered_pings_ = 0;
  bool writing_ = false;
  bool pong_due_ = false;
  bool ping_due_ = false;
  bool close_in_batch_ = false;  // the write in flight ends with the close frame
  ws_close_state close_;
  std::shared_ptr<void> conn_slot_;
};

}  // namespace switchboard::server
