// Integration apps' event callbacks: URL verification by challenge, signed deliveries of message
// and contact events to a receiver run by the test itself, in order per app, retries with the same
// delivery id after the receiver fails, no event lost across a server crash, and the refusal of
// loopback and private addresses (SSRF).
#include <catch2/catch.hpp>

#include <openssl/hmac.h>
#include <signal.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "api_client.hpp"
#include "fixture.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "ws_client.hpp"

using namespace sbtest;
namespace json = boost::json;
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

const std::string secret_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

// One request as the receiver saw it, and the status it answered.
struct received {
  std::string target, body, delivery, timestamp, signature;
  int status = 0;
  json::object parsed() const { return json::parse(body).as_object(); }
  std::string type() const { return str(parsed().at("type")); }
};

// An HTTP receiver on 127.0.0.1: answers a url_verification with its challenge, and any other
// request with what `policy` says (200 unless set).
class receiver {
 public:
  receiver() : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~receiver() {
    ioc_.stop();
    thread_.join();
  }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  void set_policy(std::function<int(const received&)> p) {
    std::lock_guard lk(mu_);
    policy_ = std::move(p);
  }
  std::vector<received> got() const {
    std::lock_guard lk(mu_);
    return got_;
  }
  // The requests answered 2xx to `path`, other than verifications.
  std::vector<received> delivered(const std::string& path = "/hook") const {
    std::vector<received> out;
    for (auto& r : got())
      if (r.target == path && r.status == 200 && r.type() != "url_verification") out.push_back(r);
    return out;
  }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket s) {
      if (ec) return;
      serve(std::move(s));
      accept();
    });
  }
  void serve(asio::ip::tcp::socket s) {
    boost::system::error_code ec;
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(s, buf, req, ec);
    if (ec) return;
    received r{std::string(req.target()), req.body(), std::string(req["X-Switchboard-Delivery"]),
               std::string(req["X-Switchboard-Timestamp"]), std::string(req["X-Switchboard-Signature"])};
    http::response<http::string_body> res;
    auto v = json::parse(r.body, ec);
    if (!ec && v.is_object() && v.as_object().contains("type") && v.at("type") == "url_verification") {
      r.status = 200;
      res.body() = str(v.at("challenge"));
    } else {
      std::lock_guard lk(mu_);
      r.status = policy_ ? policy_(r) : 200;
    }
    res.result(static_cast<http::status>(r.status));
    res.prepare_payload();
    {
      std::lock_guard lk(mu_);
      got_.push_back(r);
    }
    http::write(s, res, ec);
  }

  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::function<int(const received&)> policy_;
  std::vector<received> got_;
};

std::string hmac_hex(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(digits[mac[i] >> 4]);
    out.push_back(digits[mac[i] & 15]);
  }
  return out;
}

// What a receiver does with each request: the signature over "<timestamp>.<body>" with the secret.
void check_signed(const received& r, const std::string& secret) {
  INFO(r.body);
  CHECK(!r.timestamp.empty());
  CHECK(r.timestamp.find_first_not_of("0123456789") == std::string::npos);
  CHECK(r.signature == "sha256=" + hmac_hex(secret, r.timestamp + "." + r.body));
}

sbtest::env callback_env(std::map<std::string, std::string> more = {}) {
  sbtest::env e{{"SWITCHBOARD_APPS_SECRET_KEY", secret_key},
                {"SWITCHBOARD_CALLBACKS_ALLOW_PRIVATE", "true"},
                {"SWITCHBOARD_CALLBACKS_ALLOW_HTTP", "true"},
                {"SWITCHBOARD_CALLBACKS_RETRY_BASE_MS", "200"},
                {"SWITCHBOARD_CALLBACKS_TIMEOUT_MS", "2000"}};
  for (auto& [k, v] : more) e[k] = v;
  return e;
}

json::object new_app(const api_client& admin, const json::array& scopes) {
  return admin.ok("POST", "/v1/admin/apps", json::object{{"name", "Helpdesk"}, {"scopes", scopes}}, 201);
}

http_reply put_callback(const api_client& admin, const json::object& app, const std::string& url) {
  return admin.call("PUT", "/v1/admin/apps/" + str(app.at("app")) + "/callback", json::object{{"url", url}});
}

