// Migration files are ordered by number, and a gap, duplicate or bad name is refused.
#include <catch2/catch.hpp>

#include "storage/migrations.hpp"

using namespace switchboard::storage;

TEST_CASE("migrations are ordered by their number, not by listing order") {
  auto r = order_migrations({{"0002_b.sql", "B"},
                             {"0010_j.sql", "J"},
                             {"0001_a.sql", "A"},
                             {"0003_c.sql", "C"},
                             {"0004_d.sql", ""},
                             {"0005_e.sql", ""},
                             {"0006_f.sql", ""},
                             {"0007_g.sql", ""},
                             {"0008_h.sql", ""},
                             {"0009_i.sql", ""}});
  REQUIRE(std::holds_alternative<std::vector<migration>>(r));
  auto& m = std::get<std::vector<migration>>(r);
  REQUIRE(m.size() == 10);
  CHECK(m[0].name == "0001_a.sql");
  CHECK(m[1].sql == "B");
  CHECK(m[9].version == 10);
}

TEST_CASE("a gap, a duplicate or a bad name is an error") {
  auto gap = order_migrations({{"0001_a.sql", ""}, {"0003_c.sql", ""}});
  REQUIRE(std::holds_alternative<std::string>(gap));
  CHECK_THAT(std::get<std::string>(gap), Catch::Contains("version 2 is missing"));
  auto dup = order_migrations({{"0001_a.sql", ""}, {"0001_b.sql", ""}});
  REQUIRE(std::holds_alternative<std::string>(dup));
  CHECK_THAT(std::get<std::string>(dup), Catch::Contains("share version 1"));
  for (const char* bad : {"a.sql", "0001.sql", "0001_a.txt", "_0001.sql"}) {
    INFO(bad);
    CHECK(std::holds_alternative<std::string>(order_migrations({{bad, ""}})));
  }
  CHECK(std::holds_alternative<std::string>(order_migrations({{"0002_a.sql", ""}})));
}

TEST_CASE("the migrations built into the binary are valid and start at 1") {
  const auto& m = builtin_migrations();
  REQUIRE_FALSE(m.empty());
  CHECK(m.front().version == 1);
  CHECK(latest_builtin_version() == static_cast<int>(m.size()));
}
