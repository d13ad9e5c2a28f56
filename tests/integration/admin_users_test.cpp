// Running an organization's users: admin edits, removal, suspension and restriction (with their
// effect on live sessions and logins), a user's own profile, roles at every admin route, policy,
// announcements, and the audit entry of each admin action.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <chrono>
#include <thread>
#include <tuple>

#include "api_client.hpp"
#include "fixture.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "ws_client.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

http_reply try_login(int port, const account& a) {
  return http_call(
      port, "POST", "/v1/auth/login",
      json::serialize(json::object{{"org", a.org}, {"mobile", a.mobile}, {"password", a.password}}));
}

std::string error_message(const http_reply& r) {
  return std::string(json::parse(r.body).at("error").at("message").as_string());
}

json::object newest_audit(const api_client& admin) {
  return admin.ok("GET", "/v1/admin/audit?limit=1").at("items").as_array().at(0).as_object();
}

}  // namespace

TEST_CASE("admin: members get 403 at every admin route, other orgs' ids are 404") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto mia = fx.add_user(fx.owner, "Mia");
  api_client member{fx.port(), mia.token};
  const std::string u = "/v1/admin/users/" + mia.id;
  const std::vector<std::pair<std::string, std::string>> admin_routes{{"POST", "/v1/admin/users"},
                                                                      {"GET", u},
                                                                      {"PATCH", u},
                                                                      {"DELETE", u},
                                                                      {"POST", u + "/suspend"},
                                                                      {"POST", u + "/restore"},
                                                                      {"POST", u + "/restrict"},
                                                                      {"POST", "/v1/admin/departments"},
                                                                      {"PATCH", "/v1/admin/departments/1"},
                                                                      {"DELETE", "/v1/admin/departments/1"},
                                                                      {"GET", "/v1/admin/policy"},
                                                                      {"PUT", "/v1/admin/policy"},
                                                                      {"GET", "/v1/admin/audit"},
                                                                      {"POST", "/v1/admin/notices"},
                                                                      {"POST", "/v1/admin/users/import"},
                                                                      {"POST", "/v1/admin/invitations"},
                                                                      {"GET", "/v1/admin/invitations"},
                                                                      {"DELETE", "/v1/admin/invitations/1"}};
  for (const auto& [method, path] : admin_routes) {
    INFO(method << " " << path);
    CHECK(member.call(method, path, json::object{}).status == 403);
  }
  // An admin of another organization: every id of this one is not_found there.
  auto other = fx.new_org("Other");
  api_client stranger{fx.port(), other.token};
  // Each with a body that would be valid, so that only the id decides.
  const std::vector<std::tuple<std::string, std::string, json::value>> by_id{
      {"GET", u, nullptr},
      {"PATCH", u, json::object{{"name", "X"}}},
      {"DELETE", u, nullptr},
      {"POST", u + "/suspend", json::object{{"reason", "x"}}},
      {"POST", u + "/restore", nullptr},
      {"POST", u + "/restrict", json::object{{"features", json::array{"send"}}}}};
  for (const auto& [method, path, body] : by_id) {
    INFO(method << " " << path);
    CHECK(stranger.call(method, path, body).status == 404);
  }
  CHECK(admin.ok("GET", u).at("status") == "active");  // nothing happened to Mia
}

