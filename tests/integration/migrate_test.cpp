// Migrations against a real PostgreSQL: concurrency under the advisory lock, and a newer schema.
#include <catch2/catch.hpp>

#include <future>

#include "process.hpp"
#include "test_db.hpp"

using namespace sbtest;

TEST_CASE("two concurrent migrate runs apply each migration exactly once") {
  fresh_database db;
  std::map<std::string, std::string> env{{"SWITCHBOARD_DATABASE_URL", db.url()}};
  auto a = std::async(std::launch::async, [&] { return run_binary({"migrate"}, env); });
  auto b = std::async(std::launch::async, [&] { return run_binary({"migrate"}, env); });
  auto ra = a.get();
  auto rb = b.get();
  INFO(ra.err << rb.err);
  CHECK(ra.exit_code == 0);
  CHECK(rb.exit_code == 0);
  // One of them applied everything, the other found nothing to do.
  bool a_applied = ra.out.find("applied 0001_") != std::string::npos;
  bool b_applied = rb.out.find("applied 0001_") != std::string::npos;
  CHECK(a_applied != b_applied);
  std::string versions = db.scalar("SELECT count(*) FROM schema_migrations");
  std::string distinct = db.scalar("SELECT count(DISTINCT version) FROM schema_migrations");
  CHECK(versions == distinct);
  CHECK(db.scalar("SELECT min(version) FROM schema_migrations") == "1");
  CHECK(std::stoi(versions) == std::stoi(db.scalar("SELECT max(version) FROM schema_migrations")));
  // Running again changes nothing.
  auto again = run_binary({"migrate"}, env);
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("applied") == std::string::npos);
  CHECK(db.scalar("SELECT count(*) FROM schema_migrations") == versions);
}

TEST_CASE("a database newer than the binary makes serve and migrate refuse") {
  fresh_database db;
  std::map<std::string, std::string> env{{"SWITCHBOARD_DATABASE_URL", db.url()},
                                         {"SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0"}};
  REQUIRE(run_binary({"migrate"}, env).exit_code == 0);
  db.exec("INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')");
  auto serve = run_binary({"serve"}, env, 30s);
  CHECK(serve.exit_code == 1);
  CHECK_THAT(serve.err, Catch::Contains("schema is at version 9999"));
  CHECK_THAT(serve.err, Catch::Contains("refusing to start"));
  auto migrate = run_binary({"migrate"}, env);
  CHECK(migrate.exit_code == 1);
  CHECK_THAT(migrate.err, Catch::Contains("9999"));
}

TEST_CASE("a recorded migration with another name is refused") {
  fresh_database db;
  std::map<std::string, std::string> env{{"SWITCHBOARD_DATABASE_URL", db.url()}};
  REQUIRE(run_binary({"migrate"}, env).exit_code == 0);
  db.exec("UPDATE schema_migrations SET name = '0001_other_branch.sql' WHERE version = 1");
  auto r = run_binary({"migrate"}, env);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("0001_other_branch.sql"));
}

TEST_CASE("with migrate_on_start off, serve runs behind the schema but is not ready") {
  fresh_database db;
  server srv(db.url(), {{"SWITCHBOARD_DATABASE_MIGRATE_ON_START", "false"}});
  CHECK(srv.proc().wait_for_line(std::regex("behind this binary"), 5s));
  CHECK(db.scalar("SELECT to_regclass('users') IS NULL") == "t");
  REQUIRE(run_binary({"migrate"}, {{"SWITCHBOARD_DATABASE_URL", db.url()}}).exit_code == 0);
  CHECK(db.scalar("SELECT to_regclass('users') IS NULL") == "f");
}
