// Prometheus text rendering of the process metrics.
#include "server/ops/metrics.hpp"

#include "storage/db_pool.hpp"
#include "storage/message_writer.hpp"

namespace switchboard::server {

namespace {
void line(std::string& out, std::string_view name, std::string_view labels, std::uint64_t v) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(v)).append("\n");
}
void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}
// An unlabelled counter: its header and its one line.
void counter(std::string& out, std::string_view name, std::string_view help,
             const std::atomic<std::uint64_t>& v) {
  header(out, name, "counter", help);
  line(out, name, "", v.load(std::memory_order_relaxed));
}
}  // namespace

void histogram::observe(std::chrono::microseconds d) {
  auto us = d.count() < 0 ? 0 : d.count();
  std::size_t i = 0;
  while (i < bounds_us.size() && us > bounds_us[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<std::uint64_t>(us), std::memory_order_relaxed);
}

void histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  std::uint64_t cumulative = 0;
  std::string prefix = labels.empty() ? "" : std::string(labels) + ",";
  for (std::size_t i = 0; i <= bounds_us.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < bounds_us.size() ? std::to_string(static_cast<double>(bounds_us[i]) / 1e6) : "+Inf";
    if (i < bounds_us.size()) {  // trim trailing zeros of "0.000100"
      while (le.back() == '0') le.pop_back();
      if (le.back() == '.') le.pop_back();
    }
    line(out, std::string(name) + "_bucket", prefix + "le=\"" + le + "\"", cumulative);
  }
  out.append(name).append("_sum");
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6));
  out.append("\n");
  line(out, std::string(name) + "_count", labels, count_.load(std::memory_order_relaxed));
}

void op_metrics::record(std::optional<protocol::error_code> code, std::chrono::microseconds took) {
  std::size_t i = code ? static_cast<std::size_t>(*code) + 1 : 0;
  by_code[i].fetch_add(1, std::memory_order_relaxed);
  latency.observe(took);
}

metrics::metrics(const std::vector<std::string>& op_names) {
  for (const auto& n : op_names) {
    auto m = std::make_unique<op_metrics>();
    m->name = n;
    ops_.emplace(n, std::move(m));
  }
  if (!ops_.count("other")) {
    auto m = std::make_unique<op_metrics>();
    m->name = "other";
    ops_.emplace("other", std::move(m));
  }
}

op_metrics& metrics::op(std::string_view name) {
  auto it = ops_.find(name);
  if (it == ops_.end()) it = ops_.find(std::string_view("other"));
  return *it->second;
}

const char* limit_name(limit l) {
  switch (l) {
    case limit::connections_total:
      return "connections_total";
    case limit::connections_per_ip:
      return "connections_per_ip";
    case limit::http_timeout:
      return "http_timeout";
    case limit::http_header_size:
      return "http_header_size";
    case limit::http_body_size:
      return "http_body_size";
    case limit::origin:
      return "origin";
    case limit::hello_timeout:
      return "hello_timeout";
    case limit::ws_frame_size:
      return "ws_frame_size";
    case limit::request_rate:
      return "request_rate";
    case limit::flood:
      return "flood";
    case limit::send_rate:
      return "send_rate";
    case limit::login_attempts:
      return "login_attempts";
    case limit::failed_logins:
      return "failed_logins";
    case limit::slow_consumer:
      return "slow_consumer";
    case limit::app_requests:
      return "app_requests";
    case limit::reports:
      return "reports";
    case limit::count:
      break;
  }
  return "unknown";
}

