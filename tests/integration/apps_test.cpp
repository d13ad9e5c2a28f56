// Integration apps: management by admins, the secret-for-token exchange, app tokens against user
// routes and the reverse, scopes at every contacts call, org isolation, rotation, deletion,
// expiry, allowed addresses, per-app rate limits, and the bot user each app acts as.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "api_client.hpp"
#include "fixture.hpp"
#include "http_client.hpp"
#include "process.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

json::object new_app(const api_client& admin, const json::array& scopes, json::value ips = nullptr) {
  json::object body{{"name", "Build bot"}, {"scopes", scopes}};
  if (!ips.is_null()) body["allowed_ips"] = ips;
  return admin.ok("POST", "/v1/admin/apps", body, 201);
}

http_reply exchange(int port, const std::string& app, const std::string& secret) {
  return http_call(port, "POST", "/v1/app/token",
                   json::serialize(json::object{{"app_id", app}, {"secret", secret}}));
}

// An access token for the app, after checking the exchange's answer.
std::string app_token(int port, const json::object& app) {
  auto r = exchange(port, str(app.at("app")), str(app.at("secret")));
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto o = json::parse(r.body).as_object();
  return str(o.at("access_token"));
}

std::string code_of(const http_reply& r) {
  INFO(r.status << " " << r.body);
  return str(json::parse(r.body).at("error").at("code"));
}

}  // namespace

TEST_CASE("apps: admins create them with a secret shown once, members and bad input are refused") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto app = new_app(admin, {"contacts:read", "messages:send"});
  CHECK(app.at("name") == "Build bot");
  CHECK(app.at("scopes").as_array().size() == 2);
  CHECK(str(app.at("secret")).size() >= 32);
  CHECK(!str(app.at("bot_user")).empty());
  // The list never shows a secret.
  auto list = admin.ok("GET", "/v1/admin/apps");
  REQUIRE(list.at("items").as_array().size() == 1);
  CHECK_FALSE(list.at("items").as_array()[0].as_object().contains("secret"));
  // The secret is stored hashed.
  CHECK(fx.db.scalar("SELECT count(*) FROM apps WHERE position(convert_to('" + str(app.at("secret")) +
                     "', 'UTF8') IN secret_hash) > 0") == "0");
  // The bot user: no mobile, marked as a bot, managed only through its app.
  auto bot = admin.ok("GET", "/v1/admin/users/" + str(app.at("bot_user")));
  CHECK(bot.at("bot") == true);
  CHECK(bot.at("mobile").is_null());
  CHECK(admin.code("PATCH", "/v1/admin/users/" + str(app.at("bot_user")), json::object{{"name", "X"}}) ==
        "forbidden");
  // Not a member: usage counts people only.
  CHECK(admin.ok("GET", "/v1/admin/usage").at("members") == 1);

  auto mia = fx.add_user(fx.owner, "Mia");
  api_client member{fx.port(), mia.token};
  CHECK(member.code("POST", "/v1/admin/apps", json::object{{"name", "x"}, {"scopes", json::array{}}}) ==
        "forbidden");
  CHECK(admin.code("POST", "/v1/admin/apps", json::object{{"name", "x"}, {"scopes", json::array{"root"}}}) ==
        "bad_request");
  CHECK(admin.code("POST", "/v1/admin/apps", json::object{{"scopes", json::array{"events"}}}) ==
        "bad_request");
  CHECK(admin.code("POST", "/v1/admin/apps",
                   json::object{{"name", "x"},
                                {"scopes", json::array{}},
                                {"allowed_ips", json::array{"10.0.0.300"}}}) == "bad_request");
  CHECK(admin.code("POST", "/v1/admin/apps/999999/rotate") == "not_found");
  CHECK(admin.code("DELETE", "/v1/admin/apps/999999") == "not_found");
}

