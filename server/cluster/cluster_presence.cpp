// Presence over the cluster.
#include "server/cluster/cluster_presence.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <future>

#include "protocol/clock.hpp"

namespace switchboard::server::cluster {

namespace {
// How long shutdown waits for the node's rows to go (then the sweep of another node does it).
constexpr auto leave_timeout = std::chrono::seconds(3);
}  // namespace

cluster_presence::cluster_presence(boost::asio::io_context& ioc, services& ctx,
                                   std::chrono::milliseconds heartbeat, std::string node_id,
                                   std::string address, announce_fn announce)
    : ctx_(ctx), node_(std::move(node_id)), address_(std::move(address)), announce_(std::move(announce)) {
  job_ =
      std::make_shared<periodic_job>(ioc, heartbeat, [this](periodic_job::done_fn d) { tick(std::move(d)); });
}

void cluster_presence::start() {
  job_->start(std::chrono::milliseconds(0));
}

void cluster_presence::stop() {
  job_->stop();
}

void cluster_presence::changed(std::int64_t org, std::int64_t user, std::function<void()> written) {
  {
    std::lock_guard lk(mu_);
    dirty_[user] = org;
    if (written) waiting_.push_back(std::move(written));
    if (flushing_) return;  // the batch in flight starts the next one
    flushing_ = true;
  }
  flush();
}

// One batch at a time: what turns dirty meanwhile goes in the next (group commit).
void cluster_presence::flush() {
  std::unordered_map<std::int64_t, std::int64_t> batch;
  auto waiters = std::make_shared<std::vector<std::function<void()>>>();
  {
    std::lock_guard lk(mu_);
    batch.swap(dirty_);
    waiters->swap(waiting_);
    if (batch.empty()) {
      flushing_ = false;
      return;
    }
  }
  auto release = [waiters] {
    for (auto& w : *waiters) w();
  };
  ctx_.db.submit(
      [this, batch, release](pqxx::connection& c) {
        // The registry is the truth at the time of writing, whatever order the calls came in.
        std::vector<storage::local_presence> changes;
        auto now = protocol::now_ms();
        for (const auto& [user, org] : batch) changes.push_back({org, user, ctx_.sessions.online(user), now});
        auto out = storage::cluster_store::apply(c, node_, changes, ctx_.cfg.cluster.node_timeout_ms);
        for (const auto& ch : out) announce_(ch);
        release();
        flush();
      },
      [this, batch, release](const storage::db_failure& f) {
        ctx_.log->warn("cluster: presence not written ({}); retrying with the next heartbeat", f.detail);
        {
          std::lock_guard lk(mu_);
          for (const auto& [user, org] : batch) dirty_.try_emplace(user, org);
          flushing_ = false;
        }
        release();  // the hello waits no longer: the session serves, presence follows on the retry
      });
}

std::vector<storage::local_presence> cluster_presence::all_local(std::int64_t now_ms) const {
  std::vector<storage::local_presence> out;
  std::unordered_map<std::int64_t, std::int64_t> users;
  for (const auto& s : ctx_.sessions.all()) users[s->user_id()] = s->org_id();
  for (const auto& [user, org] : users) out.push_back({org, user, true, now_ms});
  return out;
}

void cluster_presence::tick(periodic_job::done_fn done) {
  ctx_.db.submit(
      [this, done](pqxx::connection& c) {
        auto timeout = ctx_.cfg.cluster.node_timeout_ms;
        if (!storage::cluster_store::heartbeat(c, node_)) {
          // First beat, or swept as dead while alive (a stall longer than the timeout): register, and
          // put this node's users back.
          storage::cluster_store::register_node(c, node_, address_);
          for (const auto& ch :
               storage::cluster_store::apply(c, node_, all_local(protocol::now_ms()), timeout))
            announce_(ch);
        }
        for (const auto& ch : storage::cluster_store::sweep(c, timeout)) announce_(ch);
        done({});
        bool again = false;
        {
          std::lock_guard lk(mu_);
          if (!dirty_.empty() && !flushing_) again = flushing_ = true;  // a batch that failed earlier
        }
        if (again) flush();
      },
      [this, done](const storage::db_failure& f) {
        ctx_.log->warn("cluster: heartbeat not written: {}", f.detail);
        done({});
      });
}

void cluster_presence::lookup(std::vector<std::int64_t> users, boost::asio::any_io_executor ex,
                              std::function<void(presence_map)> done) {
  auto local = [this](const std::vector<std::int64_t>& us) {
    presence_map out;  // the database is away: this node's own sessions are all it knows
    for (auto u : us) out[u] = presence_tracker::state{ctx_.sessions.online(u), std::nullopt};
    return out;
  };
  ctx_.db.submit(
      [this, users, ex, done, local](pqxx::connection& c) {
        auto found = storage::cluster_store::lookup(c, users, ctx_.cfg.cluster.node_timeout_ms);
        presence_map out = local(users);
        for (const auto& [u, st] : found) {
          if (st.online) out[u].online = true;
          if (!out[u].online) out[u].last_seen_ms = st.last_seen_ms;
        }
        boost::asio::post(ex, [done, out = std::move(out)]() mutable { done(std::move(out)); });
      },
      [ex, done, local, users](const storage::db_failure&) {
        boost::asio::post(ex, [done, out = local(users)]() mutable { done(std::move(out)); });
      });
}

void cluster_presence::leave() {
  auto p = std::make_shared<std::promise<void>>();
  auto fut = p->get_future();
  ctx_.db.submit(
      [this, p](pqxx::connection& c) {
        for (const auto& ch : storage::cluster_store::remove_node(c, node_, ctx_.cfg.cluster.node_timeout_ms))
          announce_(ch);
        p->set_value();
      },
      [p](const storage::db_failure&) { p->set_value(); });
  if (fut.wait_for(leave_timeout) != std::future_status::ready)
    ctx_.log->warn("cluster: leaving took over {} s; the other nodes' sweep will finish it",
                   std::chrono::duration_cast<std::chrono::seconds>(leave_timeout).count());
}

}  // namespace switchboard::server::cluster
