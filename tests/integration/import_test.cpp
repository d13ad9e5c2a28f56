// POST /v1/admin/users/import: CSV and JSON, per-row reports, departments created from paths,
// updates of known numbers, and bad rows that never cost the good ones.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <set>

#include "api_client.hpp"
#include "fixture.hpp"
#include "http_client.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {

http_reply import(const org_fixture& fx, const std::string& body, const std::string& type = "text/csv",
                  const std::string& token = "") {
  return http_call(
      fx.port(), "POST", "/v1/admin/users/import", body,
      {{"Authorization", "Bearer " + (token.empty() ? fx.owner.token : token)}, {"Content-Type", type}});
}

std::string mobile(int i) {
  return "+86137" + std::to_string(10000000 + i);
}

}  // namespace

TEST_CASE("import: 10,000 CSV rows with 100 bad ones report exactly those 100 and create the rest") {
  org_fixture fx;
  std::string csv = "name,mobile,department,title\r\n";
  std::set<int> bad;
  for (int i = 1; i <= 10000; ++i) {
    if (i % 100 == 37) {
      bad.insert(i);
      // Four kinds of bad row, in turn.
      switch ((i / 100) % 4) {
        case 0:
          csv += "Bad " + std::to_string(i) + ",12345,Sales/East,Rep\r\n";
          break;  // mobile
        case 1:
          csv += "," + mobile(i) + ",Sales/East,Rep\r\n";
          break;  // name
        case 2:
          csv += "Bad " + std::to_string(i) + "," + mobile(i) + ",Sales//East,Rep\r\n";
          break;  // path
        default:
          csv += "Bad " + std::to_string(i) + "," + mobile(i) + "\r\n";
          break;  // fields
      }
      continue;
    }
    const char* dept = i % 3 == 0 ? "Sales/East" : i % 3 == 1 ? "Sales/West" : "\"R&D, Labs\"";
    csv += "User " + std::to_string(i) + "," + mobile(i) + "," + dept + ",Engineer\r\n";
  }
  auto r = import(fx, csv);
  INFO(r.body.substr(0, 500));
  REQUIRE(r.status == 200);
  auto body = json::parse(r.body).as_object();
  CHECK(body.at("created") == 9900);
  CHECK(body.at("updated") == 0);
  CHECK(body.at("failed") == 100);
  const auto& results = body.at("results").as_array();
  REQUIRE(results.size() == 10000);
  std::set<int> reported;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& res = results[i].as_object();
    CHECK(res.at("row") == static_cast<int>(i + 1));
    if (res.at("status") == "error") {
      reported.insert(static_cast<int>(res.at("row").as_int64()));
      CHECK(res.at("error").at("code") == "bad_request");
      CHECK_FALSE(res.contains("user"));
    } else {
      CHECK(res.at("status") == "created");
    }
  }
  CHECK(reported == bad);
  CHECK(fx.db.scalar("SELECT count(*) FROM users WHERE name LIKE 'User %'") == "9900");
  // Departments came from the paths, once each.
  CHECK(fx.db.scalar("SELECT string_agg(name, '|' ORDER BY name) FROM departments") ==
        "East|R&D, Labs|Sales|West");
  CHECK(fx.db.scalar("SELECT count(*) FROM user_departments") == "9900");
  auto east_members = fx.db.scalar(
      "SELECT count(*) FROM user_departments ud JOIN departments d ON d.org_id = ud.org_id AND d.id = "
      "ud.department_id "
      "WHERE d.name = 'East'");
  CHECK(east_members == "3300");
  // One audit entry per chunk of 500.
  CHECK(fx.db.scalar("SELECT count(*) FROM audit_log WHERE action = 'user.import'") == "20");

  SECTION("importing again updates the same people instead of creating them") {
    std::string again = "name,mobile,title\n";
    for (int i = 1; i <= 3; ++i) again += "Renamed " + std::to_string(i) + "," + mobile(i) + ",Lead\n";
    auto r2 = import(fx, again);
    REQUIRE(r2.status == 200);
    auto b2 = json::parse(r2.body).as_object();
    CHECK(b2.at("created") == 0);
    CHECK(b2.at("updated") == 3);
    CHECK(fx.db.scalar("SELECT title FROM users WHERE mobile = '" + mobile(2) + "'") == "Lead");
    // No department column: memberships stay.
    CHECK(fx.db.scalar("SELECT count(*) FROM user_departments") == "9900");
  }
}