TEST_CASE("admin: PATCH changes a user, keeps mobiles unique and the owner an owner") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto mia = fx.add_user(fx.owner, "Mia");
  auto ben = fx.add_user(fx.owner, "Ben");
  auto sales = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Sales"}}, 201);
  auto dept = std::string(sales.at("department").as_string());
  const std::string u = "/v1/admin/users/" + mia.id;

  auto changed = admin.ok("PATCH", u,
                          json::object{{"name", "Mia Wong"},
                                       {"title", "Lead"},
                                       {"role", "admin"},
                                       {"departments", json::array{dept.c_str()}}});
  CHECK(changed.at("name") == "Mia Wong");
  CHECK(changed.at("title") == "Lead");
  CHECK(changed.at("role") == "admin");
  CHECK(changed.at("departments") == json::array{dept.c_str()});
  auto entry = newest_audit(admin);
  CHECK(entry.at("action") == "user.update");
  CHECK(entry.at("target") == json::value("user:" + mia.id));
  CHECK(entry.at("summary").at("before").at("name") == "Mia");
  CHECK(entry.at("summary").at("after").at("name") == "Mia Wong");
  // The promotion applies at once: Mia's token now reaches admin routes.
  CHECK(api_client{fx.port(), mia.token}.call("GET", "/v1/admin/audit").status == 200);

  CHECK(admin.code("PATCH", u, json::object{{"mobile", ben.mobile}}) == "conflict");
  CHECK(admin.code("PATCH", u, json::object{{"mobile", "12345"}}) == "bad_request");
  CHECK(admin.code("PATCH", u, json::object{{"role", "owner"}}) == "bad_request");
  CHECK(admin.code("PATCH", u, json::object{{"status", "suspended"}}) == "bad_request");
  CHECK(admin.code("PATCH", u, json::object{{"shoe_size", 9}}) == "bad_request");
  CHECK(admin.code("PATCH", u, json::object{{"departments", json::array{"999999"}}}) == "not_found");
  CHECK(admin.code("PATCH", "/v1/admin/users/999999", json::object{{"name", "X"}}) == "not_found");
  // Nothing of the refused changes landed.
  auto now = admin.ok("GET", u);
  CHECK(now.at("mobile") == json::value(mia.mobile));
  CHECK(now.at("departments") == json::array{dept.c_str()});

  SECTION("the owner cannot be demoted, suspended, restricted or removed") {
    api_client mia_admin{fx.port(), mia.token};
    const std::string o = "/v1/admin/users/" + fx.owner.id;
    CHECK(mia_admin.code("PATCH", o, json::object{{"role", "member"}}) == "forbidden");
    CHECK(mia_admin.code("POST", o + "/suspend", json::object{{"reason", "coup"}}) == "forbidden");
    CHECK(mia_admin.code("POST", o + "/restrict", json::object{{"features", json::array{"send"}}}) ==
          "forbidden");
    CHECK(mia_admin.code("DELETE", o) == "forbidden");
    CHECK(admin.ok("GET", o).at("role") == "owner");
    // An admin can still edit the owner's profile fields.
    CHECK(mia_admin.ok("PATCH", o, json::object{{"title", "Founder"}}).at("title") == "Founder");
  }
  SECTION("an admin cannot suspend or remove themselves") {
    api_client mia_admin{fx.port(), mia.token};
    CHECK(mia_admin.code("POST", u + "/suspend", json::object{{"reason", "oops"}}) == "forbidden");
    CHECK(mia_admin.code("DELETE", u) == "forbidden");
  }
  SECTION("a new password works at login, the old one no longer does") {
    admin.ok("PATCH", "/v1/admin/users/" + ben.id, json::object{{"password", "a-new-password"}});
    CHECK(try_login(fx.port(), ben).status == 401);
    auto renamed = ben;
    renamed.password = "a-new-password";
    CHECK(try_login(fx.port(), renamed).status == 200);
    CHECK(newest_audit(admin).at("summary").at("password_changed") == true);
  }
}

TEST_CASE("admin: removing a user ends their sessions and tokens, keeps the row and frees the mobile") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto mia = fx.add_user(fx.owner, "Mia");
  ws_client ws(fx.port());
  REQUIRE(ws.hello(mia.token).at("ok") == true);

  auto removed = admin.ok("DELETE", "/v1/admin/users/" + mia.id);
  CHECK(removed.at("status") == "removed");
  auto kicked = ws.wait_event("kicked");
  REQUIRE(kicked);
  CHECK(kicked->at("data").at("reason") == "removed");
  CHECK(ws.wait_closed() == 4403);
  CHECK(api_client{fx.port(), mia.token}.call("GET", "/v1/me").status == 401);
  auto login = try_login(fx.port(), mia);
  CHECK(login.status == 403);
  CHECK(admin.ok("GET", "/v1/admin/users/" + mia.id).at("status") == "removed");
  CHECK(newest_audit(admin).at("action") == "user.remove");
  CHECK(admin.code("PATCH", "/v1/admin/users/" + mia.id, json::object{{"name", "X"}}) == "forbidden");
  // The number can be given to someone new; logins then reach the new user.
  auto again =
      admin.ok("POST", "/v1/admin/users",
               json::object{{"name", "Mia 2"}, {"mobile", mia.mobile}, {"password", mia.password}}, 201);
  CHECK(again.at("user") != json::value(mia.id));
  auto relogin = try_login(fx.port(), mia);
  REQUIRE(relogin.status == 200);
  CHECK(json::parse(relogin.body).at("user").at("user") == again.at("user"));
}

