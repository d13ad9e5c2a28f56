// One HTTP/1.1 connection.
#include "server/net/http_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "server/net/ws_connection.hpp"

namespace switchboard::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

namespace {
// A client must send a full request header within this time, so idle sockets cannot pile up.
constexpr auto request_header_timeout = std::chrono::seconds(30);
// The TLS handshake must finish within this time.
constexpr auto tls_handshake_timeout = std::chrono::seconds(10);
// Each chunk of an upload's body must arrive, and each chunk of a download be taken, within this.
constexpr auto transfer_timeout = std::chrono::seconds(30);
// After refusing a request whose body is unread, what the client still sends is read and dropped
// for this long before the socket closes (linger_close).
constexpr auto linger_timeout = std::chrono::seconds(2);
// Media moves through the session in chunks of this size, one in flight per connection.
constexpr std::size_t transfer_chunk_bytes = 128 * 1024;
// A body larger than this is read through a read buffer of read_buffer_bytes.
constexpr std::uint64_t large_body_bytes = 4096;
constexpr std::size_t read_buffer_bytes = 64 * 1024;

std::variant<beast::tcp_stream, tls_stream> make_stream(asio::ip::tcp::socket&& socket,
                                                        const std::shared_ptr<asio::ssl::context>& tls) {
  if (tls)
    return std::variant<beast::tcp_stream, tls_stream>(std::in_place_type<tls_stream>, std::move(socket),
                                                       *tls);
  return std::variant<beast::tcp_stream, tls_stream>(std::in_place_type<beast::tcp_stream>,
                                                     std::move(socket));
}
}  // namespace

http_session::http_session(asio::ip::tcp::socket&& socket, transport& net, http_handler& handler,
                           bool metrics_only, std::shared_ptr<void> conn_slot,
                           std::shared_ptr<asio::ssl::context> tls)
    : stream_(make_stream(std::move(socket), tls)),
      tls_(std::move(tls)),
      ex_(lowest().get_executor()),
      net_(net),
      handler_(handler),
      conn_slot_(std::move(conn_slot)),
      metrics_only_(metrics_only) {
  beast::error_code ec;
  auto ep = lowest().socket().remote_endpoint(ec);
  if (!ec) remote_ = ep.address();
  net_.stats.http_connections.fetch_add(1, std::memory_order_relaxed);
}

http_session::~http_session() {
  net_.stats.http_connections.fetch_sub(1, std::memory_order_relaxed);
  net_.connections.remove(this);
}

void http_session::run() {
  net_.connections.add(shared_from_this());
  if (auto* tls = std::get_if<tls_stream>(&stream_)) {
    lowest().expires_after(tls_handshake_timeout);
    return tls->async_handshake(asio::ssl::stream_base::server,
                                beast::bind_front_handler(&http_session::on_handshake, shared_from_this()));
  }
  asio::dispatch(ex_, beast::bind_front_handler(&http_session::do_read, shared_from_this()));
}

beast::tcp_stream& http_session::lowest() {
  return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); }, stream_);
}

void http_session::on_handshake(beast::error_code ec) {
  if (ec) {
    if (ec == beast::error::timeout) net_.stats.hit(limit::http_timeout);
    net_.log->debug("TLS handshake with {} failed: {}", remote_.to_string(), ec.message());
    beast::error_code ignored;
    lowest().socket().close(ignored);
    return;
  }
  do_read();
}

void http_session::close_for_shutdown() {
  asio::post(ex_, [self = shared_from_this()] {
    self->closing_ = true;
    if (!self->busy_) self->do_close();  // otherwise closed after the response in flight
  });
}

void http_session::do_read() {
  if (closing_) return do_close();
  // A keep-alive connection between requests holds no more than a small buffer.
  if (buffer_.size() == 0 && buffer_.capacity() > 4096) buffer_.shrink_to_fit();
  parser_.emplace();
  // No body limit while the header is read: Beast checks a Content-Length against the limit when
  // the header completes, before on_header could pick the route's own limit (see there).
  parser_->body_limit(boost::none);
  parser_->header_limit(16 * 1024);
  lowest().expires_after(std::min<std::chrono::seconds>(
      request_header_timeout, std::chrono::seconds(net_.cfg.server.http_idle_timeout_s)));
  std::visit(
      [&](auto& s) {
        http::async_read_header(s, buffer_, *parser_,
                                beast::bind_front_handler(&http_session::on_header, shared_from_this()));
      },
      stream_);
}

