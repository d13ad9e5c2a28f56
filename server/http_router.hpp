// Maps an HTTP request to its handler and produces exactly one response.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <string>

#include "protocol/errors.hpp"
#include "server/api_handlers_fwd.hpp"
#include "server/app_context.hpp"
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

class media_upload;
// POST /v1/media: called once the header passed its checks, with the upload that takes the body.
using upload_ready_fn = std::function<void(std::shared_ptr<media_upload>)>;

http_response make_json_response(const http_request& req, boost::beast::http::status status,
                                 std::string body);
http_response make_error_response(const http_request& req, const protocol::error& e);

class http_router {
 public:
  explicit http_router(app_context& ctx);
  ~http_router();

  // The names of every route, for metrics.
  static std::vector<std::string> route_names();

  // metrics_only: the separate metrics listener answers /metrics, /healthz and /readyz only.
  void route(http_request req, const boost::asio::ip::address& remote, bool metrics_only,
             boost::asio::any_io_executor ex, respond_fn respond, stream_fn stream);

  // Whether the request, its header just read, is an upload whose body the session streams
  // (POST /v1/media) instead of reading it whole.
  static bool is_upload(const http_request& head);
  // Checks an upload's header (`head` has no body): then either `ready` is called with the upload,
  // or `respond` with the refusal (the body is then unread).
  void begin_upload(http_request head, const boost::asio::ip::address& remote,
                    boost::asio::any_io_executor ex, respond_fn respond, upload_ready_fn ready);

 private:
  http_response healthz(const http_request& req);
  http_response readyz(const http_request& req);
  http_response metrics_text(const http_request& req);

  app_context& ctx_;
  std::unique_ptr<api_handlers> api_;
};

}  // namespace switchboard::server