std::string metrics::render(const storage::pool_stats& pool, const storage::writer_stats& writers,
                            bool db_ready, int schema_version) const {
  std::string out;
  out.reserve(16384);
  header(out, "switchboard_connections", "gauge", "Open client connections by kind.");
  line(out, "switchboard_connections", "kind=\"http\"",
       static_cast<std::uint64_t>(
           std::max<std::int64_t>(0, http_connections.load(std::memory_order_relaxed))));
  line(out, "switchboard_connections", "kind=\"websocket\"",
       static_cast<std::uint64_t>(std::max<std::int64_t>(0, ws_connections.load(std::memory_order_relaxed))));
  counter(out, "switchboard_connections_accepted_total", "TCP connections accepted.",
          connections_accepted_total);
  counter(out, "switchboard_connections_rejected_total",
          "TCP connections refused over server.max_connections.", connections_rejected_total);
  counter(out, "switchboard_callbacks_delivered_total",
          "Event callbacks to integration apps answered with 2xx.", callbacks_delivered_total);
  counter(out, "switchboard_callbacks_failed_total",
          "Event callback attempts that failed (non-2xx, timeout, refused address); each is retried.",
          callbacks_failed_total);
  counter(out, "switchboard_callbacks_dropped_total",
          "Events given up on, undelivered after callbacks.max_age_s.", callbacks_dropped_total);
  header(out, "switchboard_bus_connected", "gauge",
         "The cluster bus: 1 connected, 0 disconnected, -1 none configured (a single node).");
  out += "switchboard_bus_connected " + std::to_string(bus_state.load(std::memory_order_relaxed)) + "\n";
  counter(out, "switchboard_bus_published_total", "Events published on the cluster bus.",
          bus_published_total);
  counter(out, "switchboard_bus_publish_failed_total",
          "Events the cluster bus would not take (disconnected with its buffer full).",
          bus_publish_failed_total);
  counter(out, "switchboard_bus_received_total", "Events received from the cluster bus.", bus_received_total);
  counter(out, "switchboard_bus_dropped_total",
          "Events the bus client dropped because this node read too slowly (slow consumer).",
          bus_dropped_total);
  counter(out, "switchboard_bus_malformed_total", "Bus events that could not be read.", bus_malformed_total);
  counter(out, "switchboard_bus_resyncs_total",
          "Times this node told its sessions to resync after it may have missed events.", bus_resyncs_total);
  counter(out, "switchboard_cluster_gap_fills_total",
          "Messages read from PostgreSQL because they had not arrived over the bus in time.",
          cluster_gap_fills_total);
  header(out, "switchboard_calls", "gauge", "Calls not ended, over the whole service, by state.");
  line(out, "switchboard_calls", "state=\"ringing\"",
       static_cast<std::uint64_t>(std::max<std::int64_t>(0, calls_ringing.load(std::memory_order_relaxed))));
  line(out, "switchboard_calls", "state=\"active\"",
       static_cast<std::uint64_t>(std::max<std::int64_t>(0, calls_active.load(std::memory_order_relaxed))));
  counter(out, "switchboard_call_setups_total", "Calls that turned active on this node.", call_setups_total);
  header(out, "switchboard_call_ends_total", "counter", "Calls this node ended, by end reason.");
  for (std::size_t i = 0; i < call_end_reasons.size(); ++i)
    line(out, "switchboard_call_ends_total", "reason=\"" + std::string(call_end_reasons[i]) + "\"",
         call_ends_total[i].load(std::memory_order_relaxed));
  counter(out, "switchboard_call_minutes_billed_total", "Call minutes billed by calls this node ended.",
          call_minutes_billed_total);
  counter(out, "switchboard_governance_runs_total",
          "Retention, reclamation and purge runs this node made (one node runs at a time).",
          governance_runs_total);
  header(out, "switchboard_governance_last_run_ms", "gauge",
         "When this node last finished a governance run (ms).");
  line(out, "switchboard_governance_last_run_ms", "",
       static_cast<std::uint64_t>(
           std::max<std::int64_t>(0, governance_last_run_ms.load(std::memory_order_relaxed))));
  counter(out, "switchboard_retention_messages_deleted_total", "Messages retention deleted.",
          retention_messages_deleted_total);
  counter(out, "switchboard_retention_media_released_total",
          "Media references retention dropped (the media collector frees what nobody references).",
          retention_media_released_total);
  counter(out, "switchboard_users_reclaimed_total", "Inactive members reclamation removed.",
          users_reclaimed_total);
  counter(out, "switchboard_purge_rows_deleted_total", "Rows of deleted organizations purged.",
          purge_rows_deleted_total);
  counter(out, "switchboard_orgs_purged_total", "Deleted organizations whose purge finished.",
          orgs_purged_total);
  counter(out, "switchboard_exports_ready_total", "Exports this node finished.", exports_ready_total);
  counter(out, "switchboard_exports_failed_total", "Exports this node could not finish.",
          exports_failed_total);
  header(out, "switchboard_limit_hits_total", "counter",
         "Requests or connections refused by each abuse limit (docs/security.md).");
  for (std::size_t i = 0; i < limit_hits.size(); ++i)
    line(out, "switchboard_limit_hits_total",
         std::string("limit=\"") + limit_name(static_cast<limit>(i)) + "\"",
         limit_hits[i].load(std::memory_order_relaxed));

  header(out, "switchboard_requests_total", "counter", "Requests by operation and result code.");
  for (const auto& [name, m] : ops_) {
    for (std::size_t i = 0; i < m->by_code.size(); ++i) {
      auto v = m->by_code[i].load(std::memory_order_relaxed);
      if (v == 0) continue;
      std::string code =
          i == 0 ? "ok" : std::string(protocol::to_string(static_cast<protocol::error_code>(i - 1)));
      line(out, "switchboard_requests_total", "op=\"" + name + "\",code=\"" + code + "\"", v);
    }
  }
  header(out, "switchboard_request_duration_seconds", "histogram", "Request latency by operation.");
  for (const auto& [name, m] : ops_)
    m->latency.render(out, "switchboard_request_duration_seconds", "op=\"" + name + "\"");

  header(out, "switchboard_db_pool_connections", "gauge", "Storage threads and their state.");
  line(out, "switchboard_db_pool_connections", "state=\"configured\"", static_cast<std::uint64_t>(pool.size));
  line(out, "switchboard_db_pool_connections", "state=\"connected\"",
       static_cast<std::uint64_t>(pool.connected));
  line(out, "switchboard_db_pool_connections", "state=\"busy\"", static_cast<std::uint64_t>(pool.busy));
  header(out, "switchboard_db_pool_queue_depth", "gauge", "Storage jobs waiting for a thread.");
  line(out, "switchboard_db_pool_queue_depth", "", pool.queued);
  header(out, "switchboard_db_jobs_total", "counter",
         "Storage jobs finished, and those failed as unavailable.");
  line(out, "switchboard_db_jobs_total", "result=\"completed\"", pool.completed_total);
  line(out, "switchboard_db_jobs_total", "result=\"unavailable\"", pool.failed_unavailable_total);
  header(out, "switchboard_db_reconnects_total", "counter", "Storage connections reopened after a failure.");
  line(out, "switchboard_db_reconnects_total", "", pool.reconnects_total);
  header(out, "switchboard_db_query_timeouts_total", "counter",
         "Database round trips unanswered within database.query_timeout_ms: their connections were cut.");
  line(out, "switchboard_db_query_timeouts_total", "", pool.query_timeouts_total);
  header(out, "switchboard_ws_writes_total", "counter",
         "WebSocket writes of queued frames (each gathers every frame queued at the time).");
  line(out, "switchboard_ws_writes_total", "", ws_writes_total.load(std::memory_order_relaxed));
  header(out, "switchboard_ws_frames_written_total", "counter", "WebSocket frames those writes carried.");
  line(out, "switchboard_ws_frames_written_total", "",
       ws_frames_written_total.load(std::memory_order_relaxed));
  header(out, "switchboard_writer_batches_total", "counter", "Group-commit batches written.");
  line(out, "switchboard_writer_batches_total", "", writers.batches);
  header(out, "switchboard_writer_messages_total", "counter", "Messages written by group commit.");
  line(out, "switchboard_writer_messages_total", "", writers.messages);
  header(out, "switchboard_writer_queue_depth", "gauge", "Sends and ordered jobs waiting for a writer.");
  line(out, "switchboard_writer_queue_depth", "", writers.queued);
  header(out, "switchboard_db_ready", "gauge", "1 when PostgreSQL answers and the schema is current.");
  line(out, "switchboard_db_ready", "", db_ready ? 1 : 0);
  header(out, "switchboard_schema_version", "gauge",
         "Newest migration applied to the database (-1: unknown).");
  out.append("switchboard_schema_version ").append(std::to_string(schema_version)).append("\n");
  return out;
}

}  // namespace switchboard::server
