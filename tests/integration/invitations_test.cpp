// Verification codes through the file SMS sink (login with a code, expiry, single use, throttles,
// the try limit) and invitations accepted with one.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <mutex>
#include <thread>

#include "api_client.hpp"
#include "fixture.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "ws_client.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {

struct sms_fixture {
  std::string dir = make_temp_dir();
  std::string path = dir + "/sms.jsonl";
  org_fixture fx{{{"SWITCHBOARD_SMS_SINK", "file"}, {"SWITCHBOARD_SMS_PATH", dir + "/sms.jsonl"}}};

  std::vector<json::object> messages() const {
    std::vector<json::object> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
    return out;
  }
  // The newest code sent to `mobile`, or "" when none was.
  std::string last_code(const std::string& mobile) const {
    std::string code;
    for (const auto& m : messages())
      if (m.at("mobile") == json::value(mobile)) code = std::string(m.at("code").as_string());
    return code;
  }
  http_reply ask(const std::string& org, const std::string& mobile, const std::string& purpose = "login") {
    return http_call(fx.port(), "POST", "/v1/auth/code",
                     json::serialize(json::object{{"org", org}, {"mobile", mobile}, {"purpose", purpose}}));
  }
  http_reply login_with(const account& a, const std::string& code) {
    return http_call(fx.port(), "POST", "/v1/auth/login",
                     json::serialize(json::object{{"org", a.org}, {"mobile", a.mobile}, {"code", code}}));
  }
  // Lets the next request through the one-a-minute throttle.
  void age_codes(const std::string& mobile, int seconds) {
    fx.db.exec("UPDATE verification_codes SET created_at = created_at - interval '" +
               std::to_string(seconds) + " seconds' WHERE mobile = '" + mobile + "'");
  }
};

std::string error_code_of(const http_reply& r) {
  return std::string(json::parse(r.body).at("error").at("code").as_string());
}

}  // namespace

TEST_CASE("codes: a member logs in with a code from the SMS sink, once") {
  sms_fixture s;
  auto mia = s.fx.add_user(s.fx.owner, "Mia");
  REQUIRE(s.ask(mia.org, mia.mobile).status == 204);
  auto sent = s.messages();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].at("org") == json::value(mia.org));
  CHECK(sent[0].at("purpose") == "login");
  CHECK(sent[0].at("ts").as_int64() > 0);
  auto code = std::string(sent[0].at("code").as_string());
  REQUIRE(code.size() == 6);
  CHECK(code.find_first_not_of("0123456789") == std::string::npos);
  // Stored hashed: the row holds a salt and a SHA-256, never the digits.
  CHECK(s.fx.db.scalar("SELECT length(salt) || ',' || length(code_hash) FROM verification_codes") == "16,32");
  CHECK(s.fx.db.scalar("SELECT count(*) FROM verification_codes WHERE position(convert_to('" + code +
                       "', 'UTF8') IN code_hash) > 0 OR position(convert_to('" + code +
                       "', 'UTF8') IN salt) > 0") == "0");

  auto ok = s.login_with(mia, code);
  REQUIRE(ok.status == 200);
  auto token = std::string(json::parse(ok.body).at("token").as_string());
  CHECK(json::parse(ok.body).at("user").at("user") == json::value(mia.id));
  ws_client ws(s.fx.port());
  CHECK(ws.hello(token).at("ok") == true);
  // Single use.
  CHECK(s.login_with(mia, code).status == 401);

  SECTION("a number that is no member gets the same 204 and no SMS") {
    REQUIRE(s.ask(mia.org, "+8613711112222").status == 204);
    CHECK(s.messages().size() == 1);
  }
  SECTION("bad requests") {
    CHECK(error_code_of(s.ask(mia.org, "12345")) == "bad_request");
    CHECK(error_code_of(s.ask(mia.org, mia.mobile, "party")) == "bad_request");
    CHECK(s.login_with(mia, "").status == 400);
  }
}

