// The governance run: retention, reclamation and purges.
#include "server/jobs/governance.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <filesystem>

#include "protocol/clock.hpp"
#include "storage/policy_store.hpp"
#include "storage/user_store.hpp"

namespace switchboard::server {

namespace {
constexpr const char* run_lock = "governance";
constexpr std::int64_t day_ms = 86400000;
}  // namespace

governance::governance(services& ctx, storage::query_deadline deadline)
    : ctx_(ctx),
      // The first run comes one interval after the start, so a restarting cluster does not pile up.
      worker_(ctx, deadline, "governance", std::chrono::seconds(ctx.cfg.governance.interval_s),
              std::chrono::seconds(ctx.cfg.governance.interval_s), [this](pqxx::connection& c) { run(c); }) {}

void governance::run(pqxx::connection& c) {
  if (!run_once(c)) return;
  ctx_.stats.governance_runs_total.fetch_add(1, std::memory_order_relaxed);
  ctx_.stats.governance_last_run_ms.store(protocol::now_ms(), std::memory_order_relaxed);
}

bool governance::run_once(pqxx::connection& c) {
  if (!storage::governance_store::try_lock_job(c, run_lock)) return false;
  struct unlock {
    pqxx::connection& c;
    ~unlock() {
      try {
        storage::governance_store::unlock_job(c, run_lock);
      } catch (...) {
        // The connection broke: the session, and its lock, are gone with it.
      }
    }
  } guard{c};
  retention(c);
  if (!stopping()) reclamation(c);
  if (!stopping()) purges(c);
  return true;
}

void governance::retention(pqxx::connection& c) {
  for (const auto& p : storage::governance_store::retention_policies(c)) {
    if (stopping()) return;
    retention_of(c, p);
  }
}

void governance::retention_of(pqxx::connection& c, const storage::retention_policy& p) {
  using storage::governance_store;
  const auto& g = ctx_.cfg.governance;
  auto cutoff = protocol::now_ms() - p.days * day_ms;
  std::int64_t messages = 0, reports = 0, events = 0, media = 0, convs = 0;
  for (std::int64_t after = 0;;) {
    auto page = governance_store::retention_candidates(c, p.org, after, cutoff, conversations_per_page);
    for (auto conv : page.due) {
      ++convs;
      for (bool more = true; more;) {
        if (!pause(std::chrono::milliseconds(g.chunk_pause_ms))) return;
        auto chunk = governance_store::delete_old_messages(c, p.org, conv, cutoff, g.retention_chunk);
        messages += chunk.messages;
        reports += chunk.reports;
        events += chunk.events;
        ctx_.stats.retention_messages_deleted_total.fetch_add(static_cast<std::uint64_t>(chunk.messages),
                                                              std::memory_order_relaxed);
        more = chunk.more;
      }
    }
    if (page.last_conv == 0) break;
    // Every conversation of the page, also those with no old message left (a reference from before
    // migration 0011 outlives its messages).
    media += governance_store::release_old_media(c, p.org, page.looked, cutoff);
    after = page.last_conv;
  }
  ctx_.stats.retention_media_released_total.fetch_add(static_cast<std::uint64_t>(media),
                                                      std::memory_order_relaxed);
  if (messages + media > 0) {
    ctx_.log->info(
        "governance: retention removed {} messages of {} conversations, {} media references in org {}",
        messages, convs, media, p.org);
    governance_store::audit_system(c, p.org, "retention.run",
                                   {{"retention_days", p.days},
                                    {"cutoff", cutoff},
                                    {"messages", messages},
                                    {"conversations", convs},
                                    {"reports", reports},
                                    {"app_events", events},
                                    {"media_references", media}});
  }
}

void governance::reclamation(pqxx::connection& c) {
  for (const auto& [org, days] : storage::policy_store::reclaim_policies(c)) {
    for (std::int64_t after = 0;;) {
      if (stopping()) return;
      // A single node keeps no live_users rows: its own registry says who is live.
      auto batch = storage::user_store::reclaim_inactive(
          c, org, days, after, reclaim_per_batch,
          [this](std::int64_t u) { return !ctx_.sessions.sessions_of(u).empty(); });
      after = batch.last;
      const auto& removed = batch.removed;
      for (const auto& ch : removed) {
        ctx_.tokens.erase_user(ch.after.id);
        for (auto& s : ctx_.sessions.sessions_of(ch.after.id)) s->account_changed(ch.after);
      }
      if (!removed.empty()) {
        ctx_.stats.users_reclaimed_total.fetch_add(removed.size(), std::memory_order_relaxed);
        ctx_.log->info("governance: reclaimed {} inactive members of org {}", removed.size(), org);
        ctx_.cluster.changes_committed();
      }
      if (batch.looked < reclaim_per_batch) break;
    }
  }
}

void governance::purges(pqxx::connection& c) {
  for (auto org : storage::governance_store::purges_due(c, false)) {
    if (stopping()) return;
    purge_organization(
        c, org, ctx_.cfg.governance.purge_chunk, ctx_.media, ctx_.cfg.media.dir, *ctx_.log,
        [this] { return !pause(std::chrono::milliseconds(ctx_.cfg.governance.chunk_pause_ms)); },
        [this](const storage::purge_step& s) {
          ctx_.stats.purge_rows_deleted_total.fetch_add(static_cast<std::uint64_t>(s.rows),
                                                        std::memory_order_relaxed);
          if (s.finished) ctx_.stats.orgs_purged_total.fetch_add(1, std::memory_order_relaxed);
        });
  }
}

bool purge_organization(pqxx::connection& c, std::int64_t org, int chunk, storage::media_backend& media,
                        const std::string& media_dir, spdlog::logger& log, const std::function<bool()>& stop,
                        std::function<void(const storage::purge_step&)> progress) {
  storage::purge_files files{[&media](const std::string& sha) { media.remove(sha); },
                             [&media_dir](const std::string& file) {
                               std::error_code ec;  // already gone (an earlier attempt): nothing to do
                               std::filesystem::remove(std::filesystem::path(media_dir) / file, ec);
                             }};
  log.info("purge of org {}: starting", org);
  std::string table;
  std::int64_t rows = 0;
  for (;;) {
    if (stop()) {
      log.info("purge of org {}: paused at {} (resumes at the next run)", org, table);
      return true;
    }
    auto step = storage::governance_store::purge_next(c, org, chunk, files);
    if (!step) return false;
    if (progress) progress(*step);
    if (step->table != table) {
      if (!table.empty()) log.info("purge of org {}: {} rows of {} deleted", org, rows, table);
      table = step->table;
      rows = 0;
    }
    rows += step->rows;
    if (step->finished) {
      log.info("purge of org {}: finished", org);
      return true;
    }
  }
}

}  // namespace switchboard::server