TEST_CASE("apps: the token exchange, and tokens that only work where they belong") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto app = new_app(admin, {"contacts:read"});
  auto id = str(app.at("app"));
  auto r = exchange(fx.port(), id, str(app.at("secret")));
  REQUIRE(r.status == 200);
  auto o = json::parse(r.body).as_object();
  CHECK(o.at("expires_in") == 7200);
  auto first = str(o.at("access_token"));
  // Wrong secret, unknown app, malformed body.
  CHECK(exchange(fx.port(), id, "not-the-secret").status == 401);
  CHECK(exchange(fx.port(), "987654321", str(app.at("secret"))).status == 401);
  CHECK(http_call(fx.port(), "POST", "/v1/app/token", "{}").status == 400);
  // A second token; the first stays valid.
  auto second = app_token(fx.port(), app);
  CHECK(second != first);
  CHECK(api_client{fx.port(), first}.call("GET", "/v1/app/users").status == 200);
  CHECK(api_client{fx.port(), second}.call("GET", "/v1/app/users").status == 200);
  // An app token on a user route, a user token on an app route: 401 both ways.
  CHECK(api_client{fx.port(), first}.call("GET", "/v1/me").status == 401);
  CHECK(api_client{fx.port(), first}.call("GET", "/v1/admin/users/" + fx.owner.id).status == 401);
  CHECK(admin.call("GET", "/v1/app/users").status == 401);
  CHECK(api_client{fx.port(), ""}.call("GET", "/v1/app/users").status == 401);
}

TEST_CASE("apps: every contacts call checks its scope") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto dept = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Ops"}}, 201);
  auto d = "/v1/app/departments/" + str(dept.at("department"));
  auto u = "/v1/app/users/" + fx.owner.id;
  const std::vector<std::tuple<std::string, std::string, std::string, json::value>> calls{
      {"contacts:read", "GET", "/v1/app/users", nullptr},
      {"contacts:read", "GET", u, nullptr},
      {"contacts:read", "GET", "/v1/app/departments", nullptr},
      {"contacts:write", "POST", "/v1/app/users", json::object{{"name", "N"}, {"mobile", "+8613700000777"}}},
      {"contacts:write", "PATCH", u, json::object{{"title", "Boss"}}},
      {"contacts:write", "DELETE", "/v1/app/users/12345678", nullptr},
      {"contacts:write", "POST", "/v1/app/departments", json::object{{"name", "New"}}},
      {"contacts:write", "PATCH", d, json::object{{"sort", 3}}},
      {"contacts:write", "DELETE", "/v1/app/departments/12345678", nullptr},
  };
  auto reader = api_client{fx.port(), app_token(fx.port(), new_app(admin, {"contacts:read"}))};
  auto writer = api_client{fx.port(), app_token(fx.port(), new_app(admin, {"contacts:write"}))};
  auto sender = api_client{fx.port(), app_token(fx.port(), new_app(admin, {"messages:send", "events"}))};
  for (const auto& [scope, method, path, body] : calls) {
    INFO(method << " " << path);
    const auto& allowed = scope == "contacts:read" ? reader : writer;
    const auto& refused = scope == "contacts:read" ? writer : reader;
    CHECK(refused.code(method, path, body) == "forbidden");
    CHECK(sender.code(method, path, body) == "forbidden");
    auto r = allowed.call(method, path, body);
    INFO(r.status << " " << r.body);
    CHECK(r.status != 403);
    CHECK(r.status != 401);
  }
}

TEST_CASE("apps: contacts calls share the admin rules, stay in the app's org, and are audited as the bot") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto app = new_app(admin, {"contacts:read", "contacts:write"});
  api_client bot{fx.port(), app_token(fx.port(), app)};
  auto created =
      bot.ok("POST", "/v1/app/users", json::object{{"name", "Ann"}, {"mobile", "+8613700000001"}}, 201);
  auto ann = "/v1/app/users/" + str(created.at("user"));
  CHECK(bot.ok("PATCH", ann, json::object{{"title", "Lead"}}).at("title") == "Lead");
  // The same validation and conflicts as the admin routes.
  CHECK(bot.code("POST", "/v1/app/users", json::object{{"name", "Dup"}, {"mobile", "+8613700000001"}}) ==
        "conflict");
  CHECK(bot.code("POST", "/v1/app/users", json::object{{"name", "Bad"}, {"mobile", "12345"}}) ==
        "bad_request");
  // The owner keeps the owner role, whoever asks.
  CHECK(bot.code("PATCH", "/v1/app/users/" + fx.owner.id, json::object{{"role", "member"}}) == "forbidden");
  auto audit = admin.ok("GET", "/v1/admin/audit?limit=3").at("items").as_array();
  CHECK(audit.at(0).at("actor") == app.at("bot_user"));
  auto dept = bot.ok("POST", "/v1/app/departments", json::object{{"name", "Sales"}}, 201);
  auto listed = bot.ok("GET", "/v1/app/departments").at("departments").as_array();
  CHECK(listed.size() == 1);
  auto users = bot.ok("GET", "/v1/app/users").at("items").as_array();
  CHECK(users.size() == 2);  // the owner and Ann; bots are not listed
  CHECK(bot.call("DELETE", ann).status == 200);

  // Another organization's ids are not found, never forbidden.
  auto other = fx.new_org("Other");
  api_client other_admin{fx.port(), other.token};
  auto theirs = other_admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Theirs"}}, 201);
  CHECK(bot.code("GET", "/v1/app/users/" + other.id) == "not_found");
  CHECK(bot.code("PATCH", "/v1/app/users/" + other.id, json::object{{"title", "x"}}) == "not_found");
  CHECK(bot.code("DELETE", "/v1/app/users/" + other.id) == "not_found");
  CHECK(bot.code("PATCH", "/v1/app/departments/" + str(theirs.at("department")), json::object{{"sort", 1}}) ==
        "not_found");
  auto page = bot.ok("GET", "/v1/app/users");
  for (const auto& item : page.at("items").as_array()) CHECK(item.at("org") == json::value(fx.owner.org));
  (void)dept;
}

