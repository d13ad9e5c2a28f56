// The load generator end to end against the real server: short runs of every scenario that must
// verify clean, users from `switchboard org seed` (and, for one run, the HTTP API).
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>

#include "fixture.hpp"

using namespace sbtest;

namespace {

command_result load(const std::vector<std::string>& args) {
  return run_program(SWITCHBOARD_LOAD_BINARY, args, {}, 120s);
}

}  // namespace

TEST_CASE("switchboard-load runs every scenario briefly and verifies it") {
  org_fixture fx(env{{"SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND", "100000"},
                     {"SWITCHBOARD_LIMITS_REQUEST_BURST", "100000"},
                     {"SWITCHBOARD_LIMITS_SENDS_PER_SECOND", "100000"},
                     {"SWITCHBOARD_LIMITS_SEND_BURST", "100000"}});
  auto dir = make_temp_dir();
  auto tokens = dir + "/tokens.txt";
  auto seeded = run_binary({"org", "seed", "--org", fx.owner.org, "--count", "120", "--first-mobile",
                            "+8615100000000", "--tokens-out", tokens},
                           {{"SWITCHBOARD_DATABASE_URL", fx.db.url()}});
  REQUIRE(seeded.exit_code == 0);
  REQUIRE(run_binary({"org", "credit-minutes", "--org", fx.owner.org, "--minutes", "1000", "--ref", "load"},
                     {{"SWITCHBOARD_DATABASE_URL", fx.db.url()}})
              .exit_code == 0);
  auto results = dir + "/results.jsonl";
  std::vector<std::string> common{"--port",       std::to_string(fx.port()),
                                  "--tokens",     tokens,
                                  "--server-pid", std::to_string(fx.srv->proc().pid()),
                                  "--results",    results};
  const std::vector<std::vector<std::string>> runs{
      {"direct", "--pairs", "4", "--messages", "30", "--window", "4"},
      {"direct", "--pairs", "4", "--rate", "400", "--duration", "0.5", "--first-user", "8"},
      {"group", "--groups", "2", "--members", "8", "--senders", "2", "--messages", "20", "--first-user",
       "16"},
      {"sync", "--messages", "600", "--first-user", "32"},  // more than one sync page
      {"connect", "--connections", "60", "--sources", "3"},
      {"idle", "--connections", "40", "--hold", "1", "--ping-s", "0.3"},
      {"mixed", "--users", "40", "--rate", "200", "--duration", "1", "--first-user", "40"},
      {"calls", "--pairs", "3", "--calls", "4", "--signals", "3", "--first-user", "80"},
  };
  for (auto args : runs) {
    INFO(args[0] << " " << args[1]);
    args.insert(args.end(), common.begin(), common.end());
    auto r = load(args);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("\"verified\":true"));
  }
  // One JSON line per run, each naming its scenario, for scripts and plots.
  std::ifstream in(results);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    auto v = boost::json::parse(line).as_object();
    CHECK(v.at("scenario").as_string() == runs[static_cast<std::size_t>(lines)][0]);
    ++lines;
  }
  CHECK(lines == static_cast<int>(runs.size()));

  // Users created through the HTTP API, and password logins measured apart.
  auto http =
      load({"direct", "--port", std::to_string(fx.port()), "--org", fx.owner.org, "--admin-mobile",
            fx.owner.mobile, "--admin-password", fx.owner.password, "--pairs", "2", "--messages", "10"});
  INFO(http.out << http.err);
  CHECK(http.exit_code == 0);
  auto login = load({"login", "--port", std::to_string(fx.port()), "--org", fx.owner.org, "--mobile",
                     fx.owner.mobile, "--password", fx.owner.password, "--count", "6", "--concurrency", "2"});
  INFO(login.out << login.err);
  CHECK(login.exit_code == 0);
  CHECK_THAT(login.out, Catch::Contains("6 password logins"));
}

TEST_CASE("switchboard-load refuses bad usage with exit 2") {
  CHECK(load({}).exit_code == 2);
  auto r = load({"teleport", "--port", "1"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("unknown scenario"));
  r = load({"direct", "--port", "1", "--tokens", "/nonexistent", "--pairs", "x"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--pairs"));
  r = load({"direct", "--port", "1", "--tokens", "/nonexistent", "--colour", "red"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("unknown option --colour"));
}

TEST_CASE("switchboard-load exits 1 when the server refuses its sends") {
  // A send rate limit of 5 per second: most sends are answered rate_limited, which the run reports.
  org_fixture fx(
      env{{"SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND", "5"}, {"SWITCHBOARD_LIMITS_REQUEST_BURST", "5"}});
  auto dir = make_temp_dir();
  auto tokens = dir + "/tokens.txt";
  REQUIRE(run_binary({"org", "seed", "--org", fx.owner.org, "--count", "2", "--first-mobile",
                      "+8615200000000", "--tokens-out", tokens},
                     {{"SWITCHBOARD_DATABASE_URL", fx.db.url()}})
              .exit_code == 0);
  auto r = load({"direct", "--port", std::to_string(fx.port()), "--tokens", tokens, "--pairs", "1",
                 "--messages", "50", "--window", "50"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("error rate_limited"));
  CHECK_THAT(r.out, Catch::Contains("\"verified\":false"));
}