std::string app_token(int port, const json::object& app) {
  auto r = http_call(port, "POST", "/v1/app/token",
                     json::serialize(json::object{{"app_id", app.at("app")}, {"secret", app.at("secret")}}));
  REQUIRE(r.status == 200);
  return str(json::parse(r.body).at("access_token"));
}

json::object app_listing(const api_client& admin, const json::object& app) {
  auto listed = admin.ok("GET", "/v1/admin/apps");
  for (const auto& a : listed.at("items").as_array())
    if (a.at("app") == app.at("app")) return a.as_object();
  FAIL("app not listed");
  return {};
}

}  // namespace

TEST_CASE("callbacks: registration POSTs a signed challenge and keeps the URL only when it is echoed") {
  org_fixture fx{callback_env()};
  api_client admin{fx.port(), fx.owner.token};
  receiver rx;
  auto app = new_app(admin, {"events", "contacts:read"});
  auto r = put_callback(admin, app, rx.url());
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body).at("callback_url") == json::value(rx.url()));
  auto got = rx.got();
  REQUIRE(got.size() == 1);
  CHECK(got[0].type() == "url_verification");
  CHECK(got[0].parsed().at("challenge").as_string().size() >= 32);
  check_signed(got[0], str(app.at("secret")));
  CHECK(app_listing(admin, app).at("callback_url") == json::value(rx.url()));

  // A receiver that does not echo the challenge: 400, and the URL stays what it was.
  {
    // A server that answers 200 with something else.
    asio::io_context ioc;
    asio::ip::tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    std::thread t([&] {
      asio::ip::tcp::socket s(ioc);
      acc.accept(s);
      boost::beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(s, buf, req);
      http::response<http::string_body> res{http::status::ok, 11};
      res.body() = "not the challenge";
      res.prepare_payload();
      http::write(s, res);
    });
    auto wrong =
        put_callback(admin, app, "http://127.0.0.1:" + std::to_string(acc.local_endpoint().port()) + "/x");
    t.join();
    CHECK(wrong.status == 400);
    CHECK(wrong.body.find("its answer was not the challenge") != std::string::npos);
  }
  // Nobody listening: 400.
  {
    asio::io_context ioc;
    asio::ip::tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    auto port = acc.local_endpoint().port();
    acc.close();
    CHECK(put_callback(admin, app, "http://127.0.0.1:" + std::to_string(port) + "/x").status == 400);
  }
  CHECK(app_listing(admin, app).at("callback_url") == json::value(rx.url()));

  // Bad input.
  CHECK(put_callback(admin, app, "ftp://example.com/x").status == 400);
  CHECK(put_callback(admin, app, "http://exa mple.com/x").status == 400);
  CHECK(admin.code("PUT", "/v1/admin/apps/" + str(app.at("app")) + "/callback", json::object{{"url", 5}}) ==
        "bad_request");
  CHECK(admin.code("PUT", "/v1/admin/apps/" + str(app.at("app")) + "/callback", json::object{}) ==
        "bad_request");
  // An app without the events scope cannot have one; another org's app is not found.
  auto mute_app = new_app(admin, {"messages:send"});
  CHECK(put_callback(admin, mute_app, rx.url()).status == 400);
  auto other = fx.new_org("Other");
  api_client other_admin{fx.port(), other.token};
  CHECK(put_callback(other_admin, app, rx.url()).status == 404);
  // Members cannot; an empty URL removes the callback.
  auto mia = fx.add_user(fx.owner, "Mia");
  CHECK(put_callback(api_client{fx.port(), mia.token}, app, rx.url()).status == 403);
  auto cleared = put_callback(admin, app, "");
  CHECK(cleared.status == 200);
  CHECK(json::parse(cleared.body).at("callback_url").is_null());
  // The change is audited.
  CHECK(fx.db.scalar("SELECT count(*) FROM audit_log WHERE action = 'app.callback'") == "2");
}