TEST_CASE("apps: rotation keeps issued tokens, deletion ends them all") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto app = new_app(admin, {"contacts:read"});
  auto id = str(app.at("app"));
  auto old_token = app_token(fx.port(), app);
  auto rotated = admin.ok("POST", "/v1/admin/apps/" + id + "/rotate");
  auto secret = str(rotated.at("secret"));
  CHECK(exchange(fx.port(), id, str(app.at("secret"))).status == 401);
  CHECK(exchange(fx.port(), id, secret).status == 200);
  CHECK(api_client{fx.port(), old_token}.call("GET", "/v1/app/users").status == 200);

  auto new_token = str(json::parse(exchange(fx.port(), id, secret).body).at("access_token"));
  CHECK(admin.call("DELETE", "/v1/admin/apps/" + id).status == 204);
  CHECK(api_client{fx.port(), old_token}.call("GET", "/v1/app/users").status == 401);
  CHECK(api_client{fx.port(), new_token}.call("GET", "/v1/app/users").status == 401);
  CHECK(exchange(fx.port(), id, secret).status == 401);
  CHECK(admin.ok("GET", "/v1/admin/users/" + str(app.at("bot_user"))).at("status") == "removed");
  CHECK(admin.ok("GET", "/v1/admin/apps").at("items").as_array().empty());
  // Audited.
  auto audit = admin.ok("GET", "/v1/admin/audit?limit=3").at("items").as_array();
  CHECK(audit.at(0).at("action") == "app.delete");
  CHECK(audit.at(1).at("action") == "app.rotate_secret");
}

TEST_CASE("apps: access tokens expire, allowed addresses hold, and each app has its own request budget") {
  org_fixture fx({{"SWITCHBOARD_APPS_TOKEN_TTL_S", "1"}, {"SWITCHBOARD_APPS_REQUESTS_PER_MINUTE", "5"}});
  api_client admin{fx.port(), fx.owner.token};
  auto app = new_app(admin, {"contacts:read"});
  auto r = exchange(fx.port(), str(app.at("app")), str(app.at("secret")));
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body).at("expires_in") == 1);
  api_client bot{fx.port(), str(json::parse(r.body).at("access_token"))};
  CHECK(bot.call("GET", "/v1/app/departments").status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(bot.call("GET", "/v1/app/departments").status == 401);

  // Five calls a minute: the sixth is refused with when to retry; another app is unaffected.
  auto busy = new_app(admin, {"contacts:read"});
  auto calm = new_app(admin, {"contacts:read"});
  int ok = 0;
  http_reply last;
  for (int i = 0; i < 6; ++i) {
    api_client b{fx.port(), app_token(fx.port(), busy)};  // fresh tokens: the budget is the app's
    last = b.call("GET", "/v1/app/departments");
    if (last.status == 200) ++ok;
  }
  CHECK(ok == 5);
  CHECK(last.status == 429);
  CHECK(json::parse(last.body).at("error").at("retry_after_ms").as_int64() > 0);
  CHECK(api_client{fx.port(), app_token(fx.port(), calm)}.call("GET", "/v1/app/departments").status == 200);
  CHECK(limit_hits(fx.port(), "app_requests") >= 1);

  // Allowed addresses: the test client is 127.0.0.1.
  auto fenced = new_app(admin, {"contacts:read"}, json::array{"10.0.0.0/8"});
  auto refused = exchange(fx.port(), str(fenced.at("app")), str(fenced.at("secret")));
  CHECK(refused.status == 403);
  auto home = new_app(admin, {"contacts:read"}, json::array{"127.0.0.1/32", "10.0.0.0/8"});
  CHECK(exchange(fx.port(), str(home.at("app")), str(home.at("secret"))).status == 200);
}