TEST_CASE("import: JSON arrays, duplicates in the file, and whole-body errors") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  auto sales = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Sales"}}, 201);
  json::array rows{
      json::object{
          {"name", "Ann"}, {"mobile", mobile(1)}, {"departments", json::array{sales.at("department")}}},
      json::object{{"name", "Bob"}, {"mobile", mobile(2)}, {"department", "Ops/Night"}, {"role", "admin"}},
      json::object{{"name", "Cy"}, {"mobile", mobile(1)}},  // repeats row 1
      json::object{{"name", "Di"}, {"mobile", mobile(4)}, {"departments", json::array{"999999"}}},
      json::object{{"name", "Ed"}, {"mobile", mobile(5)}, {"password", "secret-password"}},
      json::value("not an object"),
      json::object{{"name", "Fay"}, {"mobile", fx.owner.mobile}, {"title", "Boss"}},  // the owner: updated
  };
  auto r = import(fx, json::serialize(rows), "application/json");
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto body = json::parse(r.body).as_object();
  CHECK(body.at("created") == 2);
  CHECK(body.at("updated") == 1);
  CHECK(body.at("failed") == 4);
  const auto& res = body.at("results").as_array();
  CHECK(res[0].at("status") == "created");
  CHECK(res[1].at("status") == "created");
  CHECK(res[2].at("error").at("message").as_string().find("repeats row 1") != std::string::npos);
  CHECK(res[3].at("error").at("code") == "not_found");
  CHECK(res[4].at("status") == "error");
  CHECK(res[5].at("status") == "error");
  CHECK(res[6].at("status") == "updated");
  CHECK(res[6].at("user") == json::value(fx.owner.id));
  auto bob = admin.ok("GET", "/v1/admin/users/" + std::string(res[1].at("user").as_string()));
  CHECK(bob.at("role") == "admin");
  CHECK(bob.at("departments").as_array().size() == 1);
  auto owner = admin.ok("GET", "/v1/admin/users/" + fx.owner.id);
  CHECK(owner.at("role") == "owner");
  CHECK(owner.at("title") == "Boss");

  CHECK(import(fx, "").status == 400);
  CHECK(import(fx, "name,phone\nA,+8613700000001\n").status == 400);          // unknown column
  CHECK(import(fx, "name,mobile\n\"A,+8613700000001\n").status == 400);       // quote left open
  CHECK(import(fx, "name,mobile\n\xff\xfe,+8613700000001\n").status == 400);  // not UTF-8
  CHECK(import(fx, "{}", "application/json").status == 400);
  CHECK(import(fx, "name,mobile\n", "application/xml").status == 400);
  std::string many = "name,mobile\n";
  for (int i = 0; i < 10001; ++i) many += "N," + mobile(100000 + i) + "\n";
  CHECK(import(fx, many).status == 413);
  // An import may be larger than other bodies (limits.max_body_bytes) up to limits.max_import_bytes,
  // whether it declares its length or not.
  std::string padded = "[" + std::string(3 * 1024 * 1024, ' ') +
                       json::serialize(json::object{{"name", "Pad"}, {"mobile", mobile(7)}}) + "]";
  auto big = import(fx, padded, "application/json");
  INFO(big.body.substr(0, 300));
  CHECK(big.status == 200);
  CHECK(import(fx, "[" + std::string(9 * 1024 * 1024, ' ') + "]", "application/json").status == 413);
  // Any other route still stops at limits.max_body_bytes.
  CHECK(api_client{fx.port(), fx.owner.token}
            .call("PUT", "/v1/admin/policy", json::value(json::string(std::string(2 * 1024 * 1024, 'x'))))
            .status == 413);
  auto mia = fx.add_user(fx.owner, "Mia");
  CHECK(import(fx, "name,mobile\nA," + mobile(9) + "\n", "text/csv", mia.token).status == 403);
  CHECK(fx.db.scalar("SELECT count(*) FROM users WHERE mobile = '" + mobile(9) + "'") == "0");
}
