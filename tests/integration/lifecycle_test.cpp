// Process behaviour for operators: SIGTERM drain, sd_notify, SIGHUP log reopen, JSON logs, outages.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "http_client.hpp"
#include "process.hpp"
#include "test_db.hpp"

using namespace sbtest;

namespace {
// A unix datagram socket standing in for systemd's NOTIFY_SOCKET.
class notify_socket {
 public:
  notify_socket() {
    path_ = make_temp_dir() + "/notify.sock";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{0, 200000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~notify_socket() { close(fd_); }
  const std::string& path() const { return path_; }
  // Collects datagrams until one contains `what` or `timeout` passes.
  bool wait_for(const std::string& what, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        seen_.append(buf, static_cast<std::size_t>(n)).append("\n");
        if (seen_.find(what) != std::string::npos) return true;
      }
    }
    return seen_.find(what) != std::string::npos;
  }
  const std::string& seen() const { return seen_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::string seen_;
};

std::string read_file(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("SIGTERM drains and exits 0 within the grace period, even with open connections") {
  fresh_database db;
  server srv(db.url(), {{"SWITCHBOARD_SERVER_SHUTDOWN_GRACE_MS", "3000"}});
  // An idle keep-alive connection must not hold shutdown up.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket idle(ioc);
  idle.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(srv.port())});
  REQUIRE(http_get(srv.port(), "/healthz").status == 200);

  auto started = std::chrono::steady_clock::now();
  srv.proc().signal(SIGTERM);
  auto code = srv.proc().wait_exit(10s);
  INFO(srv.proc().output());
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(std::chrono::steady_clock::now() - started < 3s + 2s);  // grace plus process teardown
  CHECK_THAT(srv.proc().output(), Catch::Contains("SIGTERM: draining"));
  CHECK_THAT(srv.proc().output(), Catch::Contains("stopped"));
  // The listener is closed: a new connection is refused.
  boost::asio::ip::tcp::socket late(ioc);
  boost::system::error_code ec;
  late.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(srv.port())}, ec);
  CHECK(ec);
}

TEST_CASE("sd_notify: READY=1 once listening, WATCHDOG=1 while alive, STOPPING=1 on SIGTERM") {
  fresh_database db;
  notify_socket ns;
  server srv(db.url(), {{"NOTIFY_SOCKET", ns.path()}, {"WATCHDOG_USEC", "200000"}});
  CHECK(ns.wait_for("READY=1", 10s));
  CHECK(ns.wait_for("WATCHDOG=1", 5s));
  srv.proc().signal(SIGTERM);
  CHECK(ns.wait_for("STOPPING=1", 10s));
  CHECK(srv.proc().wait_exit(10s) == 0);
}

TEST_CASE("SIGHUP reopens the log file after rotation") {
  fresh_database db;
  auto dir = make_temp_dir();
  std::string log = dir + "/switchboard.log";
  child_process proc({"serve"}, {{"SWITCHBOARD_DATABASE_URL", db.url()},
                                 {"SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0"},
                                 {"SWITCHBOARD_LOGGING_FILE", log},
                                 {"SWITCHBOARD_MEDIA_DIR", dir + "/media"}});
  REQUIRE(eventually([&] { return read_file(log).find("switchboard ready") != std::string::npos; }, 30s));
  REQUIRE(std::rename(log.c_str(), (log + ".1").c_str()) == 0);
  proc.signal(SIGHUP);
  CHECK(
      eventually([&] { return read_file(log).find("SIGHUP: log file reopened") != std::string::npos; }, 10s));
  CHECK_THAT(read_file(log + ".1"), Catch::Contains("listening on 127.0.0.1:"));
  proc.signal(SIGTERM);
  CHECK(proc.wait_exit(10s) == 0);
  CHECK_THAT(read_file(log), Catch::Contains("stopped"));
}

TEST_CASE("logging.format=json writes one JSON object per line") {
  fresh_database db;
  server srv(db.url(), {{"SWITCHBOARD_LOGGING_FORMAT", "json"}});
  srv.proc().signal(SIGTERM);
  REQUIRE(srv.proc().wait_exit(10s) == 0);
  std::istringstream lines(srv.proc().output());
  std::string line;
  int parsed = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    INFO(line);
    auto v = boost::json::parse(line);
    CHECK(v.as_object().contains("ts"));
    CHECK(v.as_object().contains("level"));
    CHECK(v.as_object().contains("msg"));
    ++parsed;
  }
  CHECK(parsed >= 3);
}

TEST_CASE("serve gives up with a clear message when PostgreSQL never answers") {
  auto r = run_binary({"serve"},
                      {{"SWITCHBOARD_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none"},
                       {"SWITCHBOARD_DATABASE_STARTUP_TIMEOUT_S", "1"},
                       {"SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0"}},
                      30s);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("PostgreSQL unreachable"));
}

TEST_CASE("serve refuses to start, naming media.dir, when the media directory cannot be made") {
  fresh_database db;
  auto r = run_binary({"serve"},
                      {{"SWITCHBOARD_DATABASE_URL", db.url()},
                       {"SWITCHBOARD_MEDIA_DIR", "/proc/self/no-such-place/media"},
                       {"SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0"}},
                      30s);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err,
             Catch::Contains("cannot use media.dir") && Catch::Contains("/proc/self/no-such-place/media"));
}

TEST_CASE("readyz turns 503 while PostgreSQL is down and 200 when it returns", "[disruptive]") {
  fresh_database db;
  server srv(db.url(), {{"SWITCHBOARD_DATABASE_HEALTH_INTERVAL_MS", "100"}});
  REQUIRE(http_get(srv.port(), "/readyz").status == 200);

  cluster_outage outage;
  CHECK(srv.proc().wait_for_line(std::regex("PostgreSQL is unreachable"), 10s));
  auto down = http_get(srv.port(), "/readyz");
  CHECK(down.status == 503);
  CHECK_THAT(down.body, Catch::Contains(R"("database":"down")"));
  CHECK(http_get(srv.port(), "/healthz").status == 200);  // the process itself is fine
  CHECK_THAT(http_get(srv.port(), "/metrics").body, Catch::Contains("switchboard_db_ready 0\n"));

  outage.end();
  CHECK(eventually([&] { return http_get(srv.port(), "/readyz").status == 200; }, 15s));
  CHECK_THAT(http_get(srv.port(), "/metrics").body, Catch::Contains("switchboard_db_ready 1\n"));
}
