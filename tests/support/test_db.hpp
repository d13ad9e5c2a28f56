// Test harness: a fresh PostgreSQL database per test, on the cluster named by SB_TEST_DATABASE_URL.
#pragma once

#include <string>

namespace sbtest {

// The admin URL of the test cluster (SB_TEST_DATABASE_URL); throws if unset.
std::string cluster_url();

class fresh_database {
 public:
  fresh_database();
  ~fresh_database();  // drops the database (FORCE: ends connections a test left open)
  fresh_database(const fresh_database&) = delete;
  fresh_database& operator=(const fresh_database&) = delete;
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Runs SQL and returns the first column of the first row as text ("" when no row, "NULL" for null).
  std::string scalar(const std::string& sql) const;
  void exec(const std::string& sql) const;

 private:
  std::string name_;
  std::string url_;
};

// Stops / starts the test cluster through the scripts named by SB_TEST_PG_STOP / SB_TEST_PG_START.
void stop_cluster();
void start_cluster();

// Stops the cluster now and starts it again when destroyed unless start() ran: the shared
// cluster comes back even when a check in between throws.
class cluster_outage {
 public:
  cluster_outage() { stop_cluster(); }
  ~cluster_outage() {
    if (stopped_) try {
        start_cluster();
      } catch (...) {
      }
  }
  void end() {
    start_cluster();
    stopped_ = false;
  }

 private:
  bool stopped_ = true;
};

}  // namespace sbtest