TEST_CASE("codes: one a minute, ten an hour per mobile, with retry_after_ms") {
  sms_fixture s;
  auto mia = s.fx.add_user(s.fx.owner, "Mia");
  REQUIRE(s.ask(mia.org, mia.mobile).status == 204);
  auto again = s.ask(mia.org, mia.mobile);
  REQUIRE(again.status == 429);
  auto retry = json::parse(again.body).at("error").at("retry_after_ms").as_int64();
  CHECK(retry > 55000);
  CHECK(retry <= 60000);
  CHECK(s.messages().size() == 1);
  // An hour's ten: nine more, each a minute after the last.
  for (int i = 2; i <= 10; ++i) {
    s.age_codes(mia.mobile, 61);
    INFO("request " << i);
    REQUIRE(s.ask(mia.org, mia.mobile).status == 204);
  }
  s.age_codes(mia.mobile, 61);
  auto eleventh = s.ask(mia.org, mia.mobile);
  REQUIRE(eleventh.status == 429);
  // The oldest of the ten is 10 × 61 s old: the next one is allowed when it turns an hour old.
  auto wait = json::parse(eleventh.body).at("error").at("retry_after_ms").as_int64();
  CHECK(wait > (3600 - 610 - 5) * 1000);
  CHECK(wait <= (3600 - 610) * 1000);
  CHECK(s.messages().size() == 10);
  // Throttles are per number: another member is unaffected.
  auto ben = s.fx.add_user(s.fx.owner, "Ben");
  CHECK(s.ask(ben.org, ben.mobile).status == 204);
}

TEST_CASE("codes: five wrong tries kill the code, and codes expire") {
  sms_fixture s;
  auto mia = s.fx.add_user(s.fx.owner, "Mia");
  REQUIRE(s.ask(mia.org, mia.mobile).status == 204);
  auto code = s.last_code(mia.mobile);
  auto wrong = code == "000000" ? std::string("111111") : std::string("000000");
  for (int i = 0; i < 5; ++i) {
    auto r = s.login_with(mia, wrong);
    CHECK(r.status == 401);
  }
  // Even the right code is refused now.
  auto dead = s.login_with(mia, code);
  CHECK(dead.status == 401);
  CHECK(json::parse(dead.body).at("error").at("message").as_string().find("request a new one") !=
        std::string::npos);

  SECTION("a new code works again") {
    s.age_codes(mia.mobile, 61);
    REQUIRE(s.ask(mia.org, mia.mobile).status == 204);
    CHECK(s.login_with(mia, s.last_code(mia.mobile)).status == 200);
  }
  SECTION("an expired code is refused") {
    s.age_codes(mia.mobile, 61);
    REQUIRE(s.ask(mia.org, mia.mobile).status == 204);
    s.fx.db.exec("UPDATE verification_codes SET expires_at = now() - interval '1 second'");
    CHECK(s.login_with(mia, s.last_code(mia.mobile)).status == 401);
  }
}

TEST_CASE("invitations: invite, verify the number, accept once, log in") {
  sms_fixture s;
  api_client admin{s.fx.port(), s.fx.owner.token};
  auto sales = admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Sales"}}, 201);
  auto dept = std::string(sales.at("department").as_string());
  const std::string mobile = "+8613755554444";
  auto made = admin.ok(
      "POST", "/v1/admin/invitations",
      json::object{{"mobile", mobile}, {"name", "Nina"}, {"departments", json::array{dept.c_str()}}}, 201);
  auto inv = made.at("invitation").as_object();
  auto code = std::string(made.at("code").as_string());
  CHECK(inv.at("status") == "pending");
  CHECK(inv.at("mobile") == json::value(mobile));
  CHECK(inv.at("expires_at").as_int64() > inv.at("created_at").as_int64());
  CHECK(code.size() >= 22);
  auto org = std::string(inv.at("org").as_string());
  auto accept = [&](const std::string& invite_code, const std::string& number, const std::string& sms_code) {
    return http_call(s.fx.port(), "POST", "/v1/invitations/accept",
                     json::serialize(json::object{{"code", invite_code},
                                                  {"mobile", number},
                                                  {"sms_code", sms_code},
                                                  {"password", "nina-password"}}));
  };

  // A login code is not sent to someone who is only invited; an invitation code is.
  REQUIRE(s.ask(org, mobile, "login").status == 204);
  CHECK(s.last_code(mobile).empty());
  REQUIRE(s.ask(org, mobile, "invitation").status == 204);
  auto sms = s.last_code(mobile);
  REQUIRE_FALSE(sms.empty());

  CHECK(error_code_of(accept(code, "+8613755550000", sms)) == "not_found");  // another number
  CHECK(error_code_of(accept("not-a-code", mobile, sms)) == "not_found");
  CHECK(error_code_of(accept(code, mobile, sms == "000000" ? "111111" : "000000")) == "unauthorized");
  auto accepted = accept(code, mobile, sms);
  REQUIRE(accepted.status == 200);
  auto body = json::parse(accepted.body).as_object();
  CHECK(body.at("user").at("name") == "Nina");
  CHECK(body.at("user").at("mobile") == json::value(mobile));
  CHECK(body.at("user").at("departments") == json::array{dept.c_str()});
  CHECK(body.at("user").at("role") == "member");
  ws_client ws(s.fx.port());
  CHECK(ws.hello(std::string(body.at("token").as_string())).at("ok") == true);
  // Twice is 409.
  CHECK(accept(code, mobile, sms).status == 409);
  // The password set at acceptance works.
  auto login = http_call(
      s.fx.port(), "POST", "/v1/auth/login",
      json::serialize(json::object{{"org", org}, {"mobile", mobile}, {"password", "nina-password"}}));
  CHECK(login.status == 200);

  auto listed = admin.ok("GET", "/v1/admin/invitations");
  CHECK(listed.at("items").as_array()[0].at("status") == "accepted");
  CHECK(listed.at("items").as_array()[0].at("user") == body.at("user").at("user"));
  CHECK(admin.code("DELETE", "/v1/admin/invitations/" + std::string(inv.at("invitation").as_string())) ==
        "conflict");
  // Inviting a member's number again is a conflict.
  CHECK(admin.code("POST", "/v1/admin/invitations", json::object{{"mobile", mobile}, {"name", "Nina"}}) ==
        "conflict");
  auto actions = admin.ok("GET", "/v1/admin/audit?limit=2").at("items").as_array();
  CHECK(actions[0].at("action") == "invitation.accept");
  CHECK(actions[1].at("action") == "invitation.create");
}

