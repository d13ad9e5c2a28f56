// Test harness: organizations and users through the real binary and the real API.
#include "fixture.hpp"

#include <openssl/rand.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "http_client.hpp"

namespace sbtest {

namespace json = boost::json;

org_fixture::org_fixture(std::map<std::string, std::string> extra_env) {
  srv = std::make_unique<server>(db.url(), std::move(extra_env));
  owner = new_org("Acme");
}

std::string org_fixture::next_mobile() {
  // Distinct across fixtures too, so nothing depends on one org's numbering.
  unsigned char r[4];
  RAND_bytes(r, sizeof r);
  unsigned v = (unsigned(r[0]) << 16 | unsigned(r[1]) << 8 | r[2]) % 1000000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "+86139%02d%06u", ++next_mobile_ % 100, v);
  return buf;
}

account org_fixture::new_org(const std::string& name) {
  account a;
  a.mobile = next_mobile();
  a.password = "owner-password";
  auto r = run_binary({"org", "create", "--name", name, "--admin-name", name + " Owner", "--admin-mobile",
                       a.mobile, "--admin-password", a.password},
                      {{"SWITCHBOARD_DATABASE_URL", db.url()}, {"SWITCHBOARD_AUTH_SCRYPT_LOG2_N", "10"}});
  if (r.exit_code != 0) throw std::runtime_error("org create failed: " + r.err);
  auto out = json::parse(r.out).as_object();
  a.org = std::string(out.at("org").as_string());
  a.id = std::string(out.at("user").as_string());
  a.token = login(a.org, a.mobile, a.password);
  return a;
}

std::string org_fixture::login(const std::string& org, const std::string& mobile,
                               const std::string& password) {
  auto r = http_call(port(), "POST", "/v1/auth/login",
                     json::serialize(json::object{{"org", org}, {"mobile", mobile}, {"password", password}}));
  if (r.status != 200) throw std::runtime_error("login failed: " + std::to_string(r.status) + " " + r.body);
  return std::string(json::parse(r.body).at("token").as_string());
}

account org_fixture::add_user(const account& admin, const std::string& name, const std::string& role) {
  account a;
  a.mobile = next_mobile();
  a.password = "member-password";
  a.org = admin.org;
  auto r = http_call(port(), "POST", "/v1/admin/users",
                     json::serialize(json::object{
                         {"name", name}, {"mobile", a.mobile}, {"password", a.password}, {"role", role}}),
                     {{"Authorization", "Bearer " + admin.token}});
  if (r.status != 201)
    throw std::runtime_error("create user failed: " + std::to_string(r.status) + " " + r.body);
  a.id = std::string(json::parse(r.body).at("user").as_string());
  a.token = login(a.org, a.mobile, a.password);
  return a;
}

}  // namespace sbtest
