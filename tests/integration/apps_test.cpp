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
#include "ws_client.hpp"

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

TEST_CASE("apps: messages to users, a department or a group, idempotent, all or nothing across orgs") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto bob = fx.add_user(fx.owner, "Bob");
  auto carol = fx.add_user(fx.owner, "Carol");
  auto app = new_app(admin, {"messages:send"});
  auto bot_id = str(app.at("bot_user"));
  api_client bot{fx.port(), app_token(fx.port(), app)};
  ws_client b(fx.port());
  b.hello(bob.token);

  json::object text{{"to_users", json::array{bob.id, carol.id}},
                    {"client_msg_id", "build-1"},
                    {"type", "text"},
                    {"body", {{"text", "build 42 passed"}}}};
  auto first = bot.ok("POST", "/v1/app/messages", text);
  const auto& results = first.at("results").as_array();
  REQUIRE(results.size() == 2);
  CHECK(results[0].at("user") == json::value(bob.id));
  CHECK(results[0].at("seq") == 1);
  CHECK_FALSE(results[0].as_object().contains("duplicate"));
  auto bob_conv = str(results[0].at("conv"));
  // Bob's session learns of the new direct conversation, then gets the message, from the bot.
  auto created = b.wait_event("conv_update");
  REQUIRE(created);
  auto ev = b.wait_event("message");
  REQUIRE(ev);
  CHECK(ev->at("data").at("from") == json::value(bot_id));
  CHECK(ev->at("data").at("body").at("text") == "build 42 passed");
  // A retry: the same messages, marked duplicate, nothing new.
  auto again = bot.ok("POST", "/v1/app/messages", text);
  CHECK(again.at("results").as_array()[0].at("duplicate") == true);
  CHECK(again.at("results").as_array()[0].at("msg_id") == results[0].at("msg_id"));
  CHECK_FALSE(b.wait_event("message", std::chrono::milliseconds(300)));

  // Any recipient outside the org: 404, and no one gets anything.
  auto other = fx.new_org("Other");
  auto before = fx.db.scalar("SELECT count(*) FROM messages");
  auto mixed = text;
  mixed["to_users"] = json::array{bob.id, other.id};
  mixed["client_msg_id"] = "build-2";
  CHECK(bot.code("POST", "/v1/app/messages", mixed) == "not_found");
  CHECK(fx.db.scalar("SELECT count(*) FROM messages") == before);

  // Markdown, stored as such; and the bot reads the conversation back.
  bot.ok("POST", "/v1/app/messages",
         json::object{{"to_users", json::array{bob.id}},
                      {"client_msg_id", "md-1"},
                      {"type", "markdown"},
                      {"body", {{"text", "**bold**"}}}});
  auto page = bot.ok("GET", "/v1/app/convs/" + bob_conv + "/messages?after_seq=0");
  const auto& msgs = page.at("messages").as_array();
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[1].at("type") == "markdown");
  CHECK(page.at("has_more") == false);
  CHECK(bot.ok("GET", "/v1/app/convs/" + bob_conv + "/messages?after_seq=1&limit=1")
            .at("messages")
            .as_array()
            .size() == 1);

  // A department and its subtree.
  auto sales = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Sales"}}, 201);
  auto east = admin.ok("POST", "/v1/admin/departments",
                       json::object{{"name", "East"}, {"parent", sales.at("department")}}, 201);
  admin.ok("PATCH", "/v1/admin/users/" + bob.id,
           json::object{{"departments", json::array{sales.at("department")}}});
  admin.ok("PATCH", "/v1/admin/users/" + carol.id,
           json::object{{"departments", json::array{east.at("department")}}});
  auto to_dept = bot.ok("POST", "/v1/app/messages",
                        json::object{{"to_department", sales.at("department")},
                                     {"client_msg_id", "dept-1"},
                                     {"type", "text"},
                                     {"body", {{"text", "quarter closed"}}}});
  CHECK(to_dept.at("results").as_array().size() == 2);
  CHECK(bot.code("POST", "/v1/app/messages",
                 json::object{{"to_department", "999999"},
                              {"client_msg_id", "d"},
                              {"type", "text"},
                              {"body", {{"text", "x"}}}}) == "not_found");

  // A group the bot was added to; one it was not.
  ws_client a(fx.port());
  a.hello(fx.owner.token);
  auto group =
      a.call("create_group", {{"name", "CI"}, {"members", json::array{bob.id, json::value(bot_id)}}});
  REQUIRE(group.at("ok").as_bool());
  auto g = str(group.at("data").at("conv").at("conv"));
  auto in_group = bot.ok(
      "POST", "/v1/app/messages",
      json::object{{"conv", g}, {"client_msg_id", "g-1"}, {"type", "text"}, {"body", {{"text", "hi"}}}});
  CHECK(in_group.at("results").as_array().size() == 1);
  CHECK_FALSE(in_group.at("results").as_array()[0].as_object().contains("user"));
  auto lonely = a.call("create_group", {{"name", "No bots"}, {"members", json::array{bob.id}}});
  auto ng = str(lonely.at("data").at("conv").at("conv"));
  CHECK(bot.code("POST", "/v1/app/messages",
                 json::object{
                     {"conv", ng}, {"client_msg_id", "g-2"}, {"type", "text"}, {"body", {{"text", "hi"}}}}) ==
        "forbidden");
  CHECK(bot.code("GET", "/v1/app/convs/" + ng + "/messages") == "forbidden");

  // Bad requests: two targets, none, a bad type, an empty text, another's media.
  CHECK(bot.code("POST", "/v1/app/messages",
                 json::object{{"conv", g},
                              {"to_users", json::array{bob.id}},
                              {"client_msg_id", "x"},
                              {"type", "text"},
                              {"body", {{"text", "x"}}}}) == "bad_request");
  CHECK(bot.code("POST", "/v1/app/messages",
                 json::object{{"client_msg_id", "x"}, {"type", "text"}, {"body", {{"text", "x"}}}}) ==
        "bad_request");
  CHECK(bot.code("POST", "/v1/app/messages",
                 json::object{
                     {"conv", g}, {"client_msg_id", "x"}, {"type", "voice"}, {"body", {{"text", "x"}}}}) ==
        "bad_request");
  CHECK(bot.code(
            "POST", "/v1/app/messages",
            json::object{{"conv", g}, {"client_msg_id", "x"}, {"type", "text"}, {"body", {{"text", ""}}}}) ==
        "bad_request");
  auto png = http_call(fx.port(), "POST", "/v1/media", std::string("\x89PNG\r\n\x1a\n", 8) + "xxxxxxxxxx",
                       {{"Authorization", "Bearer " + bob.token}, {"Content-Type", "image/png"}});
  REQUIRE(png.status == 201);
  CHECK(bot.code("POST", "/v1/app/messages",
                 json::object{
                     {"conv", g},
                     {"client_msg_id", "img"},
                     {"type", "image"},
                     {"body",
                      {{"media_id", json::parse(png.body).at("media_id")}, {"width", 1}, {"height", 1}}}}) ==
        "not_found");
  // Without messages:send.
  api_client reader{fx.port(), app_token(fx.port(), new_app(admin, {"contacts:read"}))};
  CHECK(reader.code("POST", "/v1/app/messages", text) == "forbidden");
}