TEST_CASE("admin: suspension closes live sessions with 4403, refuses login with the reason, and lifts") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto mia = fx.add_user(fx.owner, "Mia");
  const std::string u = "/v1/admin/users/" + mia.id;
  ws_client phone(fx.port()), desktop(fx.port());
  REQUIRE(phone.hello(mia.token, "phone").at("ok") == true);
  REQUIRE(desktop.hello(mia.token, "desktop").at("ok") == true);

  CHECK(admin.code("POST", u + "/suspend", json::object{}) == "bad_request");  // reason is required
  CHECK(admin.code("POST", u + "/suspend", json::object{{"reason", "x"}, {"until", now_ms() - 1000}}) ==
        "bad_request");
  CHECK(admin.code("POST", u + "/suspend", json::object{{"reason", "x"}, {"until", INT64_MAX / 2}}) ==
        "bad_request");
  CHECK(admin.code("POST", u + "/restrict",
                   json::object{{"features", json::array{"send"}}, {"until", 253402300800000}}) ==
        "bad_request");
  auto suspended = admin.ok("POST", u + "/suspend", json::object{{"reason", "lost laptop"}});
  CHECK(suspended.at("status") == "suspended");
  CHECK(suspended.at("suspension").at("reason") == "lost laptop");
  CHECK(suspended.at("suspension").at("until").is_null());
  for (auto* ws : {&phone, &desktop}) {
    auto kicked = ws->wait_event("kicked");
    REQUIRE(kicked);
    CHECK(kicked->at("data").at("reason") == "suspended");
    CHECK(ws->wait_closed() == 4403);
  }
  auto login = try_login(fx.port(), mia);
  CHECK(login.status == 403);
  CHECK(error_message(login).find("lost laptop") != std::string::npos);
  CHECK(api_client{fx.port(), mia.token}.call("GET", "/v1/directory/departments").status == 403);
  ws_client later(fx.port());
  CHECK(later.hello(mia.token).at("error").at("code") == "forbidden");
  CHECK(later.wait_closed() == 4403);
  CHECK(newest_audit(admin).at("action") == "user.suspend");

  SECTION("restore lets them in again") {
    CHECK(admin.ok("POST", u + "/restore").at("status") == "active");
    CHECK(try_login(fx.port(), mia).status == 200);
    ws_client back(fx.port());
    CHECK(back.hello(mia.token).at("ok") == true);  // tokens survive a suspension
    CHECK(newest_audit(admin).at("action") == "user.restore");
  }
  SECTION("a suspension with until lifts itself") {
    admin.ok("POST", u + "/restore");
    auto until = now_ms() + 1500;
    CHECK(admin.ok("POST", u + "/suspend", json::object{{"reason", "cool off"}, {"until", until}})
              .at("suspension")
              .at("until") == until);
    CHECK(try_login(fx.port(), mia).status == 403);
    std::this_thread::sleep_for(std::chrono::milliseconds(until - now_ms() + 200));
    CHECK(try_login(fx.port(), mia).status == 200);
    CHECK(admin.ok("GET", u).at("status") == "active");
  }
}

