// Accounts and tokens over HTTP: login, logout, admin user creation, sign-up.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <memory>
#include <vector>

#include "fixture.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"
#include "ws_replies.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {
http_reply post_json(int port, const std::string& path, const json::object& body,
                     const std::string& token = "") {
  std::map<std::string, std::string> h;
  if (!token.empty()) h["Authorization"] = "Bearer " + token;
  return http_call(port, "POST", path, json::serialize(body), h);
}
}  // namespace

TEST_CASE("login returns a token, the user and its expiry, wrong passwords do not") {
  org_fixture fx;
  auto r = post_json(fx.port(), "/v1/auth/login",
                     {{"org", fx.owner.org}, {"mobile", fx.owner.mobile}, {"password", fx.owner.password}});
  REQUIRE(r.status == 200);
  auto body = json::parse(r.body).as_object();
  CHECK(body.at("token").as_string().size() >= 22);  // >= 128 bits
  CHECK(body.at("user").at("user").as_string() == fx.owner.id);
  CHECK(body.at("user").at("role").as_string() == "owner");
  CHECK(body.at("expires_at").as_int64() > 0);
  // Only a hash is stored.
  std::string token(body.at("token").as_string());
  CHECK(fx.db.scalar("SELECT count(*) FROM tokens WHERE hash = sha256('" + token + "'::bytea)") == "1");

  CHECK(post_json(fx.port(), "/v1/auth/login",
                  {{"org", fx.owner.org}, {"mobile", fx.owner.mobile}, {"password", "wrong-password"}})
            .status == 401);
  CHECK(post_json(fx.port(), "/v1/auth/login",
                  {{"org", "999999"}, {"mobile", fx.owner.mobile}, {"password", "x"}})
            .status == 401);
  auto bad =
      post_json(fx.port(), "/v1/auth/login", {{"org", fx.owner.org}, {"mobile", "12345"}, {"password", "x"}});
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Catch::Contains("mobile"));
  CHECK(http_call(fx.port(), "POST", "/v1/auth/login", "{not json").status == 400);
  CHECK(http_call(fx.port(), "POST", "/v1/auth/login", "[1]").status == 400);
  auto missing = post_json(fx.port(), "/v1/auth/login", {{"org", fx.owner.org}});
  CHECK(missing.status == 400);
  CHECK_THAT(missing.body, Catch::Contains("mobile is required"));
}

TEST_CASE("admins create users, members may not, duplicates conflict, GET returns them") {
  org_fixture fx;
  auto alice = fx.add_user(fx.owner, "Alice");
  auto r = http_call(fx.port(), "GET", "/v1/admin/users/" + alice.id, "",
                     {{"Authorization", "Bearer " + fx.owner.token}});
  REQUIRE(r.status == 200);
  auto u = json::parse(r.body).as_object();
  CHECK(u.at("name").as_string() == "Alice");
  CHECK(u.at("mobile").as_string() == alice.mobile);
  CHECK(u.at("role").as_string() == "member");
  CHECK(u.at("status").as_string() == "active");
  CHECK(u.at("org").as_string() == fx.owner.org);

  auto dup =
      post_json(fx.port(), "/v1/admin/users", {{"name", "Again"}, {"mobile", alice.mobile}}, fx.owner.token);
  CHECK(dup.status == 409);
  CHECK_THAT(dup.body, Catch::Contains("conflict"));

  auto as_member =
      post_json(fx.port(), "/v1/admin/users", {{"name", "X"}, {"mobile", "+8613911112222"}}, alice.token);
  CHECK(as_member.status == 403);
  auto no_token = post_json(fx.port(), "/v1/admin/users", {{"name", "X"}, {"mobile", "+8613911112222"}});
  CHECK(no_token.status == 401);
  auto bad_role = post_json(fx.port(), "/v1/admin/users",
                            {{"name", "X"}, {"mobile", "+8613911112223"}, {"role", "god"}}, fx.owner.token);
  CHECK(bad_role.status == 400);
  CHECK(http_call(fx.port(), "GET", "/v1/admin/users/987654321", "",
                  {{"Authorization", "Bearer " + fx.owner.token}})
            .status == 404);
  CHECK(
      http_call(fx.port(), "GET", "/v1/admin/users/abc", "", {{"Authorization", "Bearer " + fx.owner.token}})
          .status == 404);
}

TEST_CASE("a user of another organization is not_found, never forbidden") {
  org_fixture fx;
  auto other = fx.new_org("Globex");
  auto r = http_call(fx.port(), "GET", "/v1/admin/users/" + fx.owner.id, "",
                     {{"Authorization", "Bearer " + other.token}});
  CHECK(r.status == 404);
}