TEST_CASE("invitations: revoked and expired ones cannot be accepted, members cannot invite") {
  sms_fixture s;
  api_client admin{s.fx.port(), s.fx.owner.token};
  auto invite = [&](const std::string& mobile) {
    return admin.ok("POST", "/v1/admin/invitations", json::object{{"mobile", mobile}, {"name", "X"}}, 201);
  };
  auto accept = [&](const json::object& made, const std::string& mobile) {
    return http_call(
        s.fx.port(), "POST", "/v1/invitations/accept",
        json::serialize(json::object{{"code", made.at("code")}, {"mobile", mobile}, {"sms_code", "123456"}}));
  };
  auto revoked = invite("+8613766660001");
  auto id = std::string(revoked.at("invitation").at("invitation").as_string());
  auto after = admin.ok("DELETE", "/v1/admin/invitations/" + id);
  CHECK(after.at("status") == "revoked");
  CHECK(admin.ok("GET", "/v1/admin/audit?limit=1").at("items").as_array()[0].at("action") ==
        "invitation.revoke");
  auto r1 = accept(revoked, "+8613766660001");
  CHECK(r1.status == 403);
  CHECK(json::parse(r1.body).at("error").at("message").as_string().find("revoked") != std::string::npos);
  // No invitation code goes to a revoked invitation's number.
  REQUIRE(s.ask(s.fx.owner.org, "+8613766660001", "invitation").status == 204);
  CHECK(s.last_code("+8613766660001").empty());

  auto expired = invite("+8613766660002");
  s.fx.db.exec(
      "UPDATE invitations SET expires_at = now() - interval '1 second' WHERE mobile = '+8613766660002'");
  auto r2 = accept(expired, "+8613766660002");
  CHECK(r2.status == 403);
  CHECK(json::parse(r2.body).at("error").at("message").as_string().find("expired") != std::string::npos);

  CHECK(admin.code("POST", "/v1/admin/invitations", json::object{{"mobile", "123"}, {"name", "X"}}) ==
        "bad_request");
  CHECK(admin.code("POST", "/v1/admin/invitations",
                   json::object{{"mobile", "+8613766660003"},
                                {"name", "X"},
                                {"departments", json::array{"999999"}}}) == "not_found");
  auto mia = s.fx.add_user(s.fx.owner, "Mia");
  api_client member{s.fx.port(), mia.token};
  CHECK(
      member.call("POST", "/v1/admin/invitations", json::object{{"mobile", "+8613766660004"}, {"name", "X"}})
          .status == 403);
  CHECK(member.call("GET", "/v1/admin/invitations").status == 403);
  CHECK(member.call("DELETE", "/v1/admin/invitations/" + id).status == 403);
  auto other = s.fx.new_org("Other");
  CHECK(api_client{s.fx.port(), other.token}.call("DELETE", "/v1/admin/invitations/" + id).status == 404);
}