TEST_CASE("callbacks: messages to the bot and contact changes arrive signed, in order, each once") {
  org_fixture fx{callback_env()};
  api_client admin{fx.port(), fx.owner.token};
  auto bob = fx.add_user(fx.owner, "Bob");
  receiver rx;
  auto app = new_app(admin, {"events", "contacts:read", "messages:send"});
  auto quiet = new_app(admin, {"events"});  // no contacts:read: message events only
  REQUIRE(put_callback(admin, app, rx.url("/hook")).status == 200);
  REQUIRE(put_callback(admin, quiet, rx.url("/quiet")).status == 200);
  auto secret = str(app.at("secret"));

  // The bot writes to Bob (its own message is no event); Bob answers in that conversation.
  api_client bot{fx.port(), app_token(fx.port(), app)};
  auto sent = bot.ok("POST", "/v1/app/messages",
                     json::object{{"to_users", json::array{bob.id}},
                                  {"client_msg_id", "hello-1"},
                                  {"type", "text"},
                                  {"body", {{"text", "How can I help?"}}}});
  auto conv = str(sent.at("results").as_array()[0].at("conv"));
  ws_client b(fx.port());
  b.hello(bob.token);
  auto ack = b.call("send", {{"conv", conv},
                             {"client_msg_id", "q-1"},
                             {"type", "text"},
                             {"body", {{"text", "my laptop is broken"}}}});
  REQUIRE(ack.at("ok").as_bool());

  // Contact changes, through the admin API.
  auto dan = fx.add_user(fx.owner, "Dan");
  admin.ok("PATCH", "/v1/admin/users/" + dan.id, json::object{{"title", "Engineer"}});
  admin.call("DELETE", "/v1/admin/users/" + dan.id);
  auto dept = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Support"}}, 201);

  REQUIRE(eventually([&] { return rx.delivered().size() >= 5; }, 20s));
  std::this_thread::sleep_for(300ms);  // nothing more is coming
  auto events = rx.delivered();
  REQUIRE(events.size() == 5);
  std::vector<std::string> types;
  std::set<std::string> ids;
  for (const auto& e : events) {
    check_signed(e, secret);
    auto o = e.parsed();
    types.push_back(str(o.at("type")));
    CHECK(str(o.at("delivery_id")) == e.delivery);
    CHECK(o.at("ts").is_int64());
    ids.insert(e.delivery);
  }
  CHECK(ids.size() == 5);
  CHECK(types == std::vector<std::string>{"message", "member.added", "member.updated", "member.removed",
                                          "department.changed"});
  // The message is the Message a member's device gets.
  auto msg = events[0].parsed().at("data").as_object();
  CHECK(msg.at("conv") == json::value(conv));
  CHECK(msg.at("seq") == 2);
  CHECK(msg.at("from") == json::value(bob.id));
  CHECK(msg.at("msg_id") == ack.at("data").at("msg_id"));
  CHECK(msg.at("body").at("text") == "my laptop is broken");
  CHECK(events[1].parsed().at("data").at("user") == json::value(dan.id));
  CHECK(events[2].parsed().at("data").at("title") == "Engineer");
  CHECK(events[3].parsed().at("data").at("status") == "removed");
  auto d = events[4].parsed().at("data").as_object();
  CHECK(d.at("action") == "created");
  CHECK(d.at("department").at("name") == "Support");
  CHECK(d.at("department").at("department") == dept.at("department"));
  // The app without contacts:read got nothing: its bot is in no conversation.
  CHECK(rx.delivered("/quiet").empty());
  CHECK(eventually([&] { return fx.db.scalar("SELECT count(*) FROM app_events") == "0"; }, 10s));

  // After a rotation, deliveries are signed with the new secret.
  auto rotated = admin.ok("POST", "/v1/admin/apps/" + str(app.at("app")) + "/rotate");
  admin.ok("PATCH", "/v1/admin/departments/" + str(dept.at("department")),
           json::object{{"name", "Service desk"}});
  REQUIRE(eventually([&] { return rx.delivered().size() == 6; }, 20s));
  auto last = rx.delivered().back();
  check_signed(last, str(rotated.at("secret")));
  CHECK(last.parsed().at("data").at("action") == "updated");
}

