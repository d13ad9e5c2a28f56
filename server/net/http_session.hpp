// One HTTP/1.1 connection: reads requests with deadlines, routes them, writes one response at a time.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "server/net/connection_registry.hpp"
#include "server/net/http_handler.hpp"
#include "server/net/tls.hpp"
#include "server/net/transport.hpp"

namespace switchboard::server {

class http_session : public closable, public std::enable_shared_from_this<http_session> {
 public:
  // `conn_slot` holds this connection's place under server.max_connections_per_ip (may be null).
  // With `tls`, the connection speaks TLS with that context (https:// and wss://).
  http_session(boost::asio::ip::tcp::socket&& socket, transport& net, http_handler& handler,
               bool metrics_only, std::shared_ptr<void> conn_slot = nullptr,
               std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~http_session() override;

  void run();
  void close_for_shutdown() override;

 private:
  void on_handshake(boost::beast::error_code ec);
  void do_read();
  void on_header(boost::beast::error_code ec, std::size_t bytes);
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void upgrade(http_request req);
  void send(http_response res);
  void on_write(bool keep_alive, boost::beast::error_code ec, std::size_t bytes);
  void do_close();
  // Closes after a response that left a request body unread: stops sending, then reads and drops
  // what the client still sends for a moment, so that its TCP stack does not answer the unread
  // bytes with a reset that can destroy the response before the client reads it.
  void linger_close();
  void drain(std::shared_ptr<std::array<char, 16384>> sink);

  // An upload (POST /v1/media): the body goes to an upload_sink a chunk at a time.
  void start_upload();
  void on_upload_ready(std::shared_ptr<upload_sink> upload);
  void read_upload();
  void on_upload_read(boost::beast::error_code ec, std::size_t bytes);
  // GET /v1/media/{id}: the body is read from the media store a chunk at a time.
  void send_stream(streamed_response res);
  void stream_next(bool keep_alive);

  boost::beast::tcp_stream& lowest();
  std::variant<boost::beast::tcp_stream, tls_stream> stream_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // outlives the stream that uses it
  boost::asio::any_io_executor ex_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<http_response> response_;  // kept alive while async_write runs
  std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> upload_parser_;
  std::shared_ptr<upload_sink> upload_;
  std::shared_ptr<boost::beast::http::response<boost::beast::http::empty_body>> stream_head_;
  streamed_response streaming_;
  std::vector<char> chunk_;   // an upload's or download's chunk in flight (empty when none)
  bool body_unread_ = false;  // a request body was left unread: the connection cannot be reused
  transport& net_;
  http_handler& handler_;
  std::shared_ptr<void> conn_slot_;
  bool metrics_only_;
  bool busy_ = false;  // a request is being handled or its response written
  bool closing_ = false;
  boost::asio::ip::address remote_;
};

}  // namespace switchboard::server