TEST_CASE("admin: restrictions block chosen features while the account stays active") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto mia = fx.add_user(fx.owner, "Mia");
  const std::string u = "/v1/admin/users/" + mia.id;
  ws_client ws(fx.port());
  REQUIRE(ws.hello(mia.token).at("ok") == true);
  auto conv = ws.call("open_direct", {{"user", fx.owner.id}}).at("data").at("conv").at("conv");
  auto send = [&](const std::string& cmid) {
    return ws.call(
        "send",
        {{"conv", conv}, {"client_msg_id", cmid}, {"type", "text"}, {"body", json::object{{"text", "hi"}}}});
  };
  REQUIRE(send("m1").at("ok") == true);

  CHECK(admin.code("POST", u + "/restrict", json::object{{"features", json::array{"fly"}}}) == "bad_request");
  CHECK(admin.code("POST", u + "/restrict", json::object{}) == "bad_request");
  auto restricted =
      admin.ok("POST", u + "/restrict", json::object{{"features", json::array{"send", "create_group"}}});
  CHECK(restricted.at("status") == "active");
  CHECK(restricted.at("restriction").at("features") == json::array{"create_group", "send"});
  CHECK(newest_audit(admin).at("action") == "user.restrict");
  // The live session takes it at once, without reconnecting.
  auto refused = send("m2");
  CHECK(refused.at("error").at("code") == "forbidden");
  CHECK(ws.call("create_group", {{"name", "g"}, {"members", json::array{}}}).at("error").at("code") ==
        "forbidden");
  CHECK(ws.call("sync", {{"conv", conv}, {"after_seq", 0}}).at("ok") == true);
  // So does a new session.
  ws_client again(fx.port());
  REQUIRE(again.hello(mia.token, "dev-2").at("ok") == true);
  CHECK(again
            .call("send", {{"conv", conv},
                           {"client_msg_id", "m3"},
                           {"type", "text"},
                           {"body", json::object{{"text", "hi"}}}})
            .at("error")
            .at("code") == "forbidden");

  SECTION("an empty list lifts every restriction") {
    auto lifted = admin.ok("POST", u + "/restrict", json::object{{"features", json::array{}}});
    CHECK_FALSE(lifted.contains("restriction"));
    CHECK(eventually([&] { return send("m4").at("ok") == true; }, std::chrono::seconds(5)));
  }
  SECTION("a restriction with until lifts itself") {
    auto until = now_ms() + 1500;
    admin.ok("POST", u + "/restrict", json::object{{"features", json::array{"send"}}, {"until", until}});
    CHECK(send("m5").at("error").at("code") == "forbidden");
    std::this_thread::sleep_for(std::chrono::milliseconds(until - now_ms() + 200));
    CHECK(send("m6").at("ok") == true);
    CHECK_FALSE(admin.ok("GET", u).contains("restriction"));
  }
}

TEST_CASE("PATCH /v1/me changes the profile, never the mobile or what was set at registration") {
  org_fixture fx;
  auto mia = fx.add_user(fx.owner, "Mia");
  api_client me{fx.port(), mia.token};
  auto changed = me.ok("PATCH", "/v1/me",
                       json::object{{"name", "Mia W"},
                                    {"title", "Engineer"},
                                    {"email", "mia@example.com"},
                                    {"avatar", "https://example.com/mia.png"}});
  CHECK(changed.at("name") == "Mia W");
  CHECK(changed.at("title") == "Engineer");
  CHECK(changed.at("email") == "mia@example.com");
  CHECK(changed.at("avatar") == "https://example.com/mia.png");
  CHECK(me.ok("GET", "/v1/me") == changed);

  auto mobile = me.call("PATCH", "/v1/me", json::object{{"mobile", "+8613900000000"}});
  CHECK(mobile.status == 403);
  CHECK(error_message(mobile).find("mobile") != std::string::npos);
  CHECK(me.code("PATCH", "/v1/me", json::object{{"role", "admin"}}) == "forbidden");
  CHECK(me.code("PATCH", "/v1/me", json::object{{"departments", json::array{}}}) == "forbidden");
  CHECK(me.code("PATCH", "/v1/me", json::object{{"name", ""}}) == "bad_request");
  CHECK(me.code("PATCH", "/v1/me", json::object{{"email", "not-an-address"}}) == "bad_request");
  CHECK(me.code("PATCH", "/v1/me", json::object{{"colour", "blue"}}) == "bad_request");
  auto now = me.ok("GET", "/v1/me");
  CHECK(now.at("mobile") == json::value(mia.mobile));
  CHECK(now.at("role") == "member");
  // A user's own profile edit is not an admin action.
  CHECK(newest_audit(api_client{fx.port(), fx.owner.token}).at("action") == "user.create");
}

