// Serving the web app (server/api/http/web_assets.hpp).
#include <boost/beast/http/field.hpp>

#include "server/api/http/web_assets.hpp"

#include "server/api/http/api_common.hpp"

namespace switchboard::server::api {

namespace {
// The page runs only its own script and style, talks only to its own origin (HTTP and WebSocket),
// shows media it fetched itself (blob: URLs), and may not be framed.
constexpr std::string_view content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

bool accepts_gzip(const http_request& req) {
  auto it = req.find(http::field::accept_encoding);
  if (it == req.end()) return false;
  std::string_view v(it->value().data(), it->value().size());
  auto pos = v.find("gzip");
  if (pos == std::string_view::npos) return false;
  // "gzip;q=0" refuses it.
  auto rest = v.substr(pos + 4);
  auto comma = rest.find(',');
  auto params = rest.substr(0, comma);
  return params.find("q=0") == std::string_view::npos || params.find("q=0.") != std::string_view::npos;
}

bool etag_matches(const http_request& req, std::string_view etag) {
  auto it = req.find(http::field::if_none_match);
  if (it == req.end()) return false;
  std::string_view v(it->value().data(), it->value().size());
  return v == "*" || v.find(etag) != std::string_view::npos;
}
}  // namespace

const web_asset* find_web_asset(std::string_view path) {
  // The app routes with the URL's fragment (/#/chats/12), so its pages all load "/".
  if (path == "/" || path.empty()) path = "/index.html";
  for (const auto& a : web_assets())
    if (a.path == path) return &a;
  return nullptr;
}

void serve_web(services& ctx, const call_ptr& c) {
  const auto* a = find_web_asset(c->path);
  if (!a) return fail(ctx, c, {error_code::not_found, "no route for " + c->path});
  const bool html = a->path == "/index.html";
  http_response res{http::status::ok, c->req.version()};
  res.keep_alive(c->req.keep_alive());
  res.set(http::field::etag, a->etag);
  res.set(http::field::cache_control, a->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.set(http::field::vary, "Accept-Encoding");
  res.set("X-Content-Type-Options", "nosniff");
  if (html) {
    res.set("Content-Security-Policy", content_security_policy);
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Frame-Options", "DENY");
  }
  if (etag_matches(c->req, a->etag)) {
    res.result(http::status::not_modified);
    return finish(ctx, c, std::move(res));
  }
  res.set(http::field::content_type, a->content_type);
  const bool gz = accepts_gzip(c->req);
  std::string_view body = gz ? a->gzip : a->body;
  if (gz) res.set(http::field::content_encoding, "gzip");
  if (c->req.method() == http::verb::head) {
    res.content_length(body.size());
  } else {
    res.body().assign(body.data(), body.size());
    res.prepare_payload();
  }
  finish(ctx, c, std::move(res));
}

}  // namespace switchboard::server::api
