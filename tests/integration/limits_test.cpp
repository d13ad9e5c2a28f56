// Abuse limits end to end: what the client sees, that the server carries on, and the metric that
// counts each refusal (switchboard_limit_hits_total{limit=...}).
#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <thread>

#include "fixture.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {

http_reply login_from(int port, const account& a, const std::string& forwarded_for) {
  std::map<std::string, std::string> headers{{"Content-Type", "application/json"}};
  if (!forwarded_for.empty()) headers["X-Forwarded-For"] = forwarded_for;
  return http_call(
      port, "POST", "/v1/auth/login",
      json::serialize(json::object{{"org", a.org}, {"mobile", a.mobile}, {"password", a.password}}), headers);
}

std::string code_of(const json::object& reply) {
  return std::string(reply.at("error").at("code").as_string());
}

}  // namespace

TEST_CASE("connections per IP: the one over the limit is refused, a freed slot is reused") {
  org_fixture fx(env{{"SWITCHBOARD_SERVER_MAX_CONNECTIONS_PER_IP", "4"}});
  std::vector<std::unique_ptr<ws_client>> open;
  for (int i = 0; i < 4; ++i) {
    open.push_back(std::make_unique<ws_client>(fx.port()));
    CHECK(open.back()->hello(fx.owner.token, "dev-" + std::to_string(i)).at("ok").as_bool());
  }
  // The fifth from 127.0.0.1 is accepted and closed at once: its handshake fails.
  CHECK_THROWS(ws_client(fx.port()));
  // The four keep working.
  CHECK(open[0]->call("ping").at("ok").as_bool());
  // A slot is given back when the server sees a close; until then a new one may still be refused.
  open.pop_back();
  std::unique_ptr<ws_client> again;
  REQUIRE(eventually(
      [&] {
        try {
          again = std::make_unique<ws_client>(fx.port());
          return again->hello(fx.owner.token, "dev-again").at("ok").as_bool();
        } catch (const std::exception&) {
          return false;
        }
      },
      5s));
  open.pop_back();
  open.pop_back();  // room for the metrics request
  REQUIRE(eventually([&] { return limit_hits(fx.port(), "connections_per_ip") >= 1; }, 5s));
}

TEST_CASE("sends per user: over the rate is rate_limited with retry_after_ms, the session carries on") {
  org_fixture fx(env{{"SWITCHBOARD_LIMITS_SENDS_PER_SECOND", "2"}, {"SWITCHBOARD_LIMITS_SEND_BURST", "3"}});
  auto bob = fx.add_user(fx.owner, "Bob");
  ws_client a(fx.port()), a2(fx.port()), b(fx.port());
  a.hello(fx.owner.token, "phone");
  a2.hello(fx.owner.token, "laptop");
  b.hello(bob.token);
  auto conv =
      std::string(a.call("open_direct", {{"user", bob.id}}).at("data").at("conv").at("conv").as_string());
  auto send = [&](ws_client& w, const std::string& cmid) {
    return w.call(
        "send",
        {{"conv", conv}, {"client_msg_id", cmid}, {"type", "text"}, {"body", json::object{{"text", "hi"}}}});
  };
  for (int i = 0; i < 3; ++i) CHECK(send(i % 2 ? a2 : a, "m" + std::to_string(i)).at("ok").as_bool());
  // The burst is the user's, whichever session sends.
  auto over = send(a2, "m3");
  REQUIRE_FALSE(over.at("ok").as_bool());
  CHECK(code_of(over) == "rate_limited");
  auto retry = over.at("error").at("retry_after_ms").as_int64();
  CHECK(retry > 0);
  CHECK(retry <= 500);
  CHECK(send(b, "b0").at("ok").as_bool());  // another user is not affected
  std::this_thread::sleep_for(std::chrono::milliseconds(retry + 50));
  CHECK(send(a, "m3").at("ok").as_bool());  // nothing was stored for the refused one: no duplicate
  CHECK(fx.db.scalar("SELECT count(*) FROM messages WHERE conv_id = " + conv + " AND client_msg_id = 'm3'") ==
        "1");
  CHECK(limit_hits(fx.port(), "send_rate") == 1);
}

