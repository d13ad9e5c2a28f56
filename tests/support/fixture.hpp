// Test harness: a migrated database, a running server, an organization and logged-in users.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "process.hpp"
#include "test_db.hpp"

namespace sbtest {

struct account {
  std::string id;
  std::string org;
  std::string mobile;
  std::string password;
  std::string token;
};

using env = std::map<std::string, std::string>;

class org_fixture {
 public:
  explicit org_fixture(std::map<std::string, std::string> extra_env = {});
  int port() const { return srv->port(); }
  // Creates an organization with its owner through `switchboard org create`, then logs in.
  account new_org(const std::string& name);
  // Creates a member (or admin) through POST /v1/admin/users as `admin`, then logs in.
  account add_user(const account& admin, const std::string& name, const std::string& role = "member");
  std::string login(const std::string& org, const std::string& mobile, const std::string& password);

  fresh_database db;
  std::unique_ptr<server> srv;
  account owner;  // of the first organization

 private:
  int next_mobile_ = 0;
  std::string next_mobile();
};

}  // namespace sbtest
