// The governance run (PROTOCOL.md "Retention and reclamation", DELETE /v1/admin/org; docs/admin.md):
// every governance.interval_s, one node at a time, it deletes messages past each organization's
// retention_days, removes members inactive past reclaim_inactive_days, and purges deleted
// organizations whose delay has passed. It runs on its own thread with its own connection (a run
// can take minutes, and must not hold a storage thread or an io thread): a session advisory lock on
// that connection makes it the only run in the cluster, and frees itself if the node dies.
#pragma once

#include <cstdint>
#include <functional>

#include "server/core/services.hpp"
#include "server/jobs/db_worker.hpp"
#include "storage/governance_store.hpp"

namespace switchboard::server {

class governance {
 public:
  // Conversations looked at per page of an organization's retention scan.
  static constexpr int conversations_per_page = 500;
  // Members reclaimed per transaction.
  static constexpr int reclaim_per_batch = 200;

  governance(services& ctx, storage::query_deadline deadline);
  void start() { worker_.start(); }
  // Thread-safe and quick: a run in progress stops after its current chunk.
  void stop() { worker_.stop(); }
  // Waits for the thread (after stop(); off the io threads).
  void join() { worker_.join(); }

 private:
  void run(pqxx::connection& c);
  bool run_once(pqxx::connection& c);  // false: another node holds the run
  void retention(pqxx::connection& c);
  void retention_of(pqxx::connection& c, const storage::retention_policy& p);
  void reclamation(pqxx::connection& c);
  void purges(pqxx::connection& c);
  bool pause(std::chrono::milliseconds d) { return worker_.pause(d); }
  bool stopping() const { return worker_.stopping(); }

  services& ctx_;
  db_worker worker_;
};

// An organization's purge, run to its end on `c` (the operator's `switchboard org purge`, and the
// governance run): chunked and resumable. Stops early when `stop()` turns true. False when `org` is
// not being deleted.
bool purge_organization(pqxx::connection& c, std::int64_t org, int chunk, storage::media_backend& media,
                        const std::string& media_dir, spdlog::logger& log, const std::function<bool()>& stop,
                        std::function<void(const storage::purge_step&)> progress = nullptr);

}  // namespace switchboard::server