TEST_CASE("login attempts per client IP, with X-Forwarded-For believed only from trusted proxies") {
  SECTION("behind a trusted proxy each forwarded client has its own budget") {
    org_fixture fx(env{{"SWITCHBOARD_LIMITS_LOGINS_PER_MINUTE", "3"},
                       {"SWITCHBOARD_SERVER_TRUSTED_PROXIES", "127.0.0.0/8, 10.9.9.9"}});
    // The fixture's own login used one attempt of 127.0.0.1's budget; forwarded clients are apart.
    for (int i = 0; i < 3; ++i) CHECK(login_from(fx.port(), fx.owner, "203.0.113.5").status == 200);
    auto r = login_from(fx.port(), fx.owner, "203.0.113.5");
    CHECK(r.status == 429);
    CHECK(code_of(json::parse(r.body).as_object()) == "rate_limited");
    CHECK(json::parse(r.body).at("error").at("retry_after_ms").as_int64() > 0);
    CHECK(r.headers.count("retry-after") == 1);
    // Another client behind the same proxy; and a chain whose nearest untrusted hop is new.
    CHECK(login_from(fx.port(), fx.owner, "203.0.113.6").status == 200);
    CHECK(login_from(fx.port(), fx.owner, "203.0.113.5, 198.51.100.7, 10.9.9.9").status == 200);
    // A wrong password counts too: guessing is what the limit is for.
    auto wrong = fx.owner;
    wrong.password = "not-the-password";
    for (int i = 0; i < 3; ++i) CHECK(login_from(fx.port(), wrong, "192.0.2.44").status == 401);
    CHECK(login_from(fx.port(), fx.owner, "192.0.2.44").status == 429);
    CHECK(limit_hits(fx.port(), "login_attempts") == 2);
  }
  SECTION("from an untrusted peer X-Forwarded-For is ignored") {
    org_fixture fx(env{{"SWITCHBOARD_LIMITS_LOGINS_PER_MINUTE", "3"}});
    // One attempt already spent by the fixture; two more, whatever they claim to forward.
    CHECK(login_from(fx.port(), fx.owner, "203.0.113.1").status == 200);
    CHECK(login_from(fx.port(), fx.owner, "203.0.113.2").status == 200);
    CHECK(login_from(fx.port(), fx.owner, "203.0.113.3").status == 429);
  }
}

TEST_CASE("failed logins per number: after the limit even the right password waits, other numbers do not") {
  org_fixture fx(env{{"SWITCHBOARD_LIMITS_FAILED_LOGINS_PER_MINUTE", "4"},
                     {"SWITCHBOARD_SERVER_TRUSTED_PROXIES", "127.0.0.0/8"}});
  auto bob = fx.add_user(fx.owner, "Bob");
  auto wrong = fx.owner;
  wrong.password = "not-the-password";
  // From four addresses: the limit is the number's, wherever the guesses come from.
  for (int i = 0; i < 4; ++i)
    CHECK(login_from(fx.port(), wrong, "198.51.100." + std::to_string(i + 1)).status == 401);
  auto r = login_from(fx.port(), fx.owner, "198.51.100.9");
  CHECK(r.status == 429);
  auto err = json::parse(r.body).at("error").as_object();
  CHECK(err.at("code").as_string() == "rate_limited");
  CHECK(std::string(err.at("message").as_string()).find("this number") != std::string::npos);
  CHECK(err.at("retry_after_ms").as_int64() > 0);
  // Successful logins are not charged: Bob logs in more often than the limit.
  for (int i = 0; i < 6; ++i) CHECK(login_from(fx.port(), bob, "198.51.100.10").status == 200);
  CHECK(limit_hits(fx.port(), "failed_logins") == 1);
}

