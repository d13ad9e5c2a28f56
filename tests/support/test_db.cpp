// Test harness: fresh databases.
#include "test_db.hpp"

#include <openssl/rand.h>

#include <cstdlib>
#include <pqxx/pqxx>
#include <stdexcept>

namespace sbtest {

std::string cluster_url() {
  const char* u = std::getenv("SB_TEST_DATABASE_URL");
  if (!u || !*u) throw std::runtime_error("SB_TEST_DATABASE_URL is not set: run tests through tools/test.sh");
  return u;
}

namespace {
std::string with_db(const std::string& url, const std::string& db) {
  auto slash = url.rfind('/');
  auto q = url.find('?', slash);
  return url.substr(0, slash + 1) + db + (q == std::string::npos ? "" : url.substr(q));
}

void run_script(const char* var) {
  const char* s = std::getenv(var);
  if (!s || !*s) throw std::runtime_error(std::string(var) + " is not set: run tests through tools/test.sh");
  if (std::system(s) != 0) throw std::runtime_error(std::string(var) + " failed");
}
}  // namespace

fresh_database::fresh_database() {
  unsigned char r[6];
  RAND_bytes(r, sizeof r);
  name_ = "sbtest_";
  for (auto b : r) name_ += "0123456789abcdef"[b >> 4], name_ += "0123456789abcdef"[b & 15];
  pqxx::connection c(cluster_url());
  pqxx::nontransaction n(c);
  n.exec("CREATE DATABASE " + name_);
  url_ = with_db(cluster_url(), name_);
}

fresh_database::~fresh_database() {
  try {
    pqxx::connection c(cluster_url());
    pqxx::nontransaction n(c);
    n.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
  }
}

std::string fresh_database::scalar(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction n(c);
  auto r = n.exec(sql);
  if (r.empty()) return "";
  return r[0][0].is_null() ? "NULL" : r[0][0].c_str();
}

void fresh_database::exec(const std::string& sql) const {
  pqxx::connection c(url_);
  pqxx::nontransaction n(c);
  n.exec(sql);
}

void stop_cluster() {
  run_script("SB_TEST_PG_STOP");
}
void start_cluster() {
  run_script("SB_TEST_PG_START");
}

}  // namespace sbtest
