// HTTP routing: operational endpoints now; /v1 routes are added beside them.
#include "server/http_router.hpp"

#include "server/api_handlers.hpp"
#include "server/ws_ops.hpp"

#include <boost/json.hpp>
#include <chrono>

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

http_router::http_router(app_context& ctx) : ctx_(ctx), api_(std::make_unique<api_handlers>(ctx)) {}
http_router::~http_router() = default;

std::vector<std::string> http_router::route_names() {
  std::vector<std::string> names{"GET /healthz", "GET /readyz", "GET /metrics", "http unmatched"};
  for (auto& n : api_handlers::route_names()) names.push_back(n);
  for (auto& n : ws_ops::op_names()) names.push_back(n);
  return names;
}

bool http_router::is_upload(const http_request& head) {
  std::string_view target(head.target().data(), head.target().size());
  auto path = target.substr(0, target.find('?'));
  return head.method() == http::verb::post && (path == "/v1/media" || path == "/v1/app/media");
}

void http_router::begin_upload(http_request head, const boost::asio::ip::address& remote,
                               boost::asio::any_io_executor ex, respond_fn respond, upload_ready_fn ready) {
  std::string_view target(head.target().data(), head.target().size());
  // An app uploads as its bot, with the messages:send scope.
  bool app = target.substr(0, target.find('?')) == "/v1/app/media";
  api_call call{std::move(head),
                app ? "/v1/app/media" : "/v1/media",
                remote,
                ex,
                std::move(respond),
                nullptr,
                app ? "POST /v1/app/media" : "POST /v1/media",
                std::chrono::steady_clock::now(),
                app ? "messages:send" : ""};
  api_->begin_upload(std::move(call), std::move(ready));
}

void http_router::route(http_request req, const boost::asio::ip::address& remote, bool metrics_only,
                        boost::asio::any_io_executor ex, respond_fn respond, stream_fn stream) {
  auto started = std::chrono::steady_clock::now();
  std::string_view target(req.target().data(), req.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  auto finish = [&](std::string_view op, http_response res) {
    auto status = res.result_int();
    std::optional<protocol::error_code> code;
    if (status >= 400) {
      code = status == 404   ? protocol::error_code::not_found
             : status == 503 ? protocol::error_code::unavailable
             : status == 405 ? protocol::error_code::bad_request
             : status == 413 ? protocol::error_code::too_large
             : status >= 500 ? protocol::error_code::internal
                             : protocol::error_code::bad_request;
    }
    ctx_.stats.op(op).record(code, std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - started));
    respond(std::move(res));
  };
  auto only_get = [&](std::string_view op, auto handler) {
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      auto res = make_error_response(req, {protocol::error_code::bad_request, "method not allowed"});
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      return finish(op, std::move(res));
    }
    auto res = (this->*handler)(req);
    if (req.method() == http::verb::head) {
      auto len = res.body().size();
      res.body().clear();
      res.content_length(len);
    }
    finish(op, std::move(res));
  };
  if (path == "/healthz") return only_get("GET /healthz", &http_router::healthz);
  if (path == "/readyz") return only_get("GET /readyz", &http_router::readyz);
  // With metrics.listen set, /metrics lives only there; that listener serves nothing else of the API.
  bool metrics_here = metrics_only || !ctx_.cfg.metrics.listen;
  if (path == "/metrics" && metrics_here) return only_get("GET /metrics", &http_router::metrics_text);
  if (!metrics_only && path.rfind("/v1/", 0) == 0) {
    std::string p(path);
    http_request stub;  // what an unmatched answer needs once the request itself has moved on
    stub.version(req.version());
    stub.keep_alive(req.keep_alive());
    api_call call{std::move(req), p, remote, ex, respond, std::move(stream), "", started, ""};
    if (api_->handle(std::move(call))) return;
    return finish("http unmatched",
                  make_error_response(stub, {protocol::error_code::not_found, "no route for " + p}));
  }
  finish("http unmatched",
         make_error_response(req, {protocol::error_code::not_found, "no route for " + std::string(path)}));
}

http_response http_router::healthz(const http_request& req) {
  return make_json_response(req, http::status::ok, R"({"status":"ok"})");
}

http_response http_router::readyz(const http_request& req) {
  bool reachable = ctx_.health.reachable();
  int version = ctx_.health.schema_version();
  int expected = ctx_.health.expected_version();
  boost::json::object body{{"database", reachable ? "up" : "down"},
                           {"schema_version", version},
                           {"expected_schema_version", expected},
                           {"draining", ctx_.draining.load()}};
  bool ready = ctx_.health.ready() && !ctx_.draining.load();
  body["status"] = ready ? "ready" : "not_ready";
  return make_json_response(req, ready ? http::status::ok : http::status::service_unavailable,
                            boost::json::serialize(body));
}

http_response http_router::metrics_text(const http_request& req) {
  http_response res{http::status::ok, req.version()};
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.keep_alive(req.keep_alive());
  res.body() = ctx_.stats.render(ctx_.db.stats(), ctx_.writer.stats(), ctx_.health.ready(),
                                 ctx_.health.schema_version());
  res.prepare_payload();
  return res;
}

}  // namespace switchboard::server
