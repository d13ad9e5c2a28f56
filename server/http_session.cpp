// One HTTP/1.1 connection.
#include "server/http_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>

#include "server/ws_session.hpp"

namespace switchboard::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

namespace {
// A client must send a full request header within this time, so idle sockets cannot pile up.
constexpr auto request_header_timeout = std::chrono::seconds(30);
}  // namespace

http_session::http_session(asio::ip::tcp::socket&& socket, app_context& ctx, http_router& router,
                           bool metrics_only, std::shared_ptr<void> conn_slot)
    : stream_(std::move(socket)),
      ctx_(ctx),
      router_(router),
      conn_slot_(std::move(conn_slot)),
      metrics_only_(metrics_only) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = ep.address();
  ctx_.stats.http_connections.fetch_add(1, std::memory_order_relaxed);
}

http_session::~http_session() {
  ctx_.stats.http_connections.fetch_sub(1, std::memory_order_relaxed);
  ctx_.connections.remove(this);
}

void http_session::run() {
  ctx_.connections.add(shared_from_this());
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&http_session::do_read, shared_from_this()));
}

void http_session::close_for_shutdown() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    if (!self->busy_) self->do_close();  // otherwise closed after the response in flight
  });
}

void http_session::do_read() {
  if (closing_) return do_close();
  parser_.emplace();
  parser_->body_limit(static_cast<std::uint64_t>(ctx_.cfg.limits.max_body_bytes));
  parser_->header_limit(16 * 1024);
  stream_.expires_after(std::min<std::chrono::seconds>(
      request_header_timeout, std::chrono::seconds(ctx_.cfg.server.http_idle_timeout_s)));
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec == beast::error::timeout && !parser_->got_some()) return do_close();  // idle keep-alive
  if (ec == beast::error::timeout) {
    ctx_.stats.hit(limit::http_timeout);  // a request begun and not finished in time (slowloris)
    return do_close();
  }
  if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted) return do_close();
  if (ec == http::error::header_limit) {
    ctx_.stats.hit(limit::http_header_size);
    busy_ = true;
    closing_ = true;
    http_request req;
    req.version(11);
    return send(make_error_response(req, {protocol::error_code::too_large, "request headers over 16 KiB"}));
  }
  if (ec == http::error::body_limit) {
    ctx_.stats.hit(limit::http_body_size);
    busy_ = true;
    closing_ = true;  // the rest of the body is unread: the connection cannot be reused
    http_request req;
    req.version(11);
    return send(make_error_response(
        req, {protocol::error_code::too_large, "request body over limits.max_body_bytes"}));
  }
  if (ec) {
    if (ec != asio::error::connection_reset && ec != asio::error::eof)
      ctx_.log->debug("http read from {}: {}", remote_.to_string(), ec.message());
    if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::partial_message) {  // malformed request: answer 400
      busy_ = true;
      closing_ = true;
      http_request req;
      req.version(11);
      return send(make_error_response(req, {protocol::error_code::bad_request, "malformed HTTP request"}));
    }
    return do_close();
  }
  busy_ = true;
  stream_.expires_never();  // the handler may wait on the database; it owns the deadline now
  auto req = parser_->release();
  if (beast::websocket::is_upgrade(req)) return upgrade(std::move(req));
  auto self = shared_from_this();
  router_.route(std::move(req), remote_, metrics_only_, stream_.get_executor(), [self](http_response res) {
    asio::post(self->stream_.get_executor(),
               [self, r = std::move(res)]() mutable { self->send(std::move(r)); });
  });
}

void http_session::upgrade(http_request req) {
  std::string_view target(req.target().data(), req.target().size());
  if (metrics_only_ || target.substr(0, target.find('?')) != "/v1/ws")
    return send(make_error_response(req, {protocol::error_code::not_found, "no WebSocket endpoint here"}));
  const auto& allowed = ctx_.cfg.server.allowed_origins;
  auto origin = req.find(http::field::origin);
  if (!allowed.empty() && origin != req.end() &&
      std::find(allowed.begin(), allowed.end(), std::string(origin->value())) == allowed.end()) {
    ctx_.stats.hit(limit::origin);
    closing_ = true;
    return send(make_error_response(req, {protocol::error_code::forbidden, "origin not allowed"}));
  }
  ctx_.connections.remove(this);
  std::make_shared<ws_session>(stream_.release_socket(), ctx_, std::move(conn_slot_))->run(std::move(req));
}

void http_session::send(http_response res) {
  if (closing_) res.keep_alive(false);
  bool keep_alive = res.keep_alive();
  response_ = std::make_shared<http_response>(std::move(res));
  stream_.expires_after(std::chrono::seconds(30));
  http::async_write(stream_, *response_,
                    beast::bind_front_handler(&http_session::on_write, shared_from_this(), keep_alive));
}

void http_session::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  busy_ = false;
  response_.reset();
  if (ec) return do_close();
  if (!keep_alive || closing_) return do_close();
  do_read();
}

void http_session::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream_.socket().close(ec);
}

}  // namespace switchboard::server
