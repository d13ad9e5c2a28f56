// This node as one of a cluster.
#include "server/cluster/cluster_node.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>

#include "server/ops/correlation.hpp"
#include "server/ops/metrics.hpp"

namespace switchboard::server::cluster {

namespace {
// Slow-consumer drops come in bursts: the sessions are told to resync at most this often for them.
constexpr auto min_drop_resync_gap = std::chrono::seconds(1);

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

bool parse_id(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

frame_ptr copy_frame(std::string_view body) {
  return std::make_shared<const std::string>(body);
}
}  // namespace

cluster_node::cluster_node(boost::asio::io_context& ioc, services& ctx, const config::settings& cfg,
                           std::shared_ptr<spdlog::logger> log, server::metrics& stats,
                           shared_limiters limits)
    : ctx_(ctx),
      log_(log),
      stats_(stats),
      node_id_(new_correlation_id()),
      prefix_(cfg.cluster.subject_prefix),
      limits_(limits),
      ordered_(ioc, ctx, std::chrono::milliseconds(cfg.cluster.gap_wait_ms)),
      presence_(ioc, ctx, std::chrono::milliseconds(cfg.cluster.heartbeat_ms), node_id_,
                host_name() + " " + cfg.server.listen.to_string(),
                [this](const storage::presence_change& ch) { announce(ch); }),
      bus_(cfg.cluster.nats_url, "switchboard " + node_id_, log, stats,
           nats_bus::handlers{
               [this](std::string_view s, std::string_view d) { received(s, d); }, [this] { bus_lost(); },
               [this] { bus_restored(); },
               [this] { resync_sessions("the bus dropped events this node read too slowly"); }}) {}

cluster_node::~cluster_node() {
  bus_.close();
}

bool cluster_node::start(std::function<void()> on_changes) {
  on_changes_ = std::move(on_changes);
  log_->info("cluster: node {} on bus {}", node_id_, ctx_.cfg.cluster.nats_url);
  if (!bus_.start()) return false;
  bus_.subscribe(prefix_ + ".x");
  presence_.start();
  return true;
}

void cluster_node::stop() {
  presence_.stop();
}

void cluster_node::leave() {
  presence_.leave();
  bus_.close();
}

std::string cluster_node::user_subject(std::int64_t user) const {
  return prefix_ + ".u." + std::to_string(user);
}
std::string cluster_node::org_subject(std::int64_t org) const {
  return prefix_ + ".o." + std::to_string(org);
}
std::string cluster_node::presence_subject(std::int64_t user) const {
  return prefix_ + ".p." + std::to_string(user);
}

void cluster_node::publish(const std::string& subject, const std::string& payload) {
  if (!bus_.publish(subject, payload)) publish_failed_.store(true);
}

void cluster_node::publish_each(const std::vector<std::int64_t>& users, const std::string& payload) {
  for (auto u : users) publish(user_subject(u), payload);
}

// --- fanout ---

void cluster_node::to_users(const std::vector<std::int64_t>& users, const frame_ptr& frame,
                            const client_session* except) {
  ctx_.sessions.to_users(users, frame, except);
  bus_message m;
  m.k = bus_message::kind::event;
  m.body = *frame;
  publish_each(users, encode(m));
}

void cluster_node::message_to_users(std::int64_t org, const std::vector<std::int64_t>& users,
                                    std::int64_t conv, std::int64_t seq, const frame_ptr& frame,
                                    std::shared_ptr<client_session> except) {
  for (auto u : users)
    if (ctx_.sessions.online(u)) ordered_.offer(org, u, conv, {seq, frame, except});
  bus_message m;
  m.k = bus_message::kind::message;
  m.org = org;
  m.conv = conv;
  m.seq = seq;
  m.body = *frame;
  publish_each(users, encode(m));
}

void cluster_node::to_org(std::int64_t org, const frame_ptr& frame) {
  ctx_.sessions.to_org(org, frame);
  bus_message m;
  m.k = bus_message::kind::event;
  m.body = *frame;
  publish(org_subject(org), encode(m));
}

void cluster_node::kick(std::int64_t user, const session_match& match, const std::string& reason,
                        std::uint16_t code) {
  ctx_.sessions.kick(user, match, reason, code);
  bus_message m;
  m.k = bus_message::kind::kick;
  m.code = code;
  m.by_device = match.by == session_match::field::device_id;
  m.reason = reason;
  m.body = match.value;
  publish(user_subject(user), encode(m));
}

void cluster_node::to_session(std::int64_t user, const std::string& session_id, const frame_ptr& frame) {
  ctx_.sessions.to_session(user, session_id, frame);
  bus_message m;
  m.k = bus_message::kind::session;
  m.session = session_id;
  m.body = *frame;
  publish(user_subject(user), encode(m));  // the nodes holding the user; the one with the session delivers
}

// --- cluster_link ---

void cluster_node::sync_subscriptions(std::int64_t org, std::int64_t user) {
  std::lock_guard lk(subs_mu_);
  bool want = ctx_.sessions.online(user);
  auto it = user_subs_.find(user);
  if (want && it == user_subs_.end()) {
    user_subs_.emplace(user, org);
    bus_.subscribe(user_subject(user));
    if (org_users_[org]++ == 0) bus_.subscribe(org_subject(org));
  } else if (!want && it != user_subs_.end()) {
    auto sub_org = it->second;
    user_subs_.erase(it);
    bus_.unsubscribe(user_subject(user));
    if (--org_users_[sub_org] == 0) {
      org_users_.erase(sub_org);
      bus_.unsubscribe(org_subject(sub_org));
    }
  }
}

void cluster_node::user_arrived(std::int64_t org, std::int64_t user, std::function<void()> recorded) {
  ordered_.user_arrived(user);
  sync_subscriptions(org, user);
  presence_.changed(org, user, std::move(recorded));
}

void cluster_node::user_left(std::int64_t org, std::int64_t user, std::int64_t) {
  sync_subscriptions(org, user);
  if (!ctx_.sessions.online(user)) ordered_.forget_user(user);
  presence_.changed(org, user);
}

void cluster_node::presence_of(std::vector<std::int64_t> users, boost::asio::any_io_executor ex,
                               std::function<void(presence_map)> done) {
  presence_.lookup(std::move(users), std::move(ex), std::move(done));
}

void cluster_node::watching(std::int64_t user, bool on) {
  if (on)
    bus_.subscribe(presence_subject(user));
  else
    bus_.unsubscribe(presence_subject(user));
}

void cluster_node::changes_committed() {
  bus_message m;
  m.k = bus_message::kind::changes;
  publish(prefix_ + ".x", encode(m));
}

void cluster_node::took(shared_limit which, const std::string& key) {
  bus_message m;
  m.k = bus_message::kind::tokens;
  m.limit = static_cast<int>(which);
  m.body = key;
  // A user's sends matter only where the user is live; the other keys (an app, a mobile number) may
  // be used on any node.
  std::int64_t user = 0;
  if (which == shared_limit::sends && parse_id(key, user))
    publish(user_subject(user), encode(m));
  else
    publish(prefix_ + ".x", encode(m));
}

void cluster_node::members_changed(std::int64_t conv) {
  bus_message m;
  m.k = bus_message::kind::members;
  m.conv = conv;
  publish(prefix_ + ".x", encode(m));
}

// --- receiving ---

void cluster_node::received(std::string_view subject, std::string_view data) {
  auto m = parse_bus_message(data);
  if (!m || subject.size() < prefix_.size() + 2 || subject.substr(0, prefix_.size()) != prefix_) {
    stats_.bus_malformed_total.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto rest = subject.substr(prefix_.size() + 1);  // "u.<id>", "o.<id>", "p.<id>" or "x"
  std::int64_t id = 0;
  bool has_id = rest.size() > 2 && rest[1] == '.' && parse_id(rest.substr(2), id);
  try {
    if (rest == "x") {
      if (m->k == bus_message::kind::changes && on_changes_) {
        on_changes_();
      } else if (m->k == bus_message::kind::members) {
        ctx_.members.erase(m->conv);  // typing and presence checks read them again
      } else if (m->k == bus_message::kind::resync) {
        resync_sessions("another node may not have delivered its events");
      } else if (m->k == bus_message::kind::tokens && m->limit < static_cast<int>(shared_limit::count)) {
        if (auto* l = limits_.by_limit[m->limit]) l->debit(std::string(m->body), 1);
      } else {
        stats_.bus_malformed_total.fetch_add(1, std::memory_order_relaxed);
      }
    } else if (has_id && rest[0] == 'u') {
      received_for_user(id, *m);
    } else if (has_id && rest[0] == 'o' && m->k == bus_message::kind::event) {
      ctx_.sessions.to_org(id, copy_frame(m->body));
    } else if (has_id && rest[0] == 'p' && m->k == bus_message::kind::presence) {
      ctx_.presence.notify(id, m->online, m->last_seen_ms);
    } else {
      stats_.bus_malformed_total.fetch_add(1, std::memory_order_relaxed);
    }
  } catch (const std::exception& e) {  // nothing a peer sends may take the bus thread down
    log_->error("cluster: handling a bus message on {} failed: {}", subject, e.what());
  }
}

void cluster_node::received_for_user(std::int64_t user, const bus_message& m) {
  switch (m.k) {
    case bus_message::kind::event:
      ctx_.sessions.to_users({user}, copy_frame(m.body));
      break;
    case bus_message::kind::message:
      if (ctx_.sessions.online(user))
        ordered_.offer(m.org, user, m.conv, {m.seq, copy_frame(m.body), nullptr});
      break;
    case bus_message::kind::kick:
      // A token logged out elsewhere must not pass a hello here from this node's cache either.
      if (!m.by_device) ctx_.tokens.erase(std::string(m.body));
      ctx_.sessions.kick(user,
                         {m.by_device ? session_match::field::device_id : session_match::field::token_hash,
                          std::string(m.body)},
                         m.reason, static_cast<std::uint16_t>(m.code));
      break;
    case bus_message::kind::session:
      ctx_.sessions.to_session(user, m.session, copy_frame(m.body));
      break;
    case bus_message::kind::tokens:
      if (m.limit == static_cast<int>(shared_limit::sends))
        if (auto* l = limits_.by_limit[m.limit]) l->debit(std::string(m.body), 1);
      break;
    default:
      stats_.bus_malformed_total.fetch_add(1, std::memory_order_relaxed);
  }
}

void cluster_node::announce(const storage::presence_change& ch) {
  bus_message m;
  m.k = bus_message::kind::presence;
  m.online = ch.online;
  m.last_seen_ms = ch.last_seen_ms;
  publish(presence_subject(ch.user), encode(m));
  ctx_.presence.notify(ch.user, ch.online, ch.last_seen_ms);  // this node's subscribers
}

// --- losing the bus ---

void cluster_node::resync_sessions(const char* why) {
  {
    std::lock_guard lk(resync_mu_);
    auto now = std::chrono::steady_clock::now();
    if (now - last_resync_ < min_drop_resync_gap) return;
    last_resync_ = now;
  }
  ordered_.clear();  // every line starts anew after the sessions' sync
  auto sessions = ctx_.sessions.all();
  if (sessions.empty()) return;
  log_->warn("cluster: {}: {} sessions told to resync", why, sessions.size());
  stats_.bus_resyncs_total.fetch_add(1, std::memory_order_relaxed);
  auto ev = event_frame("resync", {});
  for (auto& s : sessions) s->deliver(ev);
}

void cluster_node::bus_lost() {
  lost_.store(true);
}

void cluster_node::bus_restored() {
  if (lost_.exchange(false)) {
    {
      std::lock_guard lk(resync_mu_);
      last_resync_ = {};  // this one is never skipped
    }
    resync_sessions("the bus is back after an outage");
  }
  if (publish_failed_.exchange(false)) {
    bus_message m;
    m.k = bus_message::kind::resync;
    publish(prefix_ + ".x", encode(m));
  }
}

}  // namespace switchboard::server::cluster
