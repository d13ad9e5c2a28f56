// The HTTP API as data: one table of routes (method, path pattern, name, who may call it, what body
// it takes, handler). The router looks requests up in it; metric names, 405's Allow, body limits,
// upload detection and the WebSocket endpoint all derive from it.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/api/http/api_call.hpp"

namespace switchboard::server::api {

using call_ptr = std::shared_ptr<api_call>;

// Who may call a route (the handler authenticates; the table says what it must accept).
enum class caller {
  anyone,  // no token (login, signup, codes, health)
  member,  // a user's access token
  admin,   // a user's access token with the admin or owner role
  app,     // an integration app's access token, with the route's scope
};

// What the route's request body is.
enum class body_kind {
  json,       // read whole, up to limits.max_body_bytes
  import,     // read whole, up to limits.max_import_bytes
  upload,     // streamed to an upload_sink (POST /v1/media): its type's limit
  websocket,  // an upgrade to WebSocket
};

struct route {
  boost::beast::http::verb method;
  std::string_view pattern;  // "/v1/admin/users/{id}/suspend": a {name} segment is the call's id
  std::string_view name;     // for metrics: "POST /v1/admin/users/{id}/suspend"
  caller who;
  body_kind body = body_kind::json;
  const char* scope = nullptr;  // app routes: the scope the call needs ("any": any scope)
  void (*handle)(services& ctx, const call_ptr& c, std::int64_t id) = nullptr;
  bool ops = false;  // operational (/healthz, /readyz, /metrics): served on the metrics listener too
};

// Every route, in lookup order (a literal segment listed before a {placeholder} at that place wins).
const std::vector<route>& route_table();

struct route_lookup {
  const route* hit = nullptr;         // the route for the method
  std::int64_t id = 0;                // the {placeholder} segment as an id (0 when it is not one)
  const route* path_route = nullptr;  // the first route whose pattern matches (the path exists)
  std::string allow;                  // the methods the path takes, for 405's Allow
};
// Looks `path` up among `routes` (those that `usable` accepts).
route_lookup find_route(const std::vector<route>& routes, boost::beast::http::verb method,
                        std::string_view path, bool (*usable)(const route&, const void* arg) = nullptr,
                        const void* arg = nullptr);

// Every route name, each once, in table order.
std::vector<std::string> route_names();

}  // namespace switchboard::server::api
