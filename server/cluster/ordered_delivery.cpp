// In-order delivery of message events from several nodes.
#include "server/cluster/ordered_delivery.hpp"

#include <spdlog/spdlog.h>

#include "protocol/types.hpp"
#include "storage/conv_store.hpp"

namespace switchboard::server::cluster {

namespace {
// The most a fill reads (the sync page's maximum). A larger gap is not filled: the user's sessions
// here are told to resync instead (they catch up with `sync` themselves).
constexpr std::int64_t max_fill = 500;
}  // namespace

void ordered_delivery::offer(std::int64_t org, std::int64_t user, std::int64_t conv, sequenced m) {
  conv_sequencer::step st;
  {
    std::lock_guard lk(mu_);
    st = seq_.offer(user, conv, std::move(m));
  }
  run(org, user, conv, std::move(st));
}

void ordered_delivery::forget_user(std::int64_t user) {
  std::lock_guard lk(mu_);
  seq_.forget_user(user);
  for (auto it = timers_.lower_bound({user, INT64_MIN}); it != timers_.end() && it->first.first == user;) {
    it->second->cancel();
    it = timers_.erase(it);
  }
}

void ordered_delivery::clear() {
  std::lock_guard lk(mu_);
  seq_.clear();
  for (auto& [k, t] : timers_) t->cancel();
  timers_.clear();
}

std::size_t ordered_delivery::keys() const {
  std::lock_guard lk(mu_);
  return seq_.keys();
}

void ordered_delivery::run(std::int64_t org, std::int64_t user, std::int64_t conv, conv_sequencer::step st) {
  deliver(user, st.deliver);
  if (st.arm_timer) arm(org, user, conv);
  if (st.fill) fill(org, user, conv, st.fill->first, st.fill->second);
}

void ordered_delivery::deliver(std::int64_t user, std::vector<sequenced>& items) {
  if (items.empty()) return;
  auto sessions = ctx_.sessions.sessions_of(user);
  for (auto& m : items)
    for (auto& s : sessions)
      if (s != m.except) s->deliver(m.frame);
}

void ordered_delivery::arm(std::int64_t org, std::int64_t user, std::int64_t conv) {
  auto t = std::make_shared<boost::asio::steady_timer>(ioc_, gap_wait_);
  {
    std::lock_guard lk(mu_);
    auto& slot = timers_[{user, conv}];
    if (slot) slot->cancel();
    slot = t;
  }
  t->async_wait([this, t, org, user, conv](boost::system::error_code ec) {
    if (ec) return;
    conv_sequencer::step st;
    {
      std::lock_guard lk(mu_);
      auto it = timers_.find({user, conv});
      if (it != timers_.end() && it->second == t) timers_.erase(it);
      st = seq_.expired(user, conv);
    }
    run(org, user, conv, std::move(st));
  });
}

void ordered_delivery::fill(std::int64_t org, std::int64_t user, std::int64_t conv, std::int64_t after,
                            std::int64_t before) {
  auto finish = [this, org, user, conv](std::vector<sequenced> read, bool resync) {
    conv_sequencer::step st;
    {
      std::lock_guard lk(mu_);
      st = seq_.filled(user, conv, std::move(read));
    }
    run(org, user, conv, std::move(st));
    if (resync) {
      auto ev = event_frame("resync", {});
      for (auto& s : ctx_.sessions.sessions_of(user)) s->deliver(ev);
    }
  };
  if (before - after - 1 > max_fill) return finish({}, true);
  ctx_.db.submit(
      [this, org, user, conv, after, before, finish](pqxx::connection& c) {
        auto page =
            storage::conv_store::sync(c, org, conv, user, after, static_cast<int>(before - after - 1));
        std::vector<sequenced> read;
        if (page) {
          for (const auto& m : page.value().messages)
            if (m.seq < before)
              read.push_back({m.seq, event_frame("message", protocol::to_json(m)), nullptr});
        }
        // Not a member any more (removed meanwhile): nothing of it is this user's to see.
        ctx_.stats.cluster_gap_fills_total.fetch_add(read.size(), std::memory_order_relaxed);
        finish(std::move(read), false);
      },
      [this, conv, finish](const storage::db_failure& f) {
        ctx_.log->warn("cluster: could not read a gap of conversation {} ({}): resync", conv, f.detail);
        finish({}, true);
      });
}

}  // namespace switchboard::server::cluster
