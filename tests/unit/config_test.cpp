// Config parsing: every bad input gives an error naming the key (or line) and why.
#include <catch2/catch.hpp>

#include "config/ini_parser.hpp"
#include "config/settings.hpp"

using namespace switchboard::config;

namespace {
config_error load_error(const std::string& text, const environment& env = {}) {
  auto r = load_settings_from_text(text, "test.ini", env);
  REQUIRE(std::holds_alternative<config_error>(r));
  return std::get<config_error>(r);
}
settings load_ok(const std::string& text, const environment& env = {}) {
  auto r = load_settings_from_text(text, "test.ini", env);
  if (auto* e = std::get_if<config_error>(&r)) FAIL(e->to_string());
  return std::get<settings>(r);
}
}  // namespace

TEST_CASE("defaults load without a file") {
  auto s = load_ok("");
  CHECK(s.server.listen.host == "127.0.0.1");
  CHECK(s.server.listen.port == 8080);
  CHECK(s.limits.max_frame_bytes == 65536);
  CHECK(s.limits.requests_per_second == 100);
  CHECK(s.limits.request_burst == 200);
  CHECK(s.limits.max_group_members == 2000);
  CHECK(s.auth.scrypt_log2_n == 17);
  CHECK(s.server.heartbeat_s == 30);
  CHECK_FALSE(s.metrics.listen.has_value());
}

TEST_CASE("a full file sets every section") {
  auto s = load_ok(R"(
# comment
[server]
listen = 0.0.0.0:9000   ; trailing comment
allowed_origins = https://a.example, https://b.example
threads = 3
[database]
url = "postgresql://u@db/sb?sslmode=disable#x"
pool_size = 8
migrate_on_start = false
[logging]
level = debug
format = json
[metrics]
listen = 127.0.0.1:9100
[limits]
requests_per_second = 50
request_burst = 60
[auth]
scrypt_log2_n = 12
signup_enabled = yes
[sms]
sink = file
path = /tmp/sms.jsonl
)");
  CHECK(s.server.listen.to_string() == "0.0.0.0:9000");
  REQUIRE(s.server.allowed_origins.size() == 2);
  CHECK(s.server.allowed_origins[1] == "https://b.example");
  CHECK(s.server.threads == 3);
  CHECK(s.database.url == "postgresql://u@db/sb?sslmode=disable#x");
  CHECK(s.database.pool_size == 8);
  CHECK_FALSE(s.database.migrate_on_start);
  CHECK(s.logging.format == "json");
  REQUIRE(s.metrics.listen.has_value());
  CHECK(s.metrics.listen->port == 9100);
  CHECK(s.auth.signup_enabled);
  CHECK(s.sms.sink == "file");
}

TEST_CASE("IPv6 listen addresses use brackets") {
  auto s = load_ok("[server]\nlisten = [::1]:8443\n");
  CHECK(s.server.listen.host == "::1");
  CHECK(s.server.listen.to_string() == "[::1]:8443");
}

TEST_CASE("environment overrides the file and names the variable on error") {
  auto s =
      load_ok("[database]\npool_size = 2\n", {{"SWITCHBOARD_DATABASE_POOL_SIZE", "6"}, {"PATH", "/bin"}});
  CHECK(s.database.pool_size == 6);
  auto e = load_error("", {{"SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND", "fast"}});
  CHECK(e.key == "limits.requests_per_second");
  CHECK(e.where == "env SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND");
  CHECK_THAT(e.reason, Catch::Contains("integer"));
}

TEST_CASE("unknown keys, sections and variables are errors") {
  auto e = load_error("[server]\nlisten = 127.0.0.1:1\nlisten_port = 3\n");
  CHECK(e.key == "server.listen_port");
  CHECK(e.where == "test.ini:3");
  CHECK(e.reason == "unknown key");
  e = load_error("[serve]\nlisten = 1\n");
  CHECK(e.key == "serve");
  CHECK(e.reason == "unknown section");
  e = load_error("", {{"SWITCHBOARD_DATABSE_URL", "x"}});
  CHECK(e.where == "env SWITCHBOARD_DATABSE_URL");
}

TEST_CASE("malformed lines name their line") {
  CHECK(load_error("[server\n").where == "test.ini:1");
  CHECK(load_error("[server]\n\nnonsense\n").where == "test.ini:3");
  CHECK(load_error("listen = 1:2\n").reason == "key 'listen' is outside any [section]");
  CHECK_THAT(load_error("[server]\nthreads = 1\nthreads = 2\n").reason, Catch::Contains("duplicate"));
  CHECK_THAT(load_error("[database]\nurl = \"abc\n").reason, Catch::Contains("\""));
  CHECK_THAT(load_error("[Server]\n").reason, Catch::Contains("lowercase"));
}

