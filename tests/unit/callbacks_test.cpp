// The parts of event callbacks that need no server: sealing apps' secrets, the HMAC signature,
// the callback URL rules and the address policy against SSRF.
#include <catch2/catch.hpp>

#include <boost/asio/ip/address.hpp>

#include "config/settings.hpp"
#include "server/base/secret_box.hpp"
#include "server/core/callbacks.hpp"
#include "server/net/http_client.hpp"

using namespace switchboard;

namespace {
const std::string key_hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
}

TEST_CASE("sealed secrets open only under their key, and any change to them is detected") {
  auto box = server::secret_box::from_hex(key_hex);
  REQUIRE(box);
  auto sealed = box->seal_hex("s3cret-of-the-app");
  CHECK(sealed.find("s3cret") == std::string::npos);
  CHECK(sealed.size() == 2 * (12 + 17 + 16));
  CHECK(box->open_hex(sealed) == std::optional<std::string>("s3cret-of-the-app"));
  // A fresh nonce each time.
  CHECK(box->seal_hex("s3cret-of-the-app") != sealed);
  // Tampered ciphertext, tag or nonce; truncated; not hex.
  for (std::size_t at : {std::size_t{0}, std::size_t{30}, sealed.size() - 1}) {
    auto t = sealed;
    t[at] = t[at] == '0' ? '1' : '0';
    CHECK_FALSE(box->open_hex(t));
  }
  CHECK_FALSE(box->open_hex(sealed.substr(0, 40)));
  CHECK_FALSE(box->open_hex("zz"));
  CHECK_FALSE(box->open_hex(""));
  // Another key.
  auto other = server::secret_box::from_hex(std::string(64, 'a'));
  REQUIRE(other);
  CHECK_FALSE(other->open_hex(sealed));
  // No key: nothing sealed, nothing opened.
  server::secret_box none;
  CHECK_FALSE(none.ready());
  CHECK(none.seal_hex("x").empty());
  CHECK_FALSE(none.open_hex(sealed));
  // Keys are exactly 32 bytes of hex.
  CHECK_FALSE(server::secret_box::from_hex(key_hex.substr(2)));
  CHECK_FALSE(server::secret_box::from_hex(key_hex + "00"));
  CHECK_FALSE(server::secret_box::from_hex(std::string(64, 'g')));
}

TEST_CASE("HMAC-SHA256 matches RFC 4231 and hex round-trips") {
  // RFC 4231, test case 2.
  CHECK(server::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(server::hex_of(std::string("\x00\xff\x10", 3)) == "00ff10");
  CHECK(server::bytes_of_hex("00FF10") == std::optional<std::string>(std::string("\x00\xff\x10", 3)));
  CHECK_FALSE(server::bytes_of_hex("abc"));
  CHECK_FALSE(server::bytes_of_hex("0x"));
}

TEST_CASE("callback requests carry the delivery id, the timestamp and a signature over both") {
  config::settings cfg;
  auto req = server::callback_request(cfg, "https://example.com/hook", R"({"a":1})", "d-1", "key");
  std::map<std::string, std::string> h(req.headers.begin(), req.headers.end());
  CHECK(h.at("X-Switchboard-Delivery") == "d-1");
  CHECK(h.at("X-Switchboard-Signature") ==
        "sha256=" + server::hmac_sha256_hex("key", h.at("X-Switchboard-Timestamp") + "." + R"({"a":1})"));
  CHECK(req.allow_address);  // private addresses refused by default
  cfg.callbacks.allow_private = true;
  CHECK_FALSE(server::callback_request(cfg, "https://example.com/hook", "{}", "", "key").allow_address);
}

TEST_CASE("callback URLs are https unless allow_http, and well formed") {
  config::settings cfg;
  CHECK_FALSE(server::check_callback_url(cfg, "https://hooks.example.com/switchboard"));
  CHECK(server::check_callback_url(cfg, "http://hooks.example.com/switchboard"));
  CHECK(server::check_callback_url(cfg, "ftp://hooks.example.com/"));
  CHECK(server::check_callback_url(cfg, "https://user@hooks.example.com/"));
  CHECK(server::check_callback_url(cfg, "https://hooks.example.com/a b"));
  CHECK(server::check_callback_url(cfg, "https://hooks.example.com:99999/"));
  CHECK(server::check_callback_url(cfg, "https://" + std::string(3000, 'a') + ".com/"));
  cfg.callbacks.allow_http = true;
  CHECK_FALSE(server::check_callback_url(cfg, "http://hooks.example.com/switchboard"));
}

TEST_CASE("only public addresses pass the SSRF check") {
  auto pub = [](const char* a) { return server::is_public_address(boost::asio::ip::make_address(a)); };
  for (auto a : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "172.32.0.1", "100.128.0.1",
                 "64:ff9b::808:808"}) {
    INFO(a);
    CHECK(pub(a));
  }
  for (auto a : {"127.0.0.1",       "127.255.0.9",     "10.0.0.1",           "172.16.5.5", "172.31.255.255",
                 "192.168.1.1",     "169.254.169.254", "100.64.0.1",         "0.0.0.0",    "224.0.0.1",
                 "255.255.255.255", "192.0.2.1",       "198.18.0.1",         "::1",        "::",
                 "fe80::1",         "fc00::1",         "fd12:3456::1",       "ff02::1",    "::ffff:127.0.0.1",
                 "::ffff:10.0.0.1", "::127.0.0.1",     "64:ff9b::a9fe:a9fe", "2001:db8::1"}) {
    INFO(a);
    CHECK_FALSE(pub(a));
  }
}