// The header is in: routes that take bigger bodies raise the limit before the body is read.
void http_session::on_header(beast::error_code ec, std::size_t bytes) {
  if (ec) return on_read(ec, bytes);
  const auto& req = parser_->get();
  // Beast reads as much as the buffer has room for: the header left it at 512 bytes, which would
  // read a large body 512 bytes per system call (measured: 50 MiB uploads at 54 MiB/s).
  auto declared = parser_->content_length();
  if (parser_->chunked() || (declared && *declared > large_body_bytes)) buffer_.reserve(read_buffer_bytes);
  // Uploads check their length against their type's limit (the upload_sink's).
  auto plan = handler_.plan_body(req, metrics_only_);
  if (plan.upload) return start_upload();
  auto limit = plan.limit;
  // A declared length is checked here, once (Beast checks it only as the header completes); a
  // chunked body is counted against the limit as it arrives.
  if (declared && *declared > limit) return on_read(http::error::body_limit, bytes);
  parser_->body_limit(limit);
  if (parser_->is_done()) return on_read(ec, bytes);
  std::visit(
      [&](auto& s) {
        http::async_read(s, buffer_, *parser_,
                         beast::bind_front_handler(&http_session::on_read, shared_from_this()));
      },
      stream_);
}

void http_session::on_read(beast::error_code ec, std::size_t) {
  if (ec == beast::error::timeout && !parser_->got_some()) return do_close();  // idle keep-alive
  if (ec == beast::error::timeout) {
    net_.stats.hit(limit::http_timeout);  // a request begun and not finished in time (slowloris)
    return do_close();
  }
  if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted) return do_close();
  if (ec == http::error::header_limit) {
    net_.stats.hit(limit::http_header_size);
    busy_ = true;
    closing_ = true;
    http_request req;
    req.version(11);
    return send(make_error_response(req, {protocol::error_code::too_large, "request headers over 16 KiB"}));
  }
  if (ec == http::error::body_limit) {
    net_.stats.hit(limit::http_body_size);
    busy_ = true;
    body_unread_ = true;  // the connection cannot be reused, and closes lingering
    http_request req;
    req.version(11);
    return send(make_error_response(
        req, {protocol::error_code::too_large,
              "request body over its limit (limits.max_body_bytes; imports: limits.max_import_bytes)"}));
  }
  if (ec) {
    if (ec != asio::error::connection_reset && ec != asio::error::eof)
      net_.log->debug("http read from {}: {}", remote_.to_string(), ec.message());
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
  lowest().expires_never();  // the handler may wait on the database; it owns the deadline now
  auto req = parser_->release();
  if (beast::websocket::is_upgrade(req)) return upgrade(std::move(req));
  auto self = shared_from_this();
  handler_.route(
      std::move(req), remote_, metrics_only_, ex_,
      [self](http_response res) {
        asio::post(self->ex_, [self, r = std::move(res)]() mutable { self->send(std::move(r)); });
      },
      [self](streamed_response res) {
        asio::post(self->ex_, [self, r = std::move(res)]() mutable { self->send_stream(std::move(r)); });
      });
}

void http_session::start_upload() {
  busy_ = true;
  body_unread_ = true;
  lowest().expires_never();  // the checks may wait on the database
  http_request head(parser_->get().base());
  auto self = shared_from_this();
  handler_.begin_upload(
      std::move(head), remote_, ex_,
      [self](http_response res) {
        asio::post(self->ex_, [self, r = std::move(res)]() mutable {
          self->upload_.reset();  // (it holds the call, which holds this session)
          self->upload_parser_.reset();
          self->send(std::move(r));
        });
      },
      [self](std::shared_ptr<upload_sink> u) { self->on_upload_ready(std::move(u)); });
}

