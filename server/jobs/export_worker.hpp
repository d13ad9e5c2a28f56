// Writes exports (PROTOCOL.md POST /v1/admin/exports, POST /v1/me/export; docs/admin.md "Exports")
// in the background: a gzip-compressed tar (libarchive) of JSON Lines files and the media bytes,
// streamed to a file under media.dir/exports, page by page, never whole in memory. Any node takes
// the next export under a lease it renews as it goes; if it dies, another node starts the export
// over once the lease passes. Runs on its own thread with its own connection: an export of a large
// organization takes minutes of database reads, file writes and compression.
#pragma once

#include <chrono>

#include "server/core/services.hpp"
#include "server/jobs/db_worker.hpp"
#include "storage/export_store.hpp"

namespace switchboard::server {

class export_worker {
 public:
  // How long a claimed export stays this node's without a sign of progress.
  static constexpr int lease_s = 60;
  // How often the worker looks for work when nobody asked it to (another node's exports).
  static constexpr auto poll = std::chrono::seconds(1);
  // Messages read per query.
  static constexpr int messages_per_page = 5000;

  export_worker(services& ctx, storage::query_deadline deadline);
  void start() { worker_.start(); }
  // Thread-safe and quick; join() waits for the thread (off the io threads).
  void stop() { worker_.stop(); }
  void join() { worker_.join(); }
  // Thread-safe: an export was requested here; start it now.
  void wake() { worker_.wake(); }

 private:
  void tick(pqxx::connection& c);
  void expire(pqxx::connection& c);
  void write(pqxx::connection& c, const storage::export_row& e);
  bool stopping() const { return worker_.stopping(); }

  services& ctx_;
  std::chrono::steady_clock::time_point next_expiry_{};
  db_worker worker_;
};

}  // namespace switchboard::server
