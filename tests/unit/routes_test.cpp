// The HTTP route table, walked: names, callers, body kinds and lookups (server/api/http/routes).
#include <catch2/catch.hpp>

#include <set>

#include "server/api/http/routes.hpp"

using namespace switchboard::server;
using api::body_kind;
using api::caller;
namespace http = boost::beast::http;

namespace {
bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
}  // namespace

TEST_CASE("every route is named by its method and pattern, has a handler, and says who may call it") {
  const auto& table = api::route_table();
  REQUIRE(table.size() > 50);
  std::set<std::pair<http::verb, std::string_view>> seen;
  for (const auto& r : table) {
    INFO(r.name);
    CHECK(r.handle != nullptr);
    CHECK(seen.emplace(r.method, r.pattern).second);  // no method and pattern twice
    // HEAD is GET's twin and counts under GET's name.
    auto method = r.method == http::verb::head ? std::string("GET") : std::string(http::to_string(r.method));
    CHECK(r.name == method + " " + std::string(r.pattern));
    if (starts_with(r.pattern, "/v1/admin/")) CHECK(r.who == caller::admin);
    if (starts_with(r.pattern, "/v1/app/") && r.pattern != "/v1/app/token") {
      CHECK(r.who == caller::app);
      REQUIRE(r.scope != nullptr);
    } else {
      CHECK(r.scope == nullptr);
    }
    CHECK(r.ops == !starts_with(r.pattern, "/v1/"));
  }
}

TEST_CASE("uploads, the import's larger body and the WebSocket endpoint come from the table") {
  std::set<std::string_view> uploads, imports, websockets;
  for (const auto& r : api::route_table()) {
    if (r.body == body_kind::upload) uploads.insert(r.name);
    if (r.body == body_kind::import) imports.insert(r.name);
    if (r.body == body_kind::websocket) websockets.insert(r.name);
  }
  CHECK(uploads == std::set<std::string_view>{"POST /v1/media", "POST /v1/app/media"});
  CHECK(imports == std::set<std::string_view>{"POST /v1/admin/users/import"});
  CHECK(websockets == std::set<std::string_view>{"GET /v1/ws"});
}

TEST_CASE("lookups: literal segments before ids, the id parsed, 405's Allow, unknown paths") {
  const auto& table = api::route_table();
  auto import = api::find_route(table, http::verb::post, "/v1/admin/users/import");
  REQUIRE(import.hit);
  CHECK(import.hit->name == "POST /v1/admin/users/import");
  auto import_get = api::find_route(table, http::verb::get, "/v1/admin/users/import");
  CHECK_FALSE(import_get.hit);
  REQUIRE(import_get.path_route);
  CHECK(import_get.allow == "POST");

  auto suspend = api::find_route(table, http::verb::post, "/v1/admin/users/42/suspend");
  REQUIRE(suspend.hit);
  CHECK(suspend.hit->name == "POST /v1/admin/users/{id}/suspend");
  CHECK(suspend.id == 42);
  auto bad_id = api::find_route(table, http::verb::get, "/v1/admin/users/x9");
  REQUIRE(bad_id.hit);  // the route exists; its handler answers not_found for id 0
  CHECK(bad_id.id == 0);

  auto me = api::find_route(table, http::verb::delete_, "/v1/me");
  CHECK_FALSE(me.hit);
  CHECK(me.allow == "GET, PATCH");
  auto head = api::find_route(table, http::verb::head, "/v1/media/7");
  REQUIRE(head.hit);
  CHECK(head.hit->name == "GET /v1/media/{id}");
  CHECK(head.id == 7);
  auto conv = api::find_route(table, http::verb::get, "/v1/app/convs/12/messages");
  REQUIRE(conv.hit);
  CHECK(conv.id == 12);
  CHECK(std::string(conv.hit->scope) == "any");

  for (auto path : {"/v1/nope", "/v1/admin/users/1/suspend/more", "/v1/media", "/", "", "*", "/v1/me/"}) {
    INFO(path);
    auto miss = api::find_route(table, http::verb::get, path);
    if (std::string_view(path) == "/v1/media") {
      CHECK(miss.path_route);  // POST only
      CHECK(miss.allow == "POST");
    } else {
      CHECK_FALSE(miss.path_route);
    }
  }
}

TEST_CASE("route names for metrics: each once") {
  auto names = api::route_names();
  std::set<std::string> unique(names.begin(), names.end());
  CHECK(unique.size() == names.size());
  CHECK(unique.count("GET /v1/media/{id}"));
  CHECK(unique.count("POST /v1/app/token"));
}
