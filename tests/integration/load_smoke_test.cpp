// The load generator end to end against the real server: a short run that must verify clean.
#include <catch2/catch.hpp>

#include "fixture.hpp"

using namespace sbtest;

TEST_CASE("switchboard-load runs short direct, group, sync and connect scenarios and verifies them") {
  org_fixture fx(env{{"SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND", "100000"},
                     {"SWITCHBOARD_LIMITS_REQUEST_BURST", "100000"}});
  for (const char* mode : {"direct", "group", "sync", "connect"}) {
    INFO(mode);
    auto r = run_program(SWITCHBOARD_LOAD_BINARY,
                         {"--port", std::to_string(fx.port()), "--org", fx.owner.org, "--admin-mobile",
                          fx.owner.mobile, "--admin-password", fx.owner.password, "--connections", "6",
                          "--messages", "40", "--window", "4", "--mode", mode},
                         {}, 120s);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    if (std::string(mode) != "connect") CHECK_THAT(r.out, Catch::Contains("missing 0, unexpected 0: OK"));
    CHECK_THAT(r.out, Catch::Contains("\"verified\":true"));
  }
}
