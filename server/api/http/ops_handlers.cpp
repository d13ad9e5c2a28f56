// The operational endpoints: /healthz, /readyz, /metrics.
#include "server/api/http/handlers.hpp"

#include <boost/json.hpp>

#include "server/api/http/api_common.hpp"

namespace switchboard::server::api {

namespace {
// GET and HEAD: HEAD answers the same headers without the body.
void answer_get(services& ctx, const call_ptr& c, http_response res) {
  if (c->req.method() == http::verb::head) {
    auto len = res.body().size();
    res.body().clear();
    res.content_length(len);
  }
  finish(ctx, c, std::move(res));
}
}  // namespace

void healthz(services& ctx, const call_ptr& c, std::int64_t) {
  answer_get(ctx, c, make_json_response(c->req, http::status::ok, R"({"status":"ok"})"));
}

void readyz(services& ctx, const call_ptr& c, std::int64_t) {
  bool reachable = ctx.health.reachable();
  json::object body{{"database", reachable ? "up" : "down"},
                    {"schema_version", ctx.health.schema_version()},
                    {"expected_schema_version", ctx.health.expected_version()},
                    {"draining", ctx.draining.load()}};
  bool ready = ctx.health.ready() && !ctx.draining.load();
  body["status"] = ready ? "ready" : "not_ready";
  answer_get(ctx, c,
             make_json_response(c->req, ready ? http::status::ok : http::status::service_unavailable,
                                json::serialize(body)));
}

void metrics_text(services& ctx, const call_ptr& c, std::int64_t) {
  http_response res{http::status::ok, c->req.version()};
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.keep_alive(c->req.keep_alive());
  res.body() =
      ctx.stats.render(ctx.db.stats(), ctx.writer.stats(), ctx.health.ready(), ctx.health.schema_version());
  res.prepare_payload();
  answer_get(ctx, c, std::move(res));
}

}  // namespace switchboard::server::api
