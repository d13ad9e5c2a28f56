// Password hashing, metrics rendering and the token cache.
#include <catch2/catch.hpp>

#include "server/base/password_hasher.hpp"
#include "server/core/client_session.hpp"
#include "server/core/token_cache.hpp"
#include "server/ops/metrics.hpp"
#include "storage/db_pool.hpp"
#include "storage/message_writer.hpp"

using namespace switchboard;

TEST_CASE("password hashes verify, carry their parameters and differ by salt") {
  auto h1 = server::password_hasher::hash("correct horse", 10);
  auto h2 = server::password_hasher::hash("correct horse", 10);
  CHECK(h1 != h2);
  CHECK(h1.rfind("scrypt$10$8$1$", 0) == 0);
  CHECK(server::password_hasher::verify("correct horse", h1));
  CHECK_FALSE(server::password_hasher::verify("correct horsf", h1));
  // A hash made at another cost still verifies: parameters travel with it.
  auto h3 = server::password_hasher::hash("pw", 11);
  CHECK(server::password_hasher::verify("pw", h3));
}

TEST_CASE("malformed or hostile encodings never verify") {
  for (std::string bad : {"", "scrypt", "scrypt$10$8$1$", "bcrypt$10$8$1$AAAA$AAAA",
                          "scrypt$99$8$1$AAAA$AAAA", "scrypt$10$8$1$!!!!$AAAA", "scrypt$10$8$1$AAAA$"}) {
    INFO(bad);
    CHECK_FALSE(server::password_hasher::verify("pw", bad));
  }
}

TEST_CASE("metrics render requests by op and code with cumulative histograms") {
  server::metrics m({"send", "GET /healthz"});
  m.op("send").record(std::nullopt, std::chrono::microseconds(700));
  m.op("send").record(protocol::error_code::unavailable, std::chrono::microseconds(3000));
  m.op("no such op").record(std::nullopt, std::chrono::microseconds(1));
  m.ws_connections = 3;
  storage::pool_stats ps;
  ps.size = 4;
  ps.connected = 4;
  storage::writer_stats ws;
  ws.batches = 3;
  ws.messages = 40;
  auto text = m.render(ps, ws, true, 1);
  CHECK_THAT(text, Catch::Contains("switchboard_requests_total{op=\"send\",code=\"ok\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("switchboard_requests_total{op=\"send\",code=\"unavailable\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("switchboard_requests_total{op=\"other\",code=\"ok\"} 1\n"));
  CHECK_THAT(text,
             Catch::Contains("switchboard_request_duration_seconds_bucket{op=\"send\",le=\"0.001\"} 1\n"));
  CHECK_THAT(text,
             Catch::Contains("switchboard_request_duration_seconds_bucket{op=\"send\",le=\"0.005\"} 2\n"));
  CHECK_THAT(text,
             Catch::Contains("switchboard_request_duration_seconds_bucket{op=\"send\",le=\"+Inf\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("switchboard_request_duration_seconds_count{op=\"send\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("switchboard_connections{kind=\"websocket\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("switchboard_db_pool_connections{state=\"connected\"} 4\n"));
  CHECK_THAT(text, Catch::Contains("switchboard_db_ready 1\n"));
  CHECK_THAT(text, Catch::Contains("switchboard_writer_messages_total 40\n"));
}

TEST_CASE("connect_timeout is added to URIs and key=value strings once") {
  CHECK(storage::with_connect_timeout("postgresql:///sb", 5) == "postgresql:///sb?connect_timeout=5");
  CHECK(storage::with_connect_timeout("postgresql://h/sb?sslmode=disable", 3) ==
        "postgresql://h/sb?sslmode=disable&connect_timeout=3");
  CHECK(storage::with_connect_timeout("dbname=sb", 2) == "dbname=sb connect_timeout=2");
  CHECK(storage::with_connect_timeout("dbname=sb connect_timeout=9", 2) == "dbname=sb connect_timeout=9");
}

TEST_CASE("the session guards are added to URIs and key=value strings, unless options are given") {
  CHECK(storage::with_session_guards("postgresql:///sb?connect_timeout=5") ==
        "postgresql:///sb?connect_timeout=5&options=-c%20client_connection_check_interval%3D1s%20-c%20"
        "idle_in_transaction_session_timeout%3D10s");
  CHECK(storage::with_session_guards("dbname=sb") ==
        "dbname=sb options='-c client_connection_check_interval=1s -c "
        "idle_in_transaction_session_timeout=10s'");
  CHECK(storage::with_session_guards("dbname=sb options='-c work_mem=64MB'") ==
        "dbname=sb options='-c work_mem=64MB'");
}

TEST_CASE("a session's frame queue is first in, first out, and keeps no memory once drained") {
  using switchboard::server::frame_queue;
  auto f = [](int i) { return std::make_shared<const std::string>(std::to_string(i)); };
  frame_queue q;
  CHECK(q.empty());
  for (int i = 0; i < 100; ++i) q.push_back(f(i));
  CHECK(q.size() == 100);
  CHECK(*q.back() == "99");
  q.pop_back();
  for (int i = 0; i < 99; ++i) {
    REQUIRE(*q.front() == std::to_string(i));
    q.pop_front();
  }
  CHECK(q.empty());
  // A steady stream that never drains: order holds through the compaction of the spent prefix.
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 10000; ++round) {
    q.push_back(f(next_in++));
    q.push_back(f(next_in++));
    REQUIRE(*q.front() == std::to_string(next_out++));
    q.pop_front();
  }
  CHECK(q.size() == 10000);
  while (!q.empty()) {
    REQUIRE(*q.front() == std::to_string(next_out++));
    q.pop_front();
  }
  CHECK(next_out == next_in);
}

TEST_CASE("token cache: erase_user drops every token of that user and no other") {
  server::token_cache cache;
  auto info = [](std::int64_t user) {
    storage::token_info t;
    t.org_id = 1;
    t.user_id = user;
    t.expires_at_ms = INT64_MAX / 2;
    t.role = protocol::role::member;
    t.status = protocol::account_status::active;
    return t;
  };
  cache.put("a1", info(1));
  cache.put("a2", info(1));
  cache.put("b1", info(2));
  cache.put("a1", info(1));  // put again: still one entry
  cache.erase("a2");
  CHECK_FALSE(cache.get("a2", 0));
  cache.erase_user(1);
  CHECK_FALSE(cache.get("a1", 0));
  REQUIRE(cache.get("b1", 0));
  CHECK(cache.get("b1", 0)->user_id == 2);
  cache.erase_user(1);  // nothing left: harmless
  cache.put("a3", info(1));
  CHECK(cache.get("a3", 0));
}