namespace {
// A one-request HTTP receiver on 127.0.0.1 (a stand-in SMS gateway run by the test itself): it
// answers the first request with `status` and keeps its body.
class gateway {
 public:
  explicit gateway(int status) : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, status] {
      boost::asio::ip::tcp::socket s(ioc_);
      acceptor_.accept(s);
      boost::beast::flat_buffer buf;
      boost::beast::http::request<boost::beast::http::string_body> req;
      boost::beast::http::read(s, buf, req);
      {
        std::lock_guard lk(mu_);
        body_ = req.body();
        content_type_ = std::string(req[boost::beast::http::field::content_type]);
      }
      boost::beast::http::response<boost::beast::http::string_body> res{
          static_cast<boost::beast::http::status>(status), 11};
      res.body() = "{}";
      res.prepare_payload();
      boost::beast::http::write(s, res);
    });
  }
  ~gateway() { thread_.join(); }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::string body() {
    std::lock_guard lk(mu_);
    return body_;
  }
  std::string content_type() {
    std::lock_guard lk(mu_);
    return content_type_;
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::string body_, content_type_;
};
}  // namespace

TEST_CASE("codes: the http sink POSTs the JSON object to the gateway, and a failing gateway is 503") {
  gateway ok_gateway(200), bad_gateway(500);
  org_fixture ok_fx{
      {{"SWITCHBOARD_SMS_SINK", "http"},
       {"SWITCHBOARD_SMS_URL", "http://127.0.0.1:" + std::to_string(ok_gateway.port()) + "/sms"}}};
  auto mia = ok_fx.add_user(ok_fx.owner, "Mia");
  auto r = http_call(ok_fx.port(), "POST", "/v1/auth/code",
                     json::serialize(json::object{{"org", mia.org}, {"mobile", mia.mobile}}));
  CHECK(r.status == 204);
  auto sent = json::parse(ok_gateway.body()).as_object();
  CHECK(ok_gateway.content_type() == "application/json");
  CHECK(sent.at("mobile") == json::value(mia.mobile));
  CHECK(sent.at("org") == json::value(mia.org));
  CHECK(sent.at("purpose") == "login");
  CHECK(sent.at("code").as_string().size() == 6);
  auto login = http_call(
      ok_fx.port(), "POST", "/v1/auth/login",
      json::serialize(json::object{{"org", mia.org}, {"mobile", mia.mobile}, {"code", sent.at("code")}}));
  CHECK(login.status == 200);

  org_fixture bad_fx{
      {{"SWITCHBOARD_SMS_SINK", "http"},
       {"SWITCHBOARD_SMS_URL", "http://127.0.0.1:" + std::to_string(bad_gateway.port()) + "/sms"}}};
  auto ben = bad_fx.add_user(bad_fx.owner, "Ben");
  auto failed = http_call(bad_fx.port(), "POST", "/v1/auth/code",
                          json::serialize(json::object{{"org", ben.org}, {"mobile", ben.mobile}}));
  CHECK(failed.status == 503);
  CHECK(json::parse(bad_gateway.body()).at("mobile") == json::value(ben.mobile));
}

TEST_CASE("codes: a file sink that cannot be written answers 503, and the code does not log anyone in") {
  org_fixture fx{{{"SWITCHBOARD_SMS_SINK", "file"}, {"SWITCHBOARD_SMS_PATH", "/nonexistent-dir/sms.jsonl"}}};
  auto mia = fx.add_user(fx.owner, "Mia");
  auto r = http_call(fx.port(), "POST", "/v1/auth/code",
                     json::serialize(json::object{{"org", mia.org}, {"mobile", mia.mobile}}));
  CHECK(r.status == 503);
  CHECK(error_code_of(r) == "unavailable");
  // The stored code was never sent: guessing is all anyone can do, and it is counted.
  CHECK(fx.db.scalar("SELECT count(*) FROM verification_codes") == "1");
  auto login =
      http_call(fx.port(), "POST", "/v1/auth/login",
                json::serialize(json::object{{"org", mia.org}, {"mobile", mia.mobile}, {"code", "000000"}}));
  CHECK(login.status == 401);
}