TEST_CASE("oversized headers, frames and late hellos are refused and counted") {
  org_fixture fx(
      env{{"SWITCHBOARD_LIMITS_MAX_FRAME_BYTES", "1024"}, {"SWITCHBOARD_SERVER_HELLO_TIMEOUT_MS", "300"}});
  auto big = http_call(fx.port(), "GET", "/healthz", "", {{"X-Padding", std::string(20000, 'p')}});
  CHECK(big.status == 413);
  CHECK(limit_hits(fx.port(), "http_header_size") == 1);

  ws_client w(fx.port());
  w.hello(fx.owner.token);
  w.send_text(R"({"id":"x","op":"ping","data":{"pad":")" + std::string(2000, 'x') + "\"}}");
  CHECK(w.wait_closed() == 1009);
  // Beast sends the 1009 close before the server's read completes with the error that counts it.
  CHECK(eventually([&] { return limit_hits(fx.port(), "ws_frame_size") == 1; }, 5s));

  ws_client silent(fx.port());
  CHECK(silent.wait_closed() == 4408);
  CHECK(limit_hits(fx.port(), "hello_timeout") == 1);
  CHECK(http_get(fx.port(), "/healthz").status == 200);  // and the server carries on
}

TEST_CASE("every limit is listed in /metrics, at zero until hit") {
  org_fixture fx;
  for (const char* name :
       {"connections_total", "connections_per_ip", "http_timeout", "http_header_size", "http_body_size",
        "origin", "hello_timeout", "ws_frame_size", "request_rate", "flood", "send_rate", "login_attempts",
        "failed_logins", "slow_consumer", "app_requests"}) {
    INFO(name);
    CHECK(limit_hits(fx.port(), name) == 0);
  }
}

TEST_CASE("a connection that keeps flooding after rate_limited replies is closed 4429") {
  org_fixture fx(
      env{{"SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND", "5"}, {"SWITCHBOARD_LIMITS_REQUEST_BURST", "5"}});
  ws_client w(fx.port());
  w.hello(fx.owner.token);
  // Far more than the burst, without waiting for replies: 100 refusals in a row close it.
  // The server may close while the last ones are still being written: that ends the loop.
  for (int i = 0; i < 150; ++i) {
    try {
      w.send_text(R"({"id":")" + std::to_string(i) + R"(","op":"ping","data":{}})");
    } catch (const std::exception&) {
      break;
    }
  }
  CHECK(w.wait_closed() == 4429);
  CHECK(limit_hits(fx.port(), "flood") == 1);
  CHECK(limit_hits(fx.port(), "request_rate") >= 100);
  ws_client again(fx.port());  // the server, and the user, carry on
  CHECK(again.hello(fx.owner.token, "dev-2").at("ok").as_bool());
}

TEST_CASE("a request whose headers do not arrive in time is cut and counted, an idle connection only cut") {
  org_fixture fx(env{{"SWITCHBOARD_SERVER_HTTP_IDLE_TIMEOUT_S", "1"}});
  namespace asio = boost::asio;
  asio::io_context ioc;
  auto closed_by_server = [&](asio::ip::tcp::socket& s) {
    char b[64];
    boost::system::error_code ec;
    s.read_some(asio::buffer(b), ec);  // blocks until the server closes
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  };
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(fx.port()));
  asio::ip::tcp::socket idle(ioc);
  idle.connect(ep);
  CHECK(closed_by_server(idle));
  CHECK(limit_hits(fx.port(), "http_timeout") == 0);  // keep-alive idleness is not an attack
  asio::ip::tcp::socket slow(ioc);
  slow.connect(ep);
  asio::write(slow, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")));
  CHECK(closed_by_server(slow));
  // The stream's timer closes the socket before the read's handler counts the hit: the client can
  // see the close first.
  CHECK(eventually([&] { return limit_hits(fx.port(), "http_timeout") == 1; }, 5s));
  CHECK(limit_hits(fx.port(), "http_timeout") == 1);
}
