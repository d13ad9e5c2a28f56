// Departments: the tree's rules (sibling names, no cycles, deletes), who may change it, the
// directory listing, the users in departments, and the audit entry of each change.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "api_client.hpp"
#include "fixture.hpp"
#include "http_client.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {

std::string id(const json::object& dept) {
  return std::string(dept.at("department").as_string());
}

}  // namespace

TEST_CASE("departments: sibling names, cycles, moves and deletes as the spec says") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto sales = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Sales"}}, 201);
  CHECK(sales.at("parent").is_null());
  CHECK(sales.at("sort").as_int64() == 0);
  auto east =
      admin.ok("POST", "/v1/admin/departments", json::object{{"name", "East"}, {"parent", id(sales)}}, 201);
  CHECK(east.at("parent").as_string() == id(sales));
  auto team = admin.ok("POST", "/v1/admin/departments",
                       json::object{{"name", "Team"}, {"parent", id(east)}, {"sort", 3}}, 201);

  SECTION("names are unique among siblings, the roots included") {
    CHECK(admin.call("POST", "/v1/admin/departments", json::object{{"name", "Sales"}}).status == 409);
    CHECK(admin.call("POST", "/v1/admin/departments", json::object{{"name", "East"}, {"parent", id(sales)}})
              .status == 409);
    // The same name elsewhere in the tree is fine.
    admin.ok("POST", "/v1/admin/departments", json::object{{"name", "East"}}, 201);
    CHECK(
        admin.call("PATCH", "/v1/admin/departments/" + id(team), json::object{{"parent", nullptr}}).status ==
        200);
    CHECK(admin.code("PATCH", "/v1/admin/departments/" + id(team), json::object{{"name", "Sales"}}) ==
          "conflict");
  }
  SECTION("bad names and unknown parents") {
    CHECK(admin.code("POST", "/v1/admin/departments", json::object{{"name", "A/B"}}) == "bad_request");
    CHECK(admin.code("POST", "/v1/admin/departments", json::object{{"name", ""}}) == "bad_request");
    CHECK(admin.call("POST", "/v1/admin/departments", json::object{{"name", "X"}, {"parent", "999999"}})
              .status == 404);
    CHECK(admin.call("PATCH", "/v1/admin/departments/999999", json::object{{"name", "X"}}).status == 404);
  }
  SECTION("a move under itself or its own subtree is 400, elsewhere it moves") {
    CHECK(admin.call("PATCH", "/v1/admin/departments/" + id(sales), json::object{{"parent", id(team)}})
              .status == 400);
    CHECK(admin.call("PATCH", "/v1/admin/departments/" + id(sales), json::object{{"parent", id(sales)}})
              .status == 400);
    auto moved = admin.ok("PATCH", "/v1/admin/departments/" + id(team),
                          json::object{{"parent", id(sales)}, {"name", "Team A"}, {"sort", -1}});
    CHECK(moved.at("parent").as_string() == id(sales));
    CHECK(moved.at("name").as_string() == "Team A");
    CHECK(moved.at("sort").as_int64() == -1);
    // Now Team A and East are both under Sales; East under Team A is a legal move.
    admin.ok("PATCH", "/v1/admin/departments/" + id(east), json::object{{"parent", id(moved)}});
  }
  SECTION("deleting one with children or members is 409 unless cascade moves them to its parent") {
    auto bob = admin.ok(
        "POST", "/v1/admin/users",
        json::object{{"name", "Bob"}, {"mobile", "+15557770001"}, {"departments", json::array{id(east)}}},
        201);
    CHECK(bob.at("departments").as_array() == json::array{json::value(id(east))});
    CHECK(admin.code("DELETE", "/v1/admin/departments/" + id(east)) == "conflict");
    CHECK(admin.code("DELETE", "/v1/admin/departments/" + id(east) + "?cascade=everything") == "bad_request");
    auto gone = admin.ok("DELETE", "/v1/admin/departments/" + id(east) + "?cascade=move_to_parent");
    CHECK(id(gone) == id(east));
    auto after = admin.ok("GET", "/v1/admin/users/" + std::string(bob.at("user").as_string()));
    CHECK(after.at("departments").as_array() == json::array{json::value(id(sales))});
    CHECK(fx.db.scalar("SELECT parent_id FROM departments WHERE id = " + id(team)) == id(sales));
    // A root with members: they just leave it.
    admin.ok("DELETE", "/v1/admin/departments/" + id(sales) + "?cascade=move_to_parent");
    auto last = admin.ok("GET", "/v1/admin/users/" + std::string(bob.at("user").as_string()));
    CHECK(last.at("departments").as_array().empty());
    CHECK(fx.db.scalar("SELECT parent_id IS NULL FROM departments WHERE id = " + id(team)) == "t");
    // A child moving up whose name its new siblings use: the whole delete is 409, nothing moves.
    CHECK(fx.db.scalar("SELECT name || (parent_id IS NULL) FROM departments WHERE id = " + id(team)) ==
          "Teamtrue");
    auto ops = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Ops"}}, 201);
    admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Team"}, {"parent", id(ops)}}, 201);
    CHECK(admin.code("DELETE", "/v1/admin/departments/" + id(ops) + "?cascade=move_to_parent") == "conflict");
    CHECK(fx.db.scalar("SELECT count(*) FROM departments WHERE parent_id = " + id(ops)) == "1");
    // An empty one goes without cascade.
    admin.ok("DELETE", "/v1/admin/departments/" + id(team));
    CHECK(admin.call("DELETE", "/v1/admin/departments/" + id(team)).status == 404);
  }
  SECTION("a user's departments must be the org's") {
    CHECK(admin
              .call("POST", "/v1/admin/users",
                    json::object{
                        {"name", "Cy"}, {"mobile", "+15557770002"}, {"departments", json::array{"999999"}}})
              .status == 404);
    CHECK(fx.db.scalar("SELECT count(*) FROM users WHERE mobile = '+15557770002'") == "0");
  }
}