TEST_CASE("values out of range or of the wrong type are rejected with the reason") {
  struct bad {
    std::string text, key, reason_part;
  };
  std::vector<bad> cases{
      {"[server]\nlisten = localhost\n", "server.listen", "host:port"},
      {"[server]\nlisten = 1.2.3.4:70000\n", "server.listen", "65535"},
      {"[server]\nthreads = -1\n", "server.threads", "from 0 to 256"},
      {"[server]\nthreads = 2x\n", "server.threads", "integer"},
      {"[database]\npool_size = 0\n", "database.pool_size", "from 1"},
      {"[database]\nurl =\n", "database.url", "empty"},
      {"[database]\nmigrate_on_start = maybe\n", "database.migrate_on_start", "true or false"},
      {"[logging]\nlevel = loud\n", "logging.level", "one of"},
      {"[logging]\nformat = xml\n", "logging.format", "text, json"},
      {"[limits]\nmax_frame_bytes = 10\n", "limits.max_frame_bytes", "from 1024"},
      {"[auth]\nscrypt_log2_n = 40\n", "auth.scrypt_log2_n", "from 10 to 22"},
      {"[sms]\nsink = pigeon\n", "sms.sink", "log, file, http"},
      {"[sms]\nsink = file\n", "sms.path", "required"},
      {"[sms]\nsink = http\nurl = ftp://x\n", "sms.url", "http"},
      {"[tls]\nenabled = true\n", "tls.cert_file", "required"},
      {"[tls]\nenabled = true\ncert_file = /nonexistent/c.pem\nkey_file = /nonexistent/k.pem\n",
       "tls.cert_file", "cannot read"},
      {"[limits]\nrequests_per_second = 500\n", "limits.request_burst", "at least"},
      {"[server]\nlisten = 127.0.0.1:9000\n[metrics]\nlisten = 127.0.0.1:9000\n", "metrics.listen", "differ"},
      {"[apps]\nsecret_key = 0123\n", "apps.secret_key", "64 hex digits"},
      {"[apps]\nsecret_key = " + std::string(64, 'x') + "\n", "apps.secret_key", "64 hex digits"},
      {"[callbacks]\nretry_base_ms = 5000\nretry_max_ms = 1000\n", "callbacks.retry_max_ms", "at least"},
      {"[callbacks]\ntimeout_ms = 10\n", "callbacks.timeout_ms", "from 100"},
      {"[calls]\nring_timeout_s = 0\n", "calls.ring_timeout_s", "from 1"},
      {"[calls]\nmax_parties = 1\n", "calls.max_parties", "from 2"},
      {"[calls]\nturn_uris = http://turn.example.com\n", "calls.turn_uris", "turn:"},
      {"[calls]\nturn_uris = turn:turn.example.com:3478\n", "calls.turn_secret", "required"},
      {"[governance]\ninterval_s = 0\n", "governance.interval_s", "from 1"},
      {"[governance]\nretention_chunk = 0\n", "governance.retention_chunk", "from 1"},
      {"[governance]\norg_purge_delay_s = -1\n", "governance.org_purge_delay_s", "from 0"},
      {"[governance]\nreports_per_hour = 0\n", "governance.reports_per_hour", "from 1"},
      {"[storage]\nencryption_key = 0123\n", "storage.encryption_key", "64 hex digits"},
      {"[storage]\nencryption_key = " + std::string(64, 'g') + "\n", "storage.encryption_key",
       "64 hex digits"},
      {"[storage]\ndecryption_keys = " + std::string(64, 'a') + ", beef\n", "storage.decryption_keys",
       "64 hex digits"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto e = load_error(c.text);
    CHECK(e.key == c.key);
    CHECK_THAT(e.reason, Catch::Contains(c.reason_part));
  }
}

TEST_CASE("the calls section: defaults, and TURN servers as a list") {
  auto d = load_ok("");
  CHECK(d.calls.ring_timeout_s == 45);
  CHECK(d.calls.reconnect_grace_s == 20);
  CHECK(d.calls.max_parties == 8);
  CHECK(d.calls.turn_ttl_s == 3600);
  CHECK(d.calls.turn_uris.empty());
  auto s = load_ok(
      "[calls]\nturn_uris = turn:a.example.com:3478?transport=udp, turns:a.example.com:5349\n"
      "turn_secret = s\nring_timeout_s = 30\n",
      {{"SWITCHBOARD_CALLS_RECONNECT_GRACE_S", "5"}});
  CHECK(s.calls.turn_uris ==
        std::vector<std::string>{"turn:a.example.com:3478?transport=udp", "turns:a.example.com:5349"});
  CHECK(s.calls.ring_timeout_s == 30);
  CHECK(s.calls.reconnect_grace_s == 5);
}

TEST_CASE("the governance and storage sections: defaults, and keys as a list") {
  auto d = load_ok("");
  CHECK(d.governance.interval_s == 3600);
  CHECK(d.governance.org_purge_delay_s == 604800);
  CHECK(d.governance.export_ttl_s == 604800);
  CHECK(d.storage.encryption_key.empty());
  CHECK(d.storage.decryption_keys.empty());
  const std::string a(64, 'a'), b(64, 'B');
  auto s = load_ok("[storage]\nencryption_key = " + a + "\ndecryption_keys = " + a + " , " + b + "\n",
                   {{"SWITCHBOARD_GOVERNANCE_ORG_PURGE_DELAY_S", "0"}});
  CHECK(s.storage.encryption_key == a);
  CHECK(s.storage.decryption_keys == std::vector<std::string>{a, b});
  CHECK(s.governance.org_purge_delay_s == 0);
}

TEST_CASE("every key has an environment variable that works") {
  for (const auto& k : known_keys()) {
    INFO(k);
    auto dot = k.find('.');
    std::string env = "SWITCHBOARD_" + k.substr(0, dot) + "_" + k.substr(dot + 1);
    for (auto& c : env) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    // A value no key accepts except free strings: either it loads or the error names this key.
    auto r = load_settings_from_text("", "t", {{env, "@@"}});
    if (auto* e = std::get_if<config_error>(&r)) CHECK((e->key == k || e->where == "t"));
  }
}

TEST_CASE("the sample config in deploy/ loads cleanly") {
  auto r = load_settings(SWITCHBOARD_SOURCE_DIR "/deploy/switchboard.example.ini", {});
  if (auto* e = std::get_if<config_error>(&r)) FAIL(e->to_string());
}