TEST_CASE("apps: upload media as the bot and send it, with messages:send only") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto bob = fx.add_user(fx.owner, "Bob");
  auto app = new_app(admin, {"messages:send"});
  auto reader = new_app(admin, {"contacts:read"});
  auto token = app_token(fx.port(), app);
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR-chart-bytes", 26);
  auto up = [&](const std::string& path, const std::string& tok) {
    return http_call(fx.port(), "POST", path + "?name=chart.png", png,
                     {{"Authorization", "Bearer " + tok}, {"Content-Type", "image/png"}});
  };
  auto r = up("/v1/app/media", token);
  INFO(r.body);
  REQUIRE(r.status == 201);
  auto media = str(json::parse(r.body).at("media_id"));
  // The scope is checked, and the user route takes no app token (and the app route no user token).
  CHECK(up("/v1/app/media", app_token(fx.port(), reader)).status == 403);
  CHECK(up("/v1/media", token).status == 401);
  CHECK(up("/v1/app/media", fx.owner.token).status == 401);
  CHECK(http_call(fx.port(), "GET", "/v1/app/media", "", {{"Authorization", "Bearer " + token}}).status ==
        405);

  api_client bot{fx.port(), token};
  auto sent = bot.ok("POST", "/v1/app/messages",
                     json::object{{"to_users", json::array{bob.id}},
                                  {"client_msg_id", "chart-1"},
                                  {"type", "image"},
                                  {"body", {{"media_id", media}, {"width", 800}, {"height", 600}}}});
  CHECK(sent.at("results").as_array().size() == 1);
  // Bob, a member of that conversation now, downloads the bytes.
  auto d = http_call(fx.port(), "GET", "/v1/media/" + media, "", {{"Authorization", "Bearer " + bob.token}});
  CHECK(d.status == 200);
  CHECK(d.body == png);
}
