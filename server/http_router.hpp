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

namespace switchboard::server {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;
// Called exactly once, from any thread; the session posts it back to its own strand.
using respond_fn = std::function<void(http_response)>;

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
             boost::asio::any_io_executor ex, respond_fn respond);

 private:
  http_response healthz(const http_request& req);
  http_response readyz(const http_request& req);
  http_response metrics_text(const http_request& req);

  app_context& ctx_;
  std::unique_ptr<api_handlers> api_;
};

}  // namespace switchboard::server