TEST_CASE("policy: defaults, partial PUT, validation, and effect on live sessions") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto defaults = admin.ok("GET", "/v1/admin/policy");
  CHECK(defaults.at("directory_visibility") == "all");
  CHECK(defaults.at("retention_days").is_null());
  CHECK(defaults.at("recall_window_s") == 120);
  CHECK(defaults.at("min_client_version").is_null());
  CHECK(defaults.at("storage_quota_mb").is_null());

  auto put =
      admin.ok("PUT", "/v1/admin/policy", json::object{{"retention_days", 30}, {"storage_quota_mb", 1024}});
  CHECK(put.at("retention_days") == 30);
  CHECK(put.at("storage_quota_mb") == 1024);
  CHECK(put.at("recall_window_s") == 120);  // untouched
  CHECK(admin.ok("GET", "/v1/admin/policy") == put);
  auto entry = newest_audit(admin);
  CHECK(entry.at("action") == "policy.update");
  CHECK(entry.at("summary").at("before").at("retention_days").is_null());
  CHECK(entry.at("summary").at("after").at("retention_days") == 30);
  CHECK(admin.ok("PUT", "/v1/admin/policy", json::object{{"retention_days", nullptr}})
            .at("retention_days")
            .is_null());

  for (const auto& bad :
       {json::object{{"directory_visibility", "some"}}, json::object{{"retention_days", 0}},
        json::object{{"recall_window_s", -1}}, json::object{{"min_client_version", "v2"}},
        json::object{{"min_client_version", "1.2.3.4.5"}}, json::object{{"storage_quota_mb", "lots"}},
        json::object{{"visibility_rules", 3}}, json::object{{"unknown_key", 1}}}) {
    INFO(json::serialize(bad));
    CHECK(admin.code("PUT", "/v1/admin/policy", bad) == "bad_request");
  }
  CHECK(admin.code("PUT", "/v1/admin/policy",
                   json::object{{"visibility_rules", json::object{{"999999", json::array{}}}}}) ==
        "not_found");

  SECTION("a raised min_client_version closes older live sessions with 4426 and refuses their hello") {
    ws_client old_client(fx.port()), new_client(fx.port());
    REQUIRE(old_client.hello(fx.owner.token, "old", "1.9.9").at("ok") == true);
    REQUIRE(new_client.hello(fx.owner.token, "new", "2.0.0").at("ok") == true);
    admin.ok("PUT", "/v1/admin/policy", json::object{{"min_client_version", "2.0"}});
    auto kicked = old_client.wait_event("kicked");
    REQUIRE(kicked);
    CHECK(kicked->at("data").at("reason") == "client_too_old");
    CHECK(old_client.wait_closed() == 4426);
    CHECK(new_client.call("ping").at("ok") == true);
    ws_client again(fx.port());
    CHECK(again.hello(fx.owner.token, "old", "1.10").at("error").at("code") == "upgrade_required");
    CHECK(again.wait_closed() == 4426);
    ws_client newer(fx.port());
    CHECK(newer.hello(fx.owner.token, "newer", "2.0.1-beta").at("ok") == true);
  }
  SECTION("the recall window comes from policy") {
    ws_client ws(fx.port());
    REQUIRE(ws.hello(fx.owner.token).at("ok") == true);
    auto mia = fx.add_user(fx.owner, "Mia");
    ws_client mia_ws(fx.port());
    REQUIRE(mia_ws.hello(mia.token).at("ok") == true);
    auto conv = mia_ws.call("open_direct", {{"user", fx.owner.id}}).at("data").at("conv").at("conv");
    auto sent = mia_ws.call(
        "send",
        {{"conv", conv}, {"client_msg_id", "a"}, {"type", "text"}, {"body", json::object{{"text", "x"}}}});
    REQUIRE(sent.at("ok") == true);
    admin.ok("PUT", "/v1/admin/policy", json::object{{"recall_window_s", 0}});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(
        mia_ws.call("recall", {{"conv", conv}, {"seq", sent.at("data").at("seq")}}).at("error").at("code") ==
        "forbidden");
  }
}