TEST_CASE("departments: members read the directory, only admins change it, never across orgs") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto member = fx.add_user(fx.owner, "Mia");
  api_client mia{fx.port(), member.token};
  auto sales = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Sales"}}, 201);
  admin.ok("POST", "/v1/admin/departments", json::object{{"name", "East"}, {"parent", id(sales)}}, 201);

  auto listed = mia.ok("GET", "/v1/directory/departments");
  REQUIRE(listed.at("departments").as_array().size() == 2);
  CHECK(listed.at("departments").as_array()[0].at("name").as_string() == "Sales");  // roots first

  CHECK(mia.call("POST", "/v1/admin/departments", json::object{{"name", "Mine"}}).status == 403);
  CHECK(mia.call("PATCH", "/v1/admin/departments/" + id(sales), json::object{{"name", "Mine"}}).status ==
        403);
  CHECK(mia.call("DELETE", "/v1/admin/departments/" + id(sales)).status == 403);
  CHECK(api_client{fx.port(), ""}.call("GET", "/v1/directory/departments").status == 401);

  auto other = fx.new_org("Other Co");
  api_client stranger{fx.port(), other.token};
  CHECK(
      stranger.call("PATCH", "/v1/admin/departments/" + id(sales), json::object{{"name", "Taken"}}).status ==
      404);
  CHECK(stranger.call("DELETE", "/v1/admin/departments/" + id(sales)).status == 404);
  CHECK(stranger.call("POST", "/v1/admin/departments", json::object{{"name", "X"}, {"parent", id(sales)}})
            .status == 404);
  CHECK(stranger.ok("GET", "/v1/directory/departments").at("departments").as_array().empty());
  CHECK(fx.db.scalar("SELECT name FROM departments WHERE id = " + id(sales)) == "Sales");

  auto wrong = admin.call("GET", "/v1/admin/departments/" + id(sales));
  CHECK(wrong.status == 405);
  CHECK(wrong.headers.at("allow") == "PATCH, DELETE");
}

TEST_CASE("every department change leaves one audit entry, and the audit log refuses edits") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto d = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Ops"}}, 201);
  admin.ok("PATCH", "/v1/admin/departments/" + id(d), json::object{{"name", "Operations"}});
  admin.ok("DELETE", "/v1/admin/departments/" + id(d));
  // A refused change leaves none.
  CHECK(admin.call("DELETE", "/v1/admin/departments/" + id(d)).status == 404);
  CHECK(fx.db.scalar("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log") ==
        "department.create,department.update,department.delete");
  CHECK(fx.db.scalar("SELECT count(DISTINCT actor_id) FROM audit_log") == "1");
  CHECK(fx.db.scalar("SELECT actor_id FROM audit_log LIMIT 1") == fx.owner.id);
  CHECK(fx.db.scalar("SELECT ip FROM audit_log LIMIT 1") == "127.0.0.1");
  CHECK(fx.db.scalar("SELECT summary->'before'->>'name' || '>' || (summary->'after'->>'name') FROM audit_log "
                     "WHERE action = 'department.update'") == "Ops>Operations");
  CHECK_THROWS(fx.db.exec("UPDATE audit_log SET action = 'x'"));
  CHECK_THROWS(fx.db.exec("DELETE FROM audit_log"));
  CHECK(fx.db.scalar("SELECT count(*) FROM audit_log") == "3");
}

TEST_CASE("GET /v1/admin/audit pages newest first with an opaque cursor, for admins of the org only") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  for (const char* name : {"A", "B", "C"})
    admin.ok("POST", "/v1/admin/departments", json::object{{"name", name}}, 201);
  auto first = admin.ok("GET", "/v1/admin/audit?limit=2");
  const auto& items = first.at("items").as_array();
  REQUIRE(items.size() == 2);
  CHECK(items[0].at("summary").at("after").at("name").as_string() == "C");
  CHECK(items[1].at("summary").at("after").at("name").as_string() == "B");
  CHECK(items[0].at("action").as_string() == "department.create");
  CHECK(items[0].at("actor").as_string() == fx.owner.id);
  CHECK(items[0].at("ip").as_string() == "127.0.0.1");
  CHECK(items[0].at("ts").as_int64() >= items[1].at("ts").as_int64());
  REQUIRE(first.at("next_cursor").is_string());
  auto cursor = std::string(first.at("next_cursor").as_string());
  auto second = admin.ok("GET", "/v1/admin/audit?limit=2&cursor=" + cursor);
  REQUIRE(second.at("items").as_array().size() == 1);
  CHECK(second.at("items").as_array()[0].at("summary").at("after").at("name").as_string() == "A");
  CHECK(second.at("next_cursor").is_null());
  CHECK(admin.ok("GET", "/v1/admin/audit?limit=100000").at("items").as_array().size() == 3);  // clamped

  CHECK(admin.code("GET", "/v1/admin/audit?cursor=bogus") == "bad_request");
  CHECK(admin.code("GET", "/v1/admin/audit?limit=0") == "bad_request");
  CHECK(admin.code("GET", "/v1/admin/audit?limit=ten") == "bad_request");
  auto member = fx.add_user(fx.owner, "Mo");
  CHECK(api_client{fx.port(), member.token}.call("GET", "/v1/admin/audit").status == 403);
  auto other = fx.new_org("Elsewhere");
  CHECK(api_client{fx.port(), other.token}.ok("GET", "/v1/admin/audit").at("items").as_array().empty());
}