void http_session::on_upload_ready(std::shared_ptr<upload_sink> upload) {
  upload_ = std::move(upload);
  upload_parser_.emplace(std::move(*parser_));
  parser_.reset();
  upload_parser_->body_limit(upload_->body_limit());
  chunk_.resize(transfer_chunk_bytes);
  const auto& h = upload_parser_->get();
  auto expect = h.find(http::field::expect);
  if (expect != h.end() && beast::iequals(expect->value(), "100-continue") && !upload_parser_->is_done()) {
    // The client waits for this before sending the body: only now, after the checks passed.
    static const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
    lowest().expires_after(transfer_timeout);
    return std::visit(
        [&](auto& s) {
          asio::async_write(s, asio::buffer(continue_line),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec) return self->read_upload();
                              self->upload_.reset();
                              self->do_close();
                            });
        },
        stream_);
  }
  read_upload();
}

void http_session::read_upload() {
  if (upload_parser_->is_done()) {
    body_unread_ = false;
    auto u = std::move(upload_);
    upload_parser_.reset();
    chunk_ = {};
    return u->finish();  // answers through the call
  }
  auto& body = upload_parser_->get().body();
  body.data = chunk_.data();
  body.size = chunk_.size();
  lowest().expires_after(transfer_timeout);
  std::visit(
      [&](auto& s) {
        http::async_read(s, buffer_, *upload_parser_,
                         beast::bind_front_handler(&http_session::on_upload_read, shared_from_this()));
      },
      stream_);
}

void http_session::on_upload_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::need_buffer) ec = {};  // the chunk is full
  if (ec == http::error::body_limit) {
    net_.stats.hit(limit::http_body_size);
    auto u = upload_;
    return u->refuse(
        {protocol::error_code::too_large,
         "the upload is over " + std::to_string(u->body_limit()) + " bytes, the limit for its type"});
  }
  if (ec) {
    if (ec == beast::error::timeout) net_.stats.hit(limit::http_timeout);
    net_.log->debug("upload from {} cut short: {}", remote_.to_string(), ec.message());
    upload_.reset();  // what was written is discarded
    upload_parser_.reset();
    chunk_ = {};
    body_unread_ = false;
    return do_close();
  }
  auto got = chunk_.size() - upload_parser_->get().body().size;
  if (got == 0) return read_upload();
  lowest().expires_never();  // the disk has the chunk now; the next read sets its own deadline
  upload_->write(chunk_.data(), got, [self = shared_from_this()](bool go) {
    if (go) self->read_upload();  // else the refusal is on its way (the upload answered the call)
  });
}

void http_session::send_stream(streamed_response res) {
  if (closing_) res.head.keep_alive(false);
  bool keep_alive = res.head.keep_alive();
  stream_head_ = std::make_shared<http::response<http::empty_body>>(std::move(res.head.base()));
  streaming_ = std::move(res);
  lowest().expires_after(transfer_timeout);
  std::visit(
      [&](auto& s) {
        http::async_write(s, *stream_head_,
                          [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t n) {
                            self->stream_head_.reset();
                            if (ec || !self->streaming_.reader || self->streaming_.length == 0) {
                              self->streaming_ = {};
                              return self->on_write(keep_alive, ec, n);
                            }
                            self->chunk_.resize(transfer_chunk_bytes);
                            self->stream_next(keep_alive);
                          });
      },
      stream_);
}

void http_session::stream_next(bool keep_alive) {
  auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_.size(), streaming_.length));
  asio::post(net_.files, [self = shared_from_this(), n, keep_alive] {
    std::size_t got = 0;
    try {
      got = self->streaming_.reader->read(self->streaming_.offset, self->chunk_.data(), n);
    } catch (const std::exception& e) {
      self->net_.log->error("media read: {}", e.what());
    }
    asio::post(self->ex_, [self, got, keep_alive] {
      if (got == 0) {  // the object is shorter than it was: the client sees a short body and a close
        self->net_.log->error("media object ended {} bytes early", self->streaming_.length);
        self->streaming_ = {};
        self->chunk_ = {};
        self->busy_ = false;
        return self->do_close();
      }
      self->lowest().expires_after(transfer_timeout);
      std::visit(
          [&](auto& s) {
            asio::async_write(s, asio::buffer(self->chunk_.data(), got),
                              [self, keep_alive](beast::error_code ec, std::size_t written) {
                                auto& st = self->streaming_;
                                st.offset += written;
                                st.length -= written;
                                if (ec || st.length == 0) {
                                  // The reader closes its file on a file thread.
                                  asio::post(self->net_.files, [r = std::move(st.reader)] {});
                                  st = {};
                                  self->chunk_ = {};
                                  return self->on_write(keep_alive, ec, written);
                                }
                                self->stream_next(keep_alive);
                              });
          },
          self->stream_);
    });
  });
}

