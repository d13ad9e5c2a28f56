// Process metrics in Prometheus text format. Counters are relaxed atomics: no lock on the hot path.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errors.hpp"

namespace switchboard::storage {
struct pool_stats;
struct writer_stats;
}  // namespace switchboard::storage

namespace switchboard::server {

class histogram {
 public:
  // Upper bounds in microseconds, from 100 us to 10 s: ack latencies of interest sit in between.
  static constexpr std::array<std::int64_t, 16> bounds_us{100,     250,     500,     1000,    2500,   5000,
                                                          10000,   25000,   50000,   100000,  250000, 500000,
                                                          1000000, 2500000, 5000000, 10000000};
  void observe(std::chrono::microseconds d);
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, bounds_us.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_us_{0};
};

// One operation (a WebSocket op or an HTTP route): its results by code and its latency.
struct op_metrics {
  std::string name;
  std::array<std::atomic<std::uint64_t>, protocol::error_code_count + 1> by_code{};  // [0] = ok
  histogram latency;
  void record(std::optional<protocol::error_code> code, std::chrono::microseconds took);
};

// Every configurable abuse limit, counted each time it refuses something (docs/security.md).
enum class limit : std::size_t {
  connections_total,   // server.max_connections
  connections_per_ip,  // server.max_connections_per_ip
  http_timeout,        // a request's headers not read in time (slowloris)
  http_header_size,    // request headers over 16 KiB
  http_body_size,      // limits.max_body_bytes
  origin,              // server.allowed_origins
  hello_timeout,       // server.hello_timeout_ms
  ws_frame_size,       // limits.max_frame_bytes
  request_rate,        // limits.requests_per_second / request_burst
  flood,               // closed 4429 for flooding after rate_limited replies
  send_rate,           // limits.sends_per_second / send_burst, per user
  login_attempts,      // limits.logins_per_minute, per client IP
  failed_logins,       // limits.failed_logins_per_minute, per mobile number
  slow_consumer,       // limits.outbound_queue_bytes (closed 4429)
  app_requests,        // apps.requests_per_minute / requests_per_day, per app
  reports,             // governance.reports_per_hour, per member
  count
};
const char* limit_name(limit l);

class metrics {
 public:
  // The set of operation names is fixed at start, so lookups never take a lock.
  explicit metrics(const std::vector<std::string>& op_names);

  op_metrics& op(std::string_view name);  // an unknown name counts as "other"

  std::atomic<std::int64_t> http_connections{0};
  std::atomic<std::int64_t> ws_connections{0};
  std::atomic<std::uint64_t> connections_accepted_total{0};
  std::atomic<std::uint64_t> connections_rejected_total{0};
  // WebSocket writes and the frames they carried (a write gathers every frame queued).
  std::atomic<std::uint64_t> ws_writes_total{0};
  std::atomic<std::uint64_t> ws_frames_written_total{0};
  void ws_batch(std::size_t frames) {
    ws_writes_total.fetch_add(1, std::memory_order_relaxed);
    ws_frames_written_total.fetch_add(frames, std::memory_order_relaxed);
  }
  // Integration apps' event callbacks: attempts answered 2xx, attempts that failed, and events
  // given up on after callbacks.max_age_s.
  std::atomic<std::uint64_t> callbacks_delivered_total{0};
  std::atomic<std::uint64_t> callbacks_failed_total{0};
  std::atomic<std::uint64_t> callbacks_dropped_total{0};
  // The cluster bus (cluster.nats_url; all zero on a single node). bus_state: -1 no bus configured,
  // 0 disconnected, 1 connected.
  std::atomic<int> bus_state{-1};
  std::atomic<std::uint64_t> bus_published_total{0};
  std::atomic<std::uint64_t> bus_publish_failed_total{0};  // not handed to the bus (buffer full)
  std::atomic<std::uint64_t> bus_received_total{0};
  std::atomic<std::uint64_t> bus_dropped_total{0};        // dropped by the bus as a slow consumer
  std::atomic<std::uint64_t> bus_malformed_total{0};      // received but not understood
  std::atomic<std::uint64_t> bus_resyncs_total{0};        // times this node sent `resync` to its sessions
  std::atomic<std::uint64_t> cluster_gap_fills_total{0};  // messages read from PostgreSQL to fill a gap
  // Calls (docs/calls.md). Ringing and active count the whole service (the call sweep reads them
  // from PostgreSQL); the counters count what this node did.
  std::atomic<std::int64_t> calls_ringing{0};
  std::atomic<std::int64_t> calls_active{0};
  std::atomic<std::uint64_t> call_setups_total{0};
  std::atomic<std::uint64_t> call_minutes_billed_total{0};
  static constexpr std::array<std::string_view, 6> call_end_reasons{"hangup", "cancelled", "declined",
                                                                    "missed", "dropped",   "quota_exhausted"};
  std::array<std::atomic<std::uint64_t>, call_end_reasons.size()> call_ends_total{};
  void call_ended(std::string_view reason) {
    for (std::size_t i = 0; i < call_end_reasons.size(); ++i)
      if (call_end_reasons[i] == reason) call_ends_total[i].fetch_add(1, std::memory_order_relaxed);
  }
  // Data governance (docs/admin.md): what this node's runs removed and wrote.
  std::atomic<std::uint64_t> governance_runs_total{0};
  std::atomic<std::int64_t> governance_last_run_ms{0};  // when this node last finished a run
  std::atomic<std::uint64_t> retention_messages_deleted_total{0};
  std::atomic<std::uint64_t> retention_media_released_total{0};
  std::atomic<std::uint64_t> users_reclaimed_total{0};
  std::atomic<std::uint64_t> purge_rows_deleted_total{0};
  std::atomic<std::uint64_t> orgs_purged_total{0};
  std::atomic<std::uint64_t> exports_ready_total{0};
  std::atomic<std::uint64_t> exports_failed_total{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(limit::count)> limit_hits{};
  void hit(limit l) { limit_hits[static_cast<std::size_t>(l)].fetch_add(1, std::memory_order_relaxed); }

  std::string render(const storage::pool_stats& pool, const storage::writer_stats& writers, bool db_ready,
                     int schema_version) const;

 private:
  std::map<std::string, std::unique_ptr<op_metrics>, std::less<>> ops_;
};

}  // namespace switchboard::server
