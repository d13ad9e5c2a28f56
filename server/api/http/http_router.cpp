// HTTP routing over the route table.
#include "server/api/http/http_router.hpp"

#include <chrono>

#include "server/api/http/api_call.hpp"
#include "server/api/http/api_common.hpp"
#include "server/api/http/media_handlers.hpp"
#include "server/api/http/routes.hpp"
#include "server/api/http/web_assets.hpp"
#include "server/api/ws/ws_client.hpp"
#include "server/api/ws/ws_ops.hpp"

namespace switchboard::server {

namespace http = boost::beast::http;
using api::body_kind;

namespace {

std::string_view path_of(const http_request& req) {
  std::string_view target(req.target().data(), req.target().size());
  return target.substr(0, target.find('?'));
}

// Which routes a listener serves. The metrics listener (metrics.listen) serves the operational
// ones only, and then /metrics is served there alone.
struct listener_kind {
  bool metrics_only;
  bool separate_metrics;  // metrics.listen is set
};
bool served(const api::route& r, const void* arg) {
  const auto& l = *static_cast<const listener_kind*>(arg);
  if (l.metrics_only) return r.ops;
  return !(r.ops && l.separate_metrics && r.pattern == "/metrics");
}

}  // namespace

std::vector<std::string> http_router::route_names() {
  auto names = api::route_names();
  names.push_back("http unmatched");
  names.push_back("web app");
  for (auto& n : ws_ops::op_names()) names.push_back(n);
  return names;
}

const api::route* http_router::find(const http_request& req, bool metrics_only) const {
  listener_kind l{metrics_only, ctx_.cfg.metrics.listen.has_value()};
  return api::find_route(api::route_table(), req.method(), path_of(req), served, &l).hit;
}

http_handler::body_plan http_router::plan_body(const http_request& head, bool metrics_only) const {
  auto r = find(head, metrics_only);
  if (r && r->body == body_kind::upload) return {true, 0};
  if (r && r->body == body_kind::import)
    return {false, static_cast<std::uint64_t>(ctx_.cfg.limits.max_import_bytes)};
  return {false, static_cast<std::uint64_t>(ctx_.cfg.limits.max_body_bytes)};
}

bool http_router::is_websocket_endpoint(const http_request& req, bool metrics_only) const {
  auto r = find(req, metrics_only);
  return r && r->body == body_kind::websocket;
}

void http_router::upgrade(http_request, std::shared_ptr<ws_connection> conn) {
  conn->run(std::make_shared<ws_client>(ctx_, conn));
}

void http_router::begin_upload(http_request head, const boost::asio::ip::address& remote,
                               boost::asio::any_io_executor ex, respond_fn respond, upload_ready_fn ready) {
  auto r = find(head, false);
  std::string path(path_of(head));
  auto version = head.version();
  bool keep_alive = head.keep_alive();
  auto c = std::make_shared<api_call>(
      api_call{std::move(head), std::move(path), remote, ex,
               one_answer{std::move(respond), nullptr, version, keep_alive, ctx_.log},
               std::string(r ? r->name : "http unmatched"), std::chrono::steady_clock::now(),
               r && r->scope ? r->scope : ""});
  if (!r || r->body != body_kind::upload)
    return api::fail(ctx_, c, {protocol::error_code::not_found, "no upload route for " + c->path});
  api::begin_upload(ctx_, c, std::move(ready));
}

void http_router::route(http_request req, const boost::asio::ip::address& remote, bool metrics_only,
                        boost::asio::any_io_executor ex, respond_fn respond, stream_fn stream) {
  auto started = std::chrono::steady_clock::now();
  listener_kind l{metrics_only, ctx_.cfg.metrics.listen.has_value()};
  std::string path(path_of(req));
  auto found = api::find_route(api::route_table(), req.method(), path, served, &l);
  const auto* r = found.hit ? found.hit : found.path_route;
  auto version = req.version();
  bool keep_alive = req.keep_alive();
  auto c = std::make_shared<api_call>(
      api_call{std::move(req), path, remote, ex,
               one_answer{std::move(respond), std::move(stream), version, keep_alive, ctx_.log},
               std::string(r ? r->name : "http unmatched"), started, r && r->scope ? r->scope : ""});
  if (!found.path_route) {
    // The web app: GET and HEAD of any path the API does not use, on the main listener.
    const bool read = c->req.method() == http::verb::get || c->req.method() == http::verb::head;
    if (read && !metrics_only && ctx_.cfg.web.enabled && path.rfind("/v1/", 0) != 0) {
      c->op = "web app";
      return api::serve_web(ctx_, c);
    }
    return api::fail(ctx_, c, {protocol::error_code::not_found, "no route for " + path});
  }
  if (!found.hit) {
    // The path exists, the method does not: 405 with the methods the table lists for it.
    auto res = make_error_response(c->req, {protocol::error_code::bad_request, "method not allowed"});
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, found.allow);
    return api::finish(ctx_, c, std::move(res));
  }
  found.hit->handle(ctx_, c, found.id);
}

}  // namespace switchboard::server