void http_session::upgrade(http_request req) {
  if (!handler_.is_websocket_endpoint(req, metrics_only_))
    return send(make_error_response(req, {protocol::error_code::not_found, "no WebSocket endpoint here"}));
  const auto& allowed = net_.cfg.server.allowed_origins;
  auto origin = req.find(http::field::origin);
  if (!allowed.empty() && origin != req.end() &&
      std::find(allowed.begin(), allowed.end(), std::string(origin->value())) == allowed.end()) {
    net_.stats.hit(limit::origin);
    closing_ = true;
    return send(make_error_response(req, {protocol::error_code::forbidden, "origin not allowed"}));
  }
  auto hs = answer_upgrade(req, net_.cfg.server.permessage_deflate);
  if (!hs.accepted) {
    closing_ = true;
    auto res = make_error_response(req, hs.refusal);
    if (hs.refusal.code == protocol::error_code::upgrade_required)
      res.set(http::field::sec_websocket_version, "13");
    return send(std::move(res));
  }
  net_.connections.remove(this);
  lowest().expires_never();
  // From here the WebSocket has the socket: plain TCP without Beast's timeouts (the connection
  // keeps its own), or the TLS stream as it is.
  ws_connection::stream ws = std::visit(
      [](auto& s) -> ws_connection::stream {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, beast::tcp_stream>)
          return ws_connection::stream(std::in_place_type<asio::ip::tcp::socket>, s.release_socket());
        else
          return ws_connection::stream(std::in_place_type<tls_stream>, std::move(s));
      },
      stream_);
  handler_.upgrade(std::move(req), std::make_shared<ws_connection>(std::move(ws), net_, std::move(hs),
                                                                   std::move(conn_slot_), tls_));
}

void http_session::send(http_response res) {
  if (body_unread_) closing_ = true;
  if (closing_) res.keep_alive(false);
  bool keep_alive = res.keep_alive();
  response_ = std::make_shared<http_response>(std::move(res));
  lowest().expires_after(std::chrono::seconds(30));
  std::visit(
      [&](auto& s) {
        http::async_write(s, *response_,
                          beast::bind_front_handler(&http_session::on_write, shared_from_this(), keep_alive));
      },
      stream_);
}

void http_session::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  busy_ = false;
  response_.reset();
  if (ec) return do_close();
  if (!keep_alive || closing_) return do_close();
  do_read();
}

void http_session::do_close() {
  if (body_unread_) return linger_close();
  if (auto* tls = std::get_if<tls_stream>(&stream_)) {
    // close_notify, then the socket; a peer that does not answer gets 5 s.
    lowest().expires_after(std::chrono::seconds(5));
    return tls->async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::error_code ec;
      self->lowest().socket().close(ec);
    });
  }
  beast::error_code ec;
  lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  lowest().socket().close(ec);
}

void http_session::linger_close() {
  body_unread_ = false;
  lowest().expires_after(linger_timeout);
  // Over TCP our side stops sending at once; over TLS close_notify follows the drain (do_close).
  if (!std::holds_alternative<tls_stream>(stream_)) {
    beast::error_code ec;
    lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  }
  drain(std::make_shared<std::array<char, 16384>>());
}

void http_session::drain(std::shared_ptr<std::array<char, 16384>> sink) {
  std::visit(
      [&](auto& s) {
        s.async_read_some(
            asio::buffer(*sink), [self = shared_from_this(), sink](beast::error_code ec, std::size_t) {
              if (!ec) return self->drain(sink);
              self->do_close();  // (body_unread_ is false now: a plain close, or TLS close_notify)
            });
      },
      stream_);
}

}  // namespace switchboard::server
