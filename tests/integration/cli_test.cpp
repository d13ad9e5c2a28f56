// The operator commands: check-config, version, org create, and usage errors.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <boost/json.hpp>

#include <array>
#include <fstream>

#include "fixture.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "test_db.hpp"

using namespace sbtest;

TEST_CASE("version prints the version and schema") {
  auto r = run_binary({"version"}, {});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Matches(R"(switchboard \d+\.\d+\.\d+ \(schema \d+\)\n)"));
}

TEST_CASE("check-config accepts the sample and names the bad key otherwise") {
  auto ok =
      run_binary({"check-config", "--config", SWITCHBOARD_SOURCE_DIR "/deploy/switchboard.example.ini"}, {});
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.out, Catch::Contains("configuration OK"));

  auto dir = make_temp_dir();
  std::ofstream(dir + "/bad.ini") << "[server]\nlisten = 127.0.0.1:8080\nthreads = many\n";
  auto bad = run_binary({"check-config", "--config", dir + "/bad.ini"}, {});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("server.threads"));
  CHECK_THAT(bad.err, Catch::Contains("bad.ini:3"));

  auto env_bad = run_binary({"check-config"}, {{"SWITCHBOARD_LIMITS_REQUEST_BURST", "-5"}});
  CHECK(env_bad.exit_code == 2);
  CHECK_THAT(env_bad.err, Catch::Contains("SWITCHBOARD_LIMITS_REQUEST_BURST"));

  auto url_bad = run_binary({"check-config"}, {{"SWITCHBOARD_DATABASE_URL", "postgresql://[broken"}});
  CHECK(url_bad.exit_code == 2);
  CHECK_THAT(url_bad.err, Catch::Contains("database.url"));

  auto missing = run_binary({"check-config", "--config", dir + "/nope.ini"}, {});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("cannot open"));
}

TEST_CASE("usage errors exit 2 with a message") {
  CHECK(run_binary({}, {}).exit_code == 2);
  auto r = run_binary({"frobnicate"}, {});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("unknown command"));
  r = run_binary({"serve", "--colour", "blue"}, {});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("unknown option --colour"));
  r = run_binary({"serve", "--config"}, {});
  CHECK(r.exit_code == 2);
}

TEST_CASE("org create bootstraps an organization and its owner") {
  fresh_database db;
  std::map<std::string, std::string> env{{"SWITCHBOARD_DATABASE_URL", db.url()},
                                         {"SWITCHBOARD_AUTH_SCRYPT_LOG2_N", "10"}};
  std::vector<std::string> args{"org",
                                "create",
                                "--name",
                                "Acme",
                                "--admin-name",
                                "Ada",
                                "--admin-mobile",
                                "+8613800000001",
                                "--admin-password",
                                "s3cret-pass"};
  auto before = run_binary(args, env);
  CHECK(before.exit_code == 1);  // schema not migrated yet
  CHECK_THAT(before.err, Catch::Contains("switchboard migrate"));

  REQUIRE(run_binary({"migrate"}, env).exit_code == 0);
  auto r = run_binary(args, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = boost::json::parse(r.out).as_object();
  std::string org(out.at("org").as_string());
  std::string user(out.at("user").as_string());
  CHECK(db.scalar("SELECT name FROM orgs WHERE id = " + org) == "Acme");
  CHECK(db.scalar("SELECT role FROM users WHERE org_id = " + org + " AND id = " + user) == "owner");
  CHECK(db.scalar("SELECT mobile FROM users WHERE id = " + user) == "+8613800000001");
  auto hash = db.scalar("SELECT password_hash FROM users WHERE id = " + user);
  CHECK_THAT(hash, Catch::StartsWith("scrypt$10$8$1$"));
  CHECK(hash.find("s3cret-pass") == std::string::npos);
}

TEST_CASE("org create validates its inputs") {
  std::map<std::string, std::string> env{{"SWITCHBOARD_DATABASE_URL", "postgresql:///unused"}};
  auto base = [](std::string mobile, std::string pw) {
    return std::vector<std::string>{
        "org",  "create",           "--name", "Acme", "--admin-name", "Ada", "--admin-mobile",
        mobile, "--admin-password", pw};
  };
  auto r = run_binary(base("13800000001", "longenough"), env);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("E.164"));
  r = run_binary(base("+8613800000001", "short"), env);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("8 to 256"));
  r = run_binary({"org", "create", "--name", "Acme"}, env);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--admin-name"));
}

TEST_CASE("org seed adds members with working tokens, in bulk") {
  org_fixture f;
  std::map<std::string, std::string> env{{"SWITCHBOARD_DATABASE_URL", f.db.url()}};
  auto dir = make_temp_dir();
  auto path = dir + "/tokens.txt";
  // More than one chunk (5,000), so chunking keeps ids, mobiles and tokens aligned.
  auto r = run_binary({"org", "seed", "--org", f.owner.org, "--count", "5003", "--first-mobile",
                       "+8615000000000", "--tokens-out", path, "--name-prefix", "Load"},
                      env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = boost::json::parse(r.out).as_object();
  CHECK(out.at("created").as_int64() == 5003);
  CHECK(f.db.scalar("SELECT count(*) FROM users WHERE org_id = " + f.owner.org +
                    " AND password_hash IS NULL") == "5003");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  std::ifstream in(path);
  std::string id, mobile, token;
  std::vector<std::array<std::string, 3>> lines;
  while (in >> id >> mobile >> token) lines.push_back({id, mobile, token});
  REQUIRE(lines.size() == 5003);
  CHECK(lines.front()[1] == "+8615000000000");
  CHECK(lines.back()[1] == "+8615000005002");
  // Each line's id owns that mobile, and the token is live for that user through the server.
  for (std::size_t i : {std::size_t{0}, std::size_t{4999}, std::size_t{5000}, std::size_t{5002}}) {
    CHECK(f.db.scalar("SELECT mobile FROM users WHERE id = " + lines[i][0]) == lines[i][1]);
    CHECK(f.db.scalar("SELECT name FROM users WHERE id = " + lines[i][0]) == "Load " + std::to_string(i + 1));
    auto me = http_call(f.port(), "GET", "/v1/me", "", {{"Authorization", "Bearer " + lines[i][2]}});
    CHECK(me.status == 200);
    CHECK(std::string(boost::json::parse(me.body).at("user").as_string()) == lines[i][0]);
  }

  // Taken numbers, an unknown org, numbers that would need another digit: refused with a reason.
  auto again = run_binary({"org", "seed", "--org", f.owner.org, "--count", "10", "--first-mobile",
                           "+8615000000000", "--tokens-out", dir + "/again.txt"},
                          env);
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Catch::Contains("already a member"));
  auto nobody = run_binary({"org", "seed", "--org", "999999", "--count", "1", "--first-mobile",
                            "+8616000000000", "--tokens-out", dir + "/x.txt"},
                           env);
  CHECK(nobody.exit_code == 1);
  CHECK_THAT(nobody.err, Catch::Contains("no organization 999999"));
  auto overflow = run_binary({"org", "seed", "--org", f.owner.org, "--count", "2", "--first-mobile",
                              "+999999999999999", "--tokens-out", dir + "/x.txt"},
                             env);
  CHECK(overflow.exit_code == 2);
  CHECK_THAT(overflow.err, Catch::Contains("no room"));
  auto zero = run_binary({"org", "seed", "--org", f.owner.org, "--count", "0", "--first-mobile",
                          "+8616000000000", "--tokens-out", dir + "/x.txt"},
                         env);
  CHECK(zero.exit_code == 2);
}
