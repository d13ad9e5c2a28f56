// Import bodies and client versions: the parsing every admin path relies on.
#include <catch2/catch.hpp>

#include "protocol/user_import.hpp"
#include "protocol/validate.hpp"

using namespace switchboard;

TEST_CASE("CSV import: quoting, line endings, BOM, header order and per-row errors") {
  auto r = protocol::parse_import_csv(
      "\xEF\xBB\xBFmobile,Name,title,department\r\n"
      "+8613700000001,\"Wong, Mia\",\"say \"\"hi\"\"\",Sales/East\r\n"
      "+8613700000002,Ben,,\n"
      "\n"
      "12345,Cy,,\n"
      "+8613700000004,\"Di\nDi\",,Sales//East\n"
      "+8613700000001,Ed,,\n"
      "+8613700000006,Fay\n",
      100);
  REQUIRE(r);
  const auto& rows = r.value();
  REQUIRE(rows.size() == 6);  // the blank line is no row
  CHECK(rows[0].name == "Wong, Mia");
  CHECK(rows[0].title == "say \"hi\"");
  CHECK(rows[0].department_path == std::vector<std::string>{"Sales", "East"});
  CHECK_FALSE(rows[0].error);
  CHECK(rows[1].department_path.empty());
  CHECK_FALSE(rows[1].error);
  CHECK(rows[2].error->message.find("E.164") != std::string::npos);
  CHECK(rows[3].error->message.find("path") != std::string::npos);
  CHECK(rows[4].error->message.find("repeats row 1") != std::string::npos);
  CHECK(rows[5].error->message.find("fields") != std::string::npos);
  for (int i = 0; i < 6; ++i) CHECK(rows[static_cast<std::size_t>(i)].row == i + 1);
}

TEST_CASE("CSV import: whole-body errors") {
  CHECK_FALSE(protocol::parse_import_csv("", 10));
  CHECK_FALSE(protocol::parse_import_csv("name\n", 10));                     // no mobile column
  CHECK_FALSE(protocol::parse_import_csv("name,mobile,name\n", 10));         // twice
  CHECK_FALSE(protocol::parse_import_csv("name,mobile\n\"open\n", 10));      // quote left open
  CHECK_FALSE(protocol::parse_import_csv("name,mobile\n\xc3\x28,1\n", 10));  // not UTF-8
  auto many = protocol::parse_import_csv("name,mobile\na,+8613700000001\nb,+8613700000002\n", 1);
  REQUIRE_FALSE(many);
  CHECK(many.err().code == protocol::error_code::too_large);
}

TEST_CASE("client versions compare by number, component by component") {
  using protocol::version_below;
  CHECK(version_below("1.9.9", "2"));
  CHECK_FALSE(version_below("2", "2.0.0"));
  CHECK_FALSE(version_below("2.10.0", "2.9"));
  CHECK(version_below("2.9", "2.10"));
  CHECK_FALSE(version_below("2.0.1-beta", "2.0.1"));
  CHECK(version_below("beta", "1"));
  CHECK(protocol::is_version("2.5.0"));
  CHECK_FALSE(protocol::is_version("v2"));
  CHECK_FALSE(protocol::is_version("1..2"));
  CHECK_FALSE(protocol::is_version("1.2.3.4.5"));
}
