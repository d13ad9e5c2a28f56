// The HTTP types the transport and the API share, and what the transport asks of the API: the
// http_session reads requests and writes responses; an http_handler (server/api/http's router)
// decides everything that depends on a path.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "protocol/errors.hpp"
#include "server/net/ws_connection.hpp"
#include "storage/media_backend.hpp"

namespace switchboard::server {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;
// Called exactly once, from any thread; the session posts it back to its own strand.
using respond_fn = std::function<void(http_response)>;

// A response whose body the session streams from the media store, a chunk at a time on the file
// threads, instead of holding it in memory.
struct streamed_response {
  http_response head;  // status and headers, Content-Length included; its body is not sent
  std::shared_ptr<storage::media_reader> reader;  // null: no body (HEAD)
  std::uint64_t offset = 0, length = 0;           // the bytes of the object to send
};
// Called instead of respond_fn, exactly once, by routes that stream (GET /v1/media/{id}).
using stream_fn = std::function<void(streamed_response)>;

// A request body the session hands over a chunk at a time as it arrives (POST /v1/media): one
// chunk in flight, the next read only when the last is taken, so a fast client cannot outrun the
// disk. Dropping it before finish() discards what it took.
class upload_sink {
 public:
  virtual ~upload_sink() = default;
  virtual std::uint64_t body_limit() const = 0;
  // Takes `data` (valid until `done` runs); `done(true)` when the next chunk may come,
  // `done(false)` when the upload was refused (its response is then on its way).
  virtual void write(const char* data, std::size_t size, std::function<void(bool)> done) = 0;
  // The whole body is in: the sink answers the request.
  virtual void finish() = 0;
  // The body could not be read (over body_limit()): the sink answers the request with `e`.
  virtual void refuse(const protocol::error& e) = 0;
};
using upload_ready_fn = std::function<void(std::shared_ptr<upload_sink>)>;

http_response make_json_response(const http_request& req, boost::beast::http::status status,
                                 std::string body);
http_response make_error_response(const http_request& req, const protocol::error& e);

class http_handler {
 public:
  virtual ~http_handler() = default;
  // How to read the body of a request whose header was just read: streamed to an upload_sink
  // (begin_upload), or whole up to `limit` (limits.max_body_bytes unless the route says).
  struct body_plan {
    bool upload = false;
    std::uint64_t limit = 0;
  };
  virtual body_plan plan_body(const http_request& head, bool metrics_only) const = 0;
  // Answers a whole request: exactly one of `respond` or `stream`, from any thread.
  // `metrics_only`: the separate metrics listener answers /metrics, /healthz and /readyz only.
  virtual void route(http_request req, const boost::asio::ip::address& remote, bool metrics_only,
                     boost::asio::any_io_executor ex, respond_fn respond, stream_fn stream) = 0;
  // Checks an upload's header (`head` has no body): then either `ready` is called with the sink,
  // or `respond` with the refusal (the body is then unread).
  virtual void begin_upload(http_request head, const boost::asio::ip::address& remote,
                            boost::asio::any_io_executor ex, respond_fn respond, upload_ready_fn ready) = 0;
  // Whether a WebSocket upgrade of this request is accepted (a WebSocket endpoint's path).
  virtual bool is_websocket_endpoint(const http_request& req, bool metrics_only) const = 0;
  // Takes over an upgraded connection: makes its handler and runs it (ws_connection::run).
  virtual void upgrade(http_request req, std::shared_ptr<ws_connection> conn) = 0;
};

}  // namespace switchboard::server
