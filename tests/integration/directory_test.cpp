// The directory: search by name or mobile prefix, paging, department filters, and the visibility
// modes (all, department, custom) as the directory, presence and open_direct apply them.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <set>

#include "api_client.hpp"
#include "fixture.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {

std::set<std::string> ids_in(const json::object& page) {
  std::set<std::string> out;
  for (const auto& u : page.at("items").as_array()) out.insert(std::string(u.at("user").as_string()));
  return out;
}

// Every user `a` sees in the directory, page by page.
std::set<std::string> directory_of(const api_client& a) {
  std::set<std::string> out;
  std::string cursor;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = a.ok("GET", "/v1/directory/users?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const auto& id : ids_in(page)) out.insert(id);
    if (page.at("next_cursor").is_null()) break;
    cursor = std::string(page.at("next_cursor").as_string());
  }
  return out;
}

std::string dept_id(const json::object& d) {
  return std::string(d.at("department").as_string());
}

}  // namespace

TEST_CASE("directory: name and mobile prefixes, department filter, paging with a cursor") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto sales = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Sales"}}, 201);
  std::vector<std::string> names{"alice", "Alan", "albert", "Bob", "王芳", "王伟"};
  std::map<std::string, json::object> made;
  for (std::size_t i = 0; i < names.size(); ++i) {
    json::object body{{"name", names[i]}, {"mobile", "+86139000000" + std::to_string(10 + i)}};
    if (i % 2 == 0) body["departments"] = json::array{sales.at("department")};
    made[names[i]] = admin.ok("POST", "/v1/admin/users", body, 201);
  }
  auto names_of = [&](const json::object& page) {
    std::vector<std::string> out;
    for (const auto& u : page.at("items").as_array()) out.emplace_back(u.at("name").as_string());
    return out;
  };
  // Case-insensitive name prefix, ordered by name.
  CHECK(names_of(admin.ok("GET", "/v1/directory/users?q=AL")) ==
        std::vector<std::string>{"Alan", "albert", "alice"});
  // Percent-encoded UTF-8.
  CHECK(names_of(admin.ok("GET", "/v1/directory/users?q=%E7%8E%8B")) ==
        std::vector<std::string>{"王伟", "王芳"});
  // A mobile prefix ('+' need not be encoded).
  CHECK(names_of(admin.ok("GET", "/v1/directory/users?q=+8613900000011")) ==
        std::vector<std::string>{"Alan"});
  CHECK(names_of(admin.ok("GET", "/v1/directory/users?q=%2B86139000000")).size() == 6);
  // LIKE's wildcards are plain characters.
  CHECK(admin.ok("GET", "/v1/directory/users?q=%25").at("items").as_array().empty());
  CHECK(admin.ok("GET", "/v1/directory/users?q=_").at("items").as_array().empty());
  // Direct members of a department.
  CHECK(names_of(admin.ok("GET", "/v1/directory/users?department=" + dept_id(sales))) ==
        std::vector<std::string>{"albert", "alice", "王芳"});
  CHECK(admin.call("GET", "/v1/directory/users?department=999999").status == 404);
  // Pages of two over everyone (six plus the owner), each once.
  auto all = directory_of(admin);
  CHECK(all.size() == 7);
  CHECK(admin.call("GET", "/v1/directory/users?cursor=zzz").status == 400);
  CHECK(admin.call("GET", "/v1/directory/users?limit=0").status == 400);
  // Removed users leave the directory.
  admin.ok("DELETE", "/v1/admin/users/" + std::string(made["Bob"].at("user").as_string()));
  CHECK(directory_of(admin).size() == 6);
}

