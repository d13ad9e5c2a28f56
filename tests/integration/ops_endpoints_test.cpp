// /healthz, /readyz and /metrics on the real binary over a real socket.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>

#include "http_client.hpp"
#include "process.hpp"
#include "test_db.hpp"

using namespace sbtest;

TEST_CASE("healthz, readyz and metrics answer on the main listener") {
  fresh_database db;
  server srv(db.url());

  auto h = http_get(srv.port(), "/healthz");
  CHECK(h.status == 200);
  CHECK(h.body == R"({"status":"ok"})");

  auto r = http_get(srv.port(), "/readyz");
  CHECK(r.status == 200);
  CHECK_THAT(r.body, Catch::Contains(R"("status":"ready")"));
  CHECK(db.scalar("SELECT count(*) FROM schema_migrations") != "0");

  auto m = http_get(srv.port(), "/metrics");
  REQUIRE(m.status == 200);
  CHECK_THAT(m.headers["content-type"], Catch::StartsWith("text/plain; version=0.0.4"));
  CHECK_THAT(m.body, Catch::Contains("switchboard_requests_total{op=\"GET /healthz\",code=\"ok\"} 1\n"));
  CHECK_THAT(m.body, Catch::Contains("switchboard_requests_total{op=\"GET /readyz\",code=\"ok\"} 1\n"));
  CHECK_THAT(m.body, Catch::Contains("switchboard_request_duration_seconds_count{op=\"GET /healthz\"} 1\n"));
  CHECK_THAT(m.body, Catch::Contains("switchboard_connections{kind=\"http\"} 1\n"));  // this request's own
  CHECK_THAT(m.body, Catch::Contains("switchboard_db_pool_connections{state=\"configured\"} 4\n"));
  CHECK_THAT(m.body, Catch::Contains("switchboard_db_ready 1\n"));
}

TEST_CASE("unknown paths, wrong methods and oversized bodies get spec error bodies") {
  fresh_database db;
  server srv(db.url(), {{"SWITCHBOARD_LIMITS_MAX_BODY_BYTES", "2048"}});

  auto nf = http_get(srv.port(), "/v1/nothing-here");
  CHECK(nf.status == 404);
  CHECK(nf.headers["content-type"] == "application/json");
  CHECK_THAT(nf.body, Catch::StartsWith(R"({"error":{"code":"not_found","message":)"));

  auto post = http_call(srv.port(), "POST", "/healthz", "{}");
  CHECK(post.status == 405);
  CHECK(post.headers["allow"] == "GET, HEAD");
  CHECK_THAT(post.body, Catch::Contains(R"("code":"bad_request")"));

  auto big = http_call(srv.port(), "POST", "/v1/anything", std::string(4096, 'x'));
  CHECK(big.status == 413);
  CHECK_THAT(big.body, Catch::Contains(R"("code":"too_large")"));
  CHECK(limit_hits(srv.port(), "http_body_size") == 1);

  auto head = http_call(srv.port(), "HEAD", "/healthz");
  CHECK(head.status == 200);
  CHECK(head.body.empty());

  // The server is still healthy after all of that.
  CHECK(http_get(srv.port(), "/healthz").status == 200);
}

TEST_CASE("with metrics.listen set, /metrics moves to that listener") {
  fresh_database db;
  server srv(db.url(), {{"SWITCHBOARD_METRICS_LISTEN", "127.0.0.1:0"}});
  auto line = srv.proc().wait_for_line(std::regex(R"(metrics listening on 127\.0\.0\.1:(\d+))"), 10s);
  REQUIRE(line);
  int mport = std::stoi((*line)[1]);
  CHECK(http_get(srv.port(), "/metrics").status == 404);
  auto m = http_get(mport, "/metrics");
  CHECK(m.status == 200);
  CHECK_THAT(m.body, Catch::Contains("switchboard_db_ready"));
  CHECK(http_get(mport, "/readyz").status == 200);
  CHECK(http_get(mport, "/v1/ws").status == 404);
  // The web app is the main listener's only.
  CHECK(http_get(mport, "/").status == 404);
  CHECK(http_get(srv.port(), "/").status == 200);
}

TEST_CASE(
    "the web app: / is its index.html, HEAD has no body, other paths 404, web.enabled=false turns it off") {
  fresh_database db;
  {
    server srv(db.url());
    auto page = http_get(srv.port(), "/");
    REQUIRE(page.status == 200);
    CHECK(page.headers["content-type"] == "text/html; charset=utf-8");
    CHECK_THAT(page.headers["content-security-policy"], Catch::Contains("default-src 'none'"));
    CHECK_THAT(page.body, Catch::Contains("<div id=\"app\">"));
    CHECK(http_get(srv.port(), "/admin/members").status == 404);  // the app's pages are fragments of /
    auto head = http_call(srv.port(), "HEAD", "/");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.headers["content-length"] == std::to_string(page.body.size()));
    auto gz = http_call(srv.port(), "GET", "/", "", {{"Accept-Encoding", "gzip"}});
    CHECK(gz.headers["content-encoding"] == "gzip");
    CHECK(gz.body.size() < page.body.size());
    CHECK(http_call(srv.port(), "GET", "/", "", {{"If-None-Match", page.headers["etag"]}}).status == 304);
    CHECK(http_get(srv.port(), "/assets/missing.js").status == 404);
    CHECK(http_get(srv.port(), "/favicon.ico").status == 404);
    CHECK(http_call(srv.port(), "POST", "/").status == 404);
    CHECK(http_get(srv.port(), "/v1/nothing").status == 404);
  }
  server off(db.url(), {{"SWITCHBOARD_WEB_ENABLED", "false"}});
  CHECK(http_get(off.port(), "/").status == 404);
  CHECK(http_get(off.port(), "/healthz").status == 200);
}

TEST_CASE("a malformed HTTP request gets 400 and does not disturb the server") {
  fresh_database db;
  server srv(db.url());
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s(ioc);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(srv.port())});
  std::string junk = "GARBAGE\x01\x02 / HTTP/9.9\r\n\r\n";
  boost::asio::write(s, boost::asio::buffer(junk));
  std::string reply;
  boost::system::error_code ec;
  char buf[1024];
  for (;;) {
    auto n = s.read_some(boost::asio::buffer(buf), ec);
    if (ec) break;
    reply.append(buf, n);
  }
  CHECK_THAT(reply, Catch::StartsWith("HTTP/1.1 400"));
  CHECK(http_get(srv.port(), "/healthz").status == 200);
}