TEST_CASE("callbacks: a failing receiver gets the same delivery again, and later events wait for it") {
  org_fixture fx{callback_env()};
  api_client admin{fx.port(), fx.owner.token};
  receiver rx;
  auto app = new_app(admin, {"events", "contacts:read"});
  REQUIRE(put_callback(admin, app, rx.url()).status == 200);
  int failures = 0;
  rx.set_policy([&failures](const received&) { return failures++ < 2 ? 500 : 200; });
  for (auto name : {"A", "B", "C"})
    admin.ok("POST", "/v1/admin/departments", json::object{{"name", name}}, 201);
  REQUIRE(eventually([&] { return rx.delivered().size() == 3; }, 20s));
  std::vector<received> attempts;
  for (auto& r : rx.got())
    if (r.type() != "url_verification") attempts.push_back(r);
  REQUIRE(attempts.size() == 5);
  // A, A, A (500, 500, 200), then B and C: the same delivery id each time A was tried.
  CHECK(attempts[0].status == 500);
  CHECK(attempts[1].status == 500);
  CHECK(attempts[2].status == 200);
  CHECK(attempts[0].delivery == attempts[1].delivery);
  CHECK(attempts[1].delivery == attempts[2].delivery);
  CHECK(attempts[0].body == attempts[2].body);
  std::vector<std::string> names;
  for (auto& r : rx.delivered()) names.push_back(str(r.parsed().at("data").at("department").at("name")));
  CHECK(names == std::vector<std::string>{"A", "B", "C"});
  // (The receiver records a request before it answers, so the last delete may still be on its way.)
  CHECK(eventually([&] { return app_listing(admin, app).at("events").at("pending") == 0; }, 10s));
}

TEST_CASE("callbacks: events pending when the server is killed are delivered after it restarts") {
  auto env = callback_env({{"SWITCHBOARD_CALLBACKS_TIMEOUT_MS", "500"}});
  org_fixture fx{env};
  api_client admin{fx.port(), fx.owner.token};
  receiver rx;
  auto app = new_app(admin, {"events", "contacts:read"});
  REQUIRE(put_callback(admin, app, rx.url()).status == 200);
  rx.set_policy([](const received&) { return 503; });
  for (auto name : {"One", "Two", "Three"})
    admin.ok("POST", "/v1/admin/departments", json::object{{"name", name}}, 201);
  // The receiver failing is visible to admins.
  json::object listed;
  REQUIRE(eventually(
      [&] {
        listed = app_listing(admin, app);
        return !listed.at("events").at("last_error").is_null();
      },
      20s));
  CHECK(listed.at("events").at("pending") == 3);
  CHECK(listed.at("events").at("last_error") == "HTTP 503");

  fx.srv->proc().signal(SIGKILL);
  REQUIRE(fx.srv->proc().wait_exit(10s));
  rx.set_policy([](const received&) { return 200; });
  fx.srv = std::make_unique<server>(fx.db.url(), env);
  REQUIRE(eventually([&] { return rx.delivered().size() >= 3; }, 30s));
  std::this_thread::sleep_for(300ms);
  std::vector<std::string> names;
  std::set<std::string> ids;
  for (auto& r : rx.delivered()) {
    names.push_back(str(r.parsed().at("data").at("department").at("name")));
    ids.insert(r.delivery);
  }
  CHECK(names == std::vector<std::string>{"One", "Two", "Three"});
  CHECK(ids.size() == 3);
  CHECK(eventually([&] { return fx.db.scalar("SELECT count(*) FROM app_events") == "0"; }, 10s));
}

TEST_CASE("callbacks: events older than callbacks.max_age_s are given up and the next ones go") {
  org_fixture fx{callback_env({{"SWITCHBOARD_CALLBACKS_MAX_AGE_S", "1"}})};
  api_client admin{fx.port(), fx.owner.token};
  receiver rx;
  auto app = new_app(admin, {"events", "contacts:read"});
  REQUIRE(put_callback(admin, app, rx.url()).status == 200);
  rx.set_policy([](const received&) { return 500; });
  admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Lost"}}, 201);
  REQUIRE(eventually([&] { return fx.db.scalar("SELECT count(*) FROM app_events") == "0"; }, 20s));
  rx.set_policy([](const received&) { return 200; });
  admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Kept"}}, 201);
  REQUIRE(eventually([&] { return rx.delivered().size() == 1; }, 20s));
  CHECK(rx.delivered()[0].parsed().at("data").at("department").at("name") == "Kept");
  auto metrics = http_get(fx.port(), "/metrics").body;
  CHECK(metrics.find("switchboard_callbacks_dropped_total 1") != std::string::npos);
}

