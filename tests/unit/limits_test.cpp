// Cross-connection limits without sockets: CIDR matching, the client address behind proxies,
// per-key token buckets and per-IP connection slots.
#include <catch2/catch.hpp>

#include "config/settings.hpp"
#include "server/base/limits.hpp"

#include <thread>

using namespace switchboard::server;
namespace ip = boost::asio::ip;

TEST_CASE("CIDR blocks parse strictly and match by prefix, IPv4-mapped IPv6 as IPv4") {
  auto ten = parse_cidr("10.0.0.0/8");
  REQUIRE(ten);
  CHECK(ten->contains(ip::make_address("10.200.3.4")));
  CHECK_FALSE(ten->contains(ip::make_address("11.0.0.1")));
  CHECK(ten->contains(ip::make_address("::ffff:10.1.2.3")));
  auto one = parse_cidr("192.0.2.7");
  REQUIRE(one);
  CHECK(one->contains(ip::make_address("192.0.2.7")));
  CHECK_FALSE(one->contains(ip::make_address("192.0.2.8")));
  auto odd = parse_cidr("172.16.0.0/12");
  REQUIRE(odd);
  CHECK(odd->contains(ip::make_address("172.31.255.255")));
  CHECK_FALSE(odd->contains(ip::make_address("172.32.0.0")));
  auto v6 = parse_cidr("fd00::/8");
  REQUIRE(v6);
  CHECK(v6->contains(ip::make_address("fd12::1")));
  CHECK_FALSE(v6->contains(ip::make_address("fe80::1")));
  CHECK_FALSE(v6->contains(ip::make_address("10.0.0.1")));
  CHECK(parse_cidr("0.0.0.0/0")->contains(ip::make_address("8.8.8.8")));
  for (const char* bad :
       {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "10.0.0.0/8x", "::1/129", "localhost", "1.2.3.4/-1"})
    CHECK_FALSE(parse_cidr(bad));
}

TEST_CASE("the client address: the peer, or behind trusted proxies the nearest untrusted hop") {
  std::vector<cidr> trusted{*parse_cidr("10.0.0.0/8"), *parse_cidr("127.0.0.1")};
  auto peer_proxy = ip::make_address("10.0.0.2");
  auto stranger = ip::make_address("198.51.100.9");
  CHECK(client_address(stranger, "203.0.113.1", trusted) == stranger);  // not a proxy: ignored
  CHECK(client_address(peer_proxy, "", trusted) == peer_proxy);
  CHECK(client_address(peer_proxy, "203.0.113.1", trusted).to_string() == "203.0.113.1");
  // A client may put anything on the left; the proxies append on the right.
  CHECK(client_address(peer_proxy, "1.1.1.1, 203.0.113.1, 10.0.0.9", trusted).to_string() == "203.0.113.1");
  CHECK(client_address(peer_proxy, " 203.0.113.1 ,10.0.0.9 ", trusted).to_string() == "203.0.113.1");
  // Garbage stops the walk at the last address that was good.
  CHECK(client_address(peer_proxy, "nonsense, 10.0.0.9", trusted).to_string() == "10.0.0.9");
  CHECK(client_address(peer_proxy, "203.0.113.1, ", trusted) == peer_proxy);
  CHECK(client_address(peer_proxy, "2001:db8::5", trusted).to_string() == "2001:db8::5");
  // Only proxies all the way: the leftmost.
  CHECK(client_address(peer_proxy, "10.1.1.1, 10.2.2.2", trusted).to_string() == "10.1.1.1");
  CHECK(is_trusted(ip::make_address("::ffff:127.0.0.1"), trusted));
}

TEST_CASE("keyed token buckets: burst, refusal with a retry time, refill, keys apart") {
  keyed_rate_limiter l(10, 3);  // 10 a second, bursts of 3
  std::int64_t retry = 0;
  for (int i = 0; i < 3; ++i) CHECK(l.take("u1", retry));
  CHECK_FALSE(l.take("u1", retry));
  CHECK(retry > 0);
  CHECK(retry <= 100);
  CHECK(l.take("u2", retry));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  CHECK(l.take("u1", retry));
}

TEST_CASE("connection slots per IP are counted and given back") {
  auto lim = std::make_shared<ip_connection_limiter>(2);
  auto a = ip::make_address("192.0.2.1");
  auto s1 = lim->acquire(a);
  auto s2 = lim->acquire(ip::make_address("::ffff:192.0.2.1"));  // the same client
  REQUIRE(s1);
  REQUIRE(s2);
  CHECK_FALSE(lim->acquire(a));
  CHECK(lim->acquire(ip::make_address("192.0.2.2")));
  CHECK(lim->open_for(a) == 2);
  s1.reset();
  CHECK(lim->open_for(a) == 1);
  CHECK(lim->acquire(a));
}

TEST_CASE("trusted_proxies and the send limits are validated as configuration") {
  using namespace switchboard::config;
  auto load = [](std::map<std::string, std::string> env) { return load_settings("", env); };
  CHECK(std::holds_alternative<settings>(load({{"SWITCHBOARD_SERVER_TRUSTED_PROXIES", "10.0.0.0/8, ::1"}})));
  auto bad = load({{"SWITCHBOARD_SERVER_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"}});
  REQUIRE(std::holds_alternative<config_error>(bad));
  CHECK_THAT(std::get<config_error>(bad).to_string(), Catch::Contains("proxy.local"));
  auto burst =
      load({{"SWITCHBOARD_LIMITS_SENDS_PER_SECOND", "100"}, {"SWITCHBOARD_LIMITS_SEND_BURST", "10"}});
  REQUIRE(std::holds_alternative<config_error>(burst));
  CHECK_THAT(std::get<config_error>(burst).to_string(), Catch::Contains("limits.send_burst"));
}

TEST_CASE("one token bucket: its burst, a retry time when empty, refill at its rate, never past the burst") {
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  token_bucket b(10.0, 3.0, t0);  // 10 a second, 3 at once
  std::int64_t retry = 0;
  CHECK(b.take(t0, retry));
  CHECK(b.take(t0, retry));
  CHECK(b.take(t0, retry, false));  // looking does not take
  CHECK(b.take(t0, retry));
  CHECK_FALSE(b.take(t0, retry));
  CHECK(retry == 100);  // one token at 10/s
  CHECK_FALSE(b.take(t0 + std::chrono::milliseconds(50), retry));
  CHECK(retry == 50);
  CHECK(b.take(t0 + std::chrono::milliseconds(100), retry));
  CHECK_FALSE(b.full_at(t0 + std::chrono::milliseconds(100)));
  CHECK(b.full_at(t0 + std::chrono::seconds(10)));
  auto later = t0 + std::chrono::seconds(10);  // a long idle time refills to the burst, no more
  for (int i = 0; i < 3; ++i) CHECK(b.take(later, retry));
  CHECK_FALSE(b.take(later, retry));
}