TEST_CASE("directory: visibility modes on a generated tree, in the directory, presence and open_direct") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  // A ─ A1, A2;  B
  auto a = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "A"}}, 201);
  auto a1 = admin.ok("POST", "/v1/admin/departments",
                     json::object{{"name", "A1"}, {"parent", a.at("department")}}, 201);
  auto a2 = admin.ok("POST", "/v1/admin/departments",
                     json::object{{"name", "A2"}, {"parent", a.at("department")}}, 201);
  auto b = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "B"}}, 201);
  auto in = [&](const account& u, const json::object& d) {
    admin.ok("PATCH", "/v1/admin/users/" + u.id,
             json::object{{"departments", json::array{d.at("department")}}});
  };
  auto ua = fx.add_user(fx.owner, "ua");
  auto ua1 = fx.add_user(fx.owner, "ua1");
  auto ua2 = fx.add_user(fx.owner, "ua2");
  auto ub = fx.add_user(fx.owner, "ub");
  auto none = fx.add_user(fx.owner, "none");
  in(ua, a);
  in(ua1, a1);
  in(ua2, a2);
  in(ub, b);
  auto everyone = std::set<std::string>{fx.owner.id, ua.id, ua1.id, ua2.id, ub.id, none.id};
  auto dir = [&](const account& u) { return directory_of(api_client{fx.port(), u.token}); };
  auto presence_code = [&](const account& viewer, const account& target) {
    ws_client ws(fx.port());
    ws.hello(viewer.token);
    auto r = ws.call("presence", {{"users", json::array{target.id.c_str()}}});
    return r.at("ok") == true ? std::string("ok") : std::string(r.at("error").at("code").as_string());
  };
  auto open_direct_code = [&](const account& viewer, const account& target) {
    ws_client ws(fx.port());
    ws.hello(viewer.token);
    auto r = ws.call("open_direct", {{"user", target.id}});
    return r.at("ok") == true ? std::string("ok") : std::string(r.at("error").at("code").as_string());
  };

  SECTION("all: everyone sees everyone") {
    CHECK(dir(none) == everyone);
    CHECK(presence_code(ua1, ub) == "ok");
  }
  SECTION("department: own departments and their subtrees, plus conversation partners") {
    admin.ok("PUT", "/v1/admin/policy", json::object{{"directory_visibility", "department"}});
    CHECK(dir(ua) == std::set<std::string>{ua.id, ua1.id, ua2.id});
    CHECK(dir(ua1) == std::set<std::string>{ua1.id});
    CHECK(dir(none) == std::set<std::string>{none.id});
    CHECK(dir(fx.owner) == everyone);  // admins see everyone
    CHECK(presence_code(ua, ua2) == "ok");
    CHECK(presence_code(ua1, ua) == "not_found");
    CHECK(presence_code(ua1, ub) == "not_found");
    CHECK(open_direct_code(ua1, ub) == "not_found");
    CHECK(open_direct_code(ua, ua1) == "ok");
    // The department tree: A1 with its ancestor A, nothing else.
    auto tree =
        api_client{fx.port(), ua1.token}.ok("GET", "/v1/directory/departments").at("departments").as_array();
    std::set<std::string> seen;
    for (const auto& d : tree) seen.insert(std::string(d.at("name").as_string()));
    CHECK(seen == std::set<std::string>{"A", "A1"});
    // Sharing a conversation makes two people visible to each other.
    ws_client owner_ws(fx.port());
    owner_ws.hello(fx.owner.token);
    REQUIRE(owner_ws
                .call("create_group",
                      {{"name", "project"}, {"members", json::array{ua1.id.c_str(), ub.id.c_str()}}})
                .at("ok") == true);
    // (ua opened a direct conversation with ua1 above: they share one too.)
    CHECK(dir(ua1) == std::set<std::string>{ua1.id, ub.id, fx.owner.id, ua.id});
    CHECK(presence_code(ua1, ub) == "ok");
    CHECK(open_direct_code(ub, ua1) == "ok");
  }
  SECTION("custom: the departments each department's rule lists") {
    admin.ok(
        "PUT", "/v1/admin/policy",
        json::object{{"directory_visibility", "custom"},
                     {"visibility_rules", json::object{{dept_id(b), json::array{a1.at("department")}},
                                                       {dept_id(a1), json::array{a.at("department")}}}}});
    CHECK(dir(ub) == std::set<std::string>{ub.id, ua1.id});
    CHECK(dir(ua1) == std::set<std::string>{ua.id, ua1.id, ua2.id});  // A with its subtree
    CHECK(dir(ua) == std::set<std::string>{ua.id});                   // no rule for A
    CHECK(presence_code(ub, ua1) == "ok");
    CHECK(presence_code(ub, ua) == "not_found");
    CHECK(open_direct_code(ua, ub) == "not_found");
  }
}