TEST_CASE("callbacks: loopback, private and metadata addresses are refused unless allowed") {
  org_fixture fx{{{"SWITCHBOARD_APPS_SECRET_KEY", secret_key}, {"SWITCHBOARD_CALLBACKS_ALLOW_HTTP", "true"}}};
  api_client admin{fx.port(), fx.owner.token};
  receiver rx;
  auto app = new_app(admin, {"events"});
  for (const std::string& url : std::vector<std::string>{
           rx.url(), "http://localhost:" + rx.url().substr(rx.url().rfind(':') + 1),
           std::string("http://169.254.169.254/latest/meta-data"), std::string("http://10.1.2.3/x"),
           std::string("http://[::1]/x"), std::string("http://[::ffff:127.0.0.1]/x"),
           std::string("http://2130706433/x")}) {
    auto r = put_callback(admin, app, url);
    INFO(url << " -> " << r.body);
    CHECK(r.status == 400);
    CHECK(r.body.find("private") != std::string::npos);
  }
  CHECK(rx.got().empty());
  CHECK(app_listing(admin, app).at("callback_url").is_null());

  // Without allow_http only https:// is taken; without apps.secret_key no callback at all.
  org_fixture plain;
  api_client plain_admin{plain.port(), plain.owner.token};
  auto plain_app = new_app(plain_admin, {"events"});
  auto http_url = put_callback(plain_admin, plain_app, "http://example.com/hook");
  CHECK(http_url.status == 400);
  CHECK(http_url.body.find("https") != std::string::npos);
  auto no_key = put_callback(plain_admin, plain_app, "https://example.com/hook");
  CHECK(no_key.status == 409);
  CHECK(no_key.body.find("apps.secret_key") != std::string::npos);
}

TEST_CASE("callbacks: the example integration in deploy/examples posts a message and receives events") {
  org_fixture fx{callback_env()};
  api_client admin{fx.port(), fx.owner.token};
  auto bob = fx.add_user(fx.owner, "Bob");
  auto app = new_app(admin, {"events", "messages:send"});
  auto secret = str(app.at("secret"));
  const std::string examples = SWITCHBOARD_SOURCE_DIR "/deploy/examples/";
  child_process rx("/usr/bin/env", {"python3", examples + "receiver.py", "--port", "0"},
                   {{"APP_SECRET", secret}});
  auto listening = rx.wait_for_line(std::regex("listening on (http://\\S+)"), 20s);
  REQUIRE(listening);
  auto put = put_callback(admin, app, (*listening)[1]);
  INFO(put.body);
  REQUIRE(put.status == 200);

  auto run =
      run_program("/usr/bin/env", {"bash", examples + "post_message.sh", bob.id, "--", "Build 42 passed"},
                  {{"SWITCHBOARD_URL", "http://127.0.0.1:" + std::to_string(fx.port())},
                   {"APP_ID", str(app.at("app"))},
                   {"APP_SECRET", secret},
                   {"CLIENT_MSG_ID", "ci-42"}});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  auto conv = str(json::parse(run.out).at("results").at(0).at("conv"));
  ws_client b(fx.port());
  b.hello(bob.token);
  auto synced = b.call("sync", {{"conv", conv}, {"after_seq", 0}});
  CHECK(synced.at("data").at("messages").at(0).at("body").at("text") == "Build 42 passed");
  // Bob answers; the example receiver checks the signature and prints the event.
  REQUIRE(b.call("send",
                 {{"conv", conv}, {"client_msg_id", "r-1"}, {"type", "text"}, {"body", {{"text", "thanks"}}}})
              .at("ok")
              .as_bool());
  CHECK(rx.wait_for_line(std::regex(R"("type": "message".*"text": "thanks")"), 20s));
  // A wrong secret is refused by the script with the server's error.
  auto wrong = run_program("/usr/bin/env", {"bash", examples + "post_message.sh", bob.id, "--", "x"},
                           {{"SWITCHBOARD_URL", "http://127.0.0.1:" + std::to_string(fx.port())},
                            {"APP_ID", str(app.at("app"))},
                            {"APP_SECRET", "wrong"}});
  CHECK(wrong.exit_code != 0);
  CHECK(wrong.err.find("HTTP 401") != std::string::npos);
}

