// The HTTP types shared with the API: JSON responses and the spec's error bodies.
#include "server/net/http_handler.hpp"

namespace switchboard::server {

namespace http = boost::beast::http;

http_response make_json_response(const http_request& req, http::status status, std::string body) {
  http_response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http_response make_error_response(const http_request& req, const protocol::error& e) {
  auto res = make_json_response(req, static_cast<http::status>(protocol::http_status(e.code)),
                                protocol::encode_http_error(e));
  if (e.retry_after_ms) res.set(http::field::retry_after, std::to_string((*e.retry_after_ms + 999) / 1000));
  return res;
}

}  // namespace switchboard::server
