// In-order delivery of message events from several nodes.
#include "server/cluster/ordered_delivery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>

#include "protocol/clock.hpp"
#include "protocol/types.hpp"
#include "storage/conv_store.hpp"

namespace switchboard::server::cluster {

namespace {
// The most a fill reads (the sync page's maximum). A larger gap is not filled: the user's sessions
// here are told to resync instead (they catch up with `sync` themselves).
constexpr std::int64_t max_fill = 500;
// A first sight delivers the messages committed since the user's session here began: those the
// client's own `sync` after hello may have missed. A message's ts is taken before its commit (on its
// node's clock), so the read reaches back this much further: a commit that lagged its ts by more
// (a stalled database, where such sends mostly fail anyway) leaves a gap the client syncs when it
// sees it. Messages from just before the session may come both by sync and as events: the same
// seq twice, which clients merge (an event can always overlap a sync).
constexpr std::int64_t first_sight_margin_ms = 2000;
}  // namespace

void ordered_delivery::offer(std::int64_t org, std::int64_t user, std::int64_t conv, sequenced m) {
  auto& sh = shard_of(user);
  conv_sequencer::step st;
  {
    std::lock_guard lk(sh.mu);
    st = sh.seq.offer(user, conv, std::move(m));
    deliver_locked(user, st);
  }
  follow_up(org, user, conv, st);
}

void ordered_delivery::user_arrived(std::int64_t user) {
  auto& sh = shard_of(user);
  std::lock_guard lk(sh.mu);
  sh.started_ms[user] = protocol::now_ms();
}

void ordered_delivery::forget_user(std::int64_t user) {
  auto& sh = shard_of(user);
  std::lock_guard lk(sh.mu);
  sh.seq.forget_user(user);
  sh.started_ms.erase(user);
  for (auto it = sh.timers.lower_bound({user, INT64_MIN});
       it != sh.timers.end() && it->first.first == user;) {
    it->second->cancel();
    it = sh.timers.erase(it);
  }
}

void ordered_delivery::clear() {
  cleared_ms_.store(protocol::now_ms());
  for (auto& sh : shards_) {
    std::lock_guard lk(sh.mu);
    sh.seq.clear();
    for (auto& [k, t] : sh.timers) t->cancel();
    sh.timers.clear();
  }
}

void ordered_delivery::deliver_locked(std::int64_t user, conv_sequencer::step& st) {
  if (st.deliver.empty()) return;
  auto sessions = ctx_.sessions.sessions_of(user);
  for (auto& m : st.deliver)
    for (auto& s : sessions)
      if (s != m.except) s->deliver(m.frame);  // queues on the session's strand, in this order
}

void ordered_delivery::follow_up(std::int64_t org, std::int64_t user, std::int64_t conv,
                                 const conv_sequencer::step& st) {
  if (st.arm_timer) arm(org, user, conv);
  if (st.fill) fill(org, user, conv, st);
}

void ordered_delivery::arm(std::int64_t org, std::int64_t user, std::int64_t conv) {
  auto& sh = shard_of(user);
  auto t = std::make_shared<boost::asio::steady_timer>(ioc_, gap_wait_);
  {
    std::lock_guard lk(sh.mu);
    auto& slot = sh.timers[{user, conv}];
    if (slot) slot->cancel();
    slot = t;
  }
  t->async_wait([this, &sh, t, org, user, conv](boost::system::error_code ec) {
    if (ec) return;
    conv_sequencer::step st;
    {
      std::lock_guard lk(sh.mu);
      auto it = sh.timers.find({user, conv});
      if (it != sh.timers.end() && it->second == t) sh.timers.erase(it);
      st = sh.seq.expired(user, conv);
      deliver_locked(user, st);
    }
    follow_up(org, user, conv, st);
  });
}

void ordered_delivery::fill(std::int64_t org, std::int64_t user, std::int64_t conv,
                            const conv_sequencer::step& st) {
  auto before = st.fill->second;
  auto after = st.fill->first;
  std::int64_t since_ms = 0;  // a first sight: only what is younger than the session here
  if (st.first_sight) {
    after = std::max<std::int64_t>(0, before - 1 - max_fill);
    auto& sh = shard_of(user);
    std::lock_guard lk(sh.mu);
    auto it = sh.started_ms.find(user);
    auto start = it == sh.started_ms.end() ? protocol::now_ms() : it->second;
    since_ms = std::max(start, cleared_ms_.load()) - first_sight_margin_ms;
  } else if (before - after - 1 > max_fill) {
    return filled(org, user, conv, st.line, {}, true);
  }
  auto line = st.line;
  ctx_.db.submit(
      [this, org, user, conv, after, before, since_ms, line](pqxx::connection& c) {
        auto found = storage::conv_store::between(c, org, conv, user, after, before, since_ms);
        std::vector<sequenced> read;
        // Not a member any more (removed meanwhile): nothing of it is this user's to see.
        if (found)
          for (const auto& m : found.value())
            read.push_back({m.seq, event_frame("message", protocol::to_json(m)), nullptr});
        ctx_.stats.cluster_gap_fills_total.fetch_add(read.size(), std::memory_order_relaxed);
        filled(org, user, conv, line, std::move(read), false);
      },
      [this, org, user, conv, line](const storage::db_failure& f) {
        ctx_.log->warn("cluster: could not read before a message of conversation {} ({}): resync", conv,
                       f.detail);
        filled(org, user, conv, line, {}, true);
      });
}

void ordered_delivery::filled(std::int64_t org, std::int64_t user, std::int64_t conv, std::uint64_t line,
                              std::vector<sequenced> read, bool resync) {
  auto& sh = shard_of(user);
  conv_sequencer::step st;
  {
    std::lock_guard lk(sh.mu);
    st = sh.seq.filled(user, conv, line, std::move(read));
    deliver_locked(user, st);
    if (resync) {
      auto ev = event_frame("resync", {});
      for (auto& s : ctx_.sessions.sessions_of(user)) s->deliver(ev);
    }
  }
  follow_up(org, user, conv, st);
}

}  // namespace switchboard::server::cluster