TEST_CASE("notices: an admin's announcement reaches every live session and waits for the others") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto mia = fx.add_user(fx.owner, "Mia");
  auto other = fx.new_org("Other");
  ws_client mia_ws(fx.port()), stranger_ws(fx.port());
  REQUIRE(mia_ws.hello(mia.token).at("ok") == true);
  REQUIRE(stranger_ws.hello(other.token).at("ok") == true);

  auto n1 =
      admin.ok("POST", "/v1/admin/notices", json::object{{"title", "Welcome"}, {"body", "Hello all"}}, 201);
  CHECK(n1.at("title") == "Welcome");
  CHECK(n1.at("body") == "Hello all");
  CHECK(n1.at("ts").as_int64() > 0);
  auto ev = mia_ws.wait_event("notice");
  REQUIRE(ev);
  CHECK(ev->at("data") == n1);
  CHECK_FALSE(stranger_ws.wait_event("notice", std::chrono::milliseconds(300)));
  CHECK(newest_audit(admin).at("action") == "notice.create");
  CHECK(admin.code("POST", "/v1/admin/notices", json::object{{"title", ""}, {"body", "x"}}) == "bad_request");
  CHECK(admin.code("POST", "/v1/admin/notices", json::object{{"title", "x"}}) == "bad_request");
  CHECK(api_client{fx.port(), mia.token}.code("POST", "/v1/admin/notices",
                                              json::object{{"title", "x"}, {"body", "y"}}) == "forbidden");

  for (int i = 2; i <= 5; ++i)
    admin.ok("POST", "/v1/admin/notices", json::object{{"title", "N" + std::to_string(i)}, {"body", ""}},
             201);
  api_client me{fx.port(), mia.token};
  auto page1 = me.ok("GET", "/v1/notices?limit=3");
  REQUIRE(page1.at("items").as_array().size() == 3);
  CHECK(page1.at("items").as_array()[0].at("title") == "N5");
  auto page2 = me.ok("GET", "/v1/notices?limit=3&cursor=" + std::string(page1.at("next_cursor").as_string()));
  REQUIRE(page2.at("items").as_array().size() == 2);
  CHECK(page2.at("items").as_array()[1] == n1);
  CHECK(page2.at("next_cursor").is_null());
  CHECK(api_client{fx.port(), other.token}.ok("GET", "/v1/notices").at("items").as_array().empty());
}

TEST_CASE("admin: a suspension or a raised minimum made through one node reaches sessions on another") {
  org_fixture fx;
  server node_b(fx.db.url());  // a second node on the same database
  api_client admin{fx.port(), fx.owner.token};
  auto mia = fx.add_user(fx.owner, "Mia");
  ws_client on_b(node_b.port());
  REQUIRE(on_b.hello(mia.token).at("ok") == true);
  ws_client old_on_b(node_b.port());
  REQUIRE(old_on_b.hello(fx.owner.token, "old", "1.0.0").at("ok") == true);

  admin.ok("POST", "/v1/admin/users/" + mia.id + "/suspend", json::object{{"reason", "audit"}});
  auto kicked = on_b.wait_event("kicked", std::chrono::seconds(15));
  REQUIRE(kicked);
  CHECK(kicked->at("data").at("reason") == "suspended");
  CHECK(on_b.wait_closed() == 4403);
  // Node B refuses the token over HTTP too.
  CHECK(api_client{node_b.port(), mia.token}.call("GET", "/v1/directory/departments").status == 403);

  admin.ok("PUT", "/v1/admin/policy", json::object{{"min_client_version", "2"}});
  auto too_old = old_on_b.wait_event("kicked", std::chrono::seconds(15));
  REQUIRE(too_old);
  CHECK(too_old->at("data").at("reason") == "client_too_old");
  CHECK(old_on_b.wait_closed() == 4426);
}