TEST_CASE("callbacks: two nodes on one database deliver each event once, in order") {
  auto env = callback_env();
  org_fixture fx{env};
  server second(fx.db.url(), env);
  api_client admin{fx.port(), fx.owner.token};
  api_client admin2{second.port(), fx.owner.token};
  receiver rx;
  auto a = new_app(admin, {"events", "contacts:read"});
  auto b = new_app(admin, {"events", "contacts:read"});
  REQUIRE(put_callback(admin, a, rx.url("/a")).status == 200);
  REQUIRE(put_callback(admin2, b, rx.url("/b")).status == 200);
  // Changes through both nodes; both nodes' dispatchers are awake.
  for (int i = 0; i < 20; ++i)
    (i % 2 ? admin : admin2)
        .ok("POST", "/v1/admin/departments", json::object{{"name", "D" + std::to_string(i)}}, 201);
  REQUIRE(
      eventually([&] { return rx.delivered("/a").size() >= 20 && rx.delivered("/b").size() >= 20; }, 30s));
  std::this_thread::sleep_for(500ms);
  for (const auto* path : {"/a", "/b"}) {
    INFO(path);
    auto got = rx.delivered(path);
    CHECK(got.size() == 20);
    std::vector<std::string> names;
    std::set<std::string> ids;
    for (auto& r : got) {
      names.push_back(str(r.parsed().at("data").at("department").at("name")));
      ids.insert(r.delivery);
    }
    std::vector<std::string> want;
    for (int i = 0; i < 20; ++i) want.push_back("D" + std::to_string(i));
    CHECK(names == want);
    CHECK(ids.size() == 20);
  }
}

TEST_CASE("callbacks: a secret sealed under no key or another key must be rotated, and deliveries say why") {
  org_fixture fx{
      {{"SWITCHBOARD_CALLBACKS_ALLOW_PRIVATE", "true"}, {"SWITCHBOARD_CALLBACKS_ALLOW_HTTP", "true"}}};
  api_client admin{fx.port(), fx.owner.token};
  receiver rx;
  // Made while the server had no apps.secret_key: nothing sealed.
  auto app = new_app(admin, {"events", "contacts:read"});
  fx.srv = std::make_unique<server>(fx.db.url(), callback_env());
  api_client keyed{fx.srv->port(), fx.owner.token};
  auto refused = put_callback(keyed, app, rx.url());
  CHECK(refused.status == 409);
  CHECK(refused.body.find("rotate") != std::string::npos);
  CHECK(rx.got().empty());
  auto rotated = keyed.ok("POST", "/v1/admin/apps/" + str(app.at("app")) + "/rotate");
  REQUIRE(put_callback(keyed, app, rx.url()).status == 200);
  check_signed(rx.got().at(0), str(rotated.at("secret")));

  // The server's key changes: the sealed secret no longer opens, and the backlog says why.
  auto other_key = callback_env({{"SWITCHBOARD_APPS_SECRET_KEY", std::string(64, 'e')},
                                 {"SWITCHBOARD_CALLBACKS_RETRY_MAX_MS", "1000"}});
  fx.srv = std::make_unique<server>(fx.db.url(), other_key);
  api_client rekeyed{fx.srv->port(), fx.owner.token};
  rekeyed.ok("POST", "/v1/admin/departments", json::object{{"name", "Held"}}, 201);
  json::object listed;
  REQUIRE(eventually(
      [&] {
        listed = app_listing(rekeyed, app);
        return !listed.at("events").at("last_error").is_null();
      },
      20s));
  CHECK(str(listed.at("events").at("last_error")).find("apps.secret_key") != std::string::npos);
  CHECK(rx.delivered().empty());
  // Rotating under the new key lets the held event go.
  auto again = rekeyed.ok("POST", "/v1/admin/apps/" + str(app.at("app")) + "/rotate");
  REQUIRE(eventually([&] { return rx.delivered().size() == 1; }, 20s));
  check_signed(rx.delivered()[0], str(again.at("secret")));
}