TEST_CASE("logout revokes the token and ends its live sessions with 4401") {
  org_fixture fx;
  ws_client ws(fx.port());
  REQUIRE(ws.hello(fx.owner.token).at("ok").as_bool());
  auto r =
      http_call(fx.port(), "POST", "/v1/auth/logout", "", {{"Authorization", "Bearer " + fx.owner.token}});
  CHECK(r.status == 204);
  auto kicked = ws.wait_event("kicked");
  REQUIRE(kicked);
  CHECK(kicked->at("data").at("reason").as_string() == "logout");
  CHECK(ws.wait_closed() == 4401);
  CHECK(http_call(fx.port(), "GET", "/v1/me", "", {{"Authorization", "Bearer " + fx.owner.token}}).status ==
        401);
  ws_client again(fx.port());
  auto h = again.hello(fx.owner.token);
  CHECK_FALSE(h.at("ok").as_bool());
  CHECK(h.at("error").at("code").as_string() == "unauthorized");
  CHECK(again.wait_closed() == 4401);
}

TEST_CASE("sign-up is refused unless enabled, and creates an org with its owner when it is") {
  {
    org_fixture fx;
    auto r = post_json(
        fx.port(), "/v1/orgs",
        {{"name", "New"},
         {"admin", json::object{{"name", "N"}, {"mobile", "+8613912345678"}, {"password", "password1"}}}});
    CHECK(r.status == 403);
  }
  org_fixture fx(env{{"SWITCHBOARD_AUTH_SIGNUP_ENABLED", "true"}});
  auto r = post_json(
      fx.port(), "/v1/orgs",
      {{"name", "New"},
       {"admin", json::object{{"name", "N"}, {"mobile", "+8613912345678"}, {"password", "password1"}}}});
  REQUIRE(r.status == 201);
  auto body = json::parse(r.body).as_object();
  CHECK(body.at("user").at("role").as_string() == "owner");
  std::string token(body.at("token").as_string());
  auto me = http_call(fx.port(), "GET", "/v1/me", "", {{"Authorization", "Bearer " + token}});
  CHECK(me.status == 200);
  CHECK(json::parse(me.body).at("org").as_string() == body.at("org").as_string());
  auto weak = post_json(
      fx.port(), "/v1/orgs",
      {{"name", "New"},
       {"admin", json::object{{"name", "N"}, {"mobile", "+8613912345679"}, {"password", "short"}}}});
  CHECK(weak.status == 400);
  CHECK_THAT(weak.body, Catch::Contains("admin.password"));
}

TEST_CASE("hellos with tokens seen for the first time, many at once, each get their own answer") {
  org_fixture fx;
  constexpr int n = 12;
  std::vector<account> users;
  for (int i = 0; i < n; ++i) users.push_back(fx.add_user(fx.owner, "User " + std::to_string(i)));
  std::vector<std::unique_ptr<ws_client>> good, bad;
  for (int i = 0; i < n; ++i) {
    good.push_back(std::make_unique<ws_client>(fx.port()));
    bad.push_back(std::make_unique<ws_client>(fx.port()));
  }
  // Every hello is sent before any answer is read, so they are looked up together.
  for (int i = 0; i < n; ++i) {
    auto frame = [&](const std::string& token) {
      json::object data{
          {"token", token},
          {"device", {{"id", "dev-" + std::to_string(i)}, {"platform", "web"}, {"version", "1.0.0"}}}};
      return json::serialize(json::object{{"id", "h"}, {"op", "hello"}, {"data", data}});
    };
    good[i]->send_text(frame(users[i].token));
    bad[i]->send_text(frame("no-such-token-" + std::to_string(i)));
  }
  for (int i = 0; i < n; ++i) {
    auto f = good[i]->next_frame(10s);
    REQUIRE(f);
    auto reply = json::parse(*f).as_object();
    CHECK(str(ok_data(reply).at("user").at("user")) == users[i].id);
    CHECK(ok_data(good[i]->call("ping")).empty());
  }
  for (int i = 0; i < n; ++i) {
    auto f = bad[i]->next_frame(10s);
    REQUIRE(f);
    CHECK(error_code_of(json::parse(*f).as_object()) == "unauthorized");
    CHECK(bad[i]->wait_closed() == 4401);
  }
  // A token already verified answers from the cache, the same user.
  ws_client again(fx.port(), {}, 0);
  CHECK(str(ok_data(again.hello(users[0].token, "dev-2")).at("user").at("user")) == users[0].id);
}
