// The call use cases.
#include "server/core/calls.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <spdlog/spdlog.h>

#include "protocol/clock.hpp"
#include "server/core/db_call.hpp"

namespace switchboard::server {

using protocol::error;
using protocol::error_code;
using protocol::result;
using storage::call_change;
using storage::call_store;
namespace json = boost::json;

boost::json::object turn_credentials(const config::settings::calls_section& cfg, std::int64_t user,
                                     std::int64_t now_s) {
  json::array uris;
  for (const auto& u : cfg.turn_uris) uris.emplace_back(u);
  std::string username = std::to_string(now_s + cfg.turn_ttl_s) + ":" + protocol::id_string(user);
  std::string password;
  if (!cfg.turn_secret.empty()) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha1(), cfg.turn_secret.data(), static_cast<int>(cfg.turn_secret.size()),
         reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac, &len);
    password.resize(4 * ((len + 2) / 3));
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(password.data()), mac, static_cast<int>(len));
  }
  return {
      {"uris", std::move(uris)}, {"username", username}, {"password", password}, {"ttl_s", cfg.turn_ttl_s}};
}

call_service::call_service(boost::asio::io_context& ioc, services& ctx)
    : ctx_(ctx),
      job_(std::make_shared<periodic_job>(ioc, std::chrono::milliseconds(ctx.cfg.calls.sweep_ms),
                                          [this](periodic_job::done_fn d) { sweep(std::move(d)); })),
      signals_(ctx.cfg.calls.signals_per_second, 2.0 * ctx.cfg.calls.signals_per_second) {}

void call_service::start() {
  job_->start(std::chrono::milliseconds(ctx_.cfg.calls.sweep_ms));
}

void call_service::stop() {
  job_->stop();
}

storage::call_rules call_service::rules() const {
  storage::call_rules r;
  r.ring_ms = static_cast<std::int64_t>(ctx_.cfg.calls.ring_timeout_s) * 1000;
  r.grace_ms = static_cast<std::int64_t>(ctx_.cfg.calls.reconnect_grace_s) * 1000;
  r.max_parties = ctx_.cfg.calls.max_parties;
  return r;
}

storage::call_device call_service::device(const session_ptr& s) const {
  return {s->session_id(), ctx_.cluster.node_id()};
}

json::object call_service::turn(std::int64_t user) const {
  return turn_credentials(ctx_.cfg.calls, user, protocol::now_ms() / 1000);
}

// --- events ---

namespace {
json::object ended_event(const storage::call_record& c, std::string_view reason, std::int64_t duration_ms) {
  return {{"call", protocol::id_string(c.id)}, {"reason", reason}, {"duration_ms", duration_ms}};
}
}  // namespace

// Runs after the commit, on the writer's thread: call_incoming to those who start ringing,
// call_ended to a user's other devices or to a group member whose ringing stopped, call_update to
// the parties and the initiator, and at the end call_ended to everyone the call rang or who joined,
// then the call's system message to the conversation's members.
void call_service::publish(const call_change& ch, const client_session* acting) {
  const auto& c = ch.call;
  if (c.id == 0) return;
  track(ch);
  if (ch.setup) ctx_.stats.call_setups_total.fetch_add(1, std::memory_order_relaxed);
  if (!ch.ring.empty()) ctx_.fan.to_users(ch.ring, event_frame("call_incoming", storage::to_json(c)));
  if (ch.answered_by)
    ctx_.fan.to_users({*ch.answered_by}, event_frame("call_ended", ended_event(c, "answered_elsewhere", 0)),
                      acting);
  for (const auto& [user, reason] : ch.stopped)
    ctx_.fan.to_users({user}, event_frame("call_ended", ended_event(c, reason, 0)));
  if (ch.updated) {
    std::vector<std::int64_t> watchers{c.initiator};
    for (const auto& p : c.parties)
      if ((p.in_call() || (ch.ended && p.state == "left")) && p.user != c.initiator)
        watchers.push_back(p.user);
    ctx_.fan.to_users(watchers, event_frame("call_update", storage::to_json(c)));
  }
  if (!ch.ended) return;
  std::vector<std::int64_t> everyone;
  for (const auto& p : c.parties) everyone.push_back(p.user);
  ctx_.fan.to_users(
      everyone, event_frame("call_ended", ended_event(c, c.end_reason.value_or("hangup"), c.duration_ms())));
  if (ch.system_message)
    ctx_.fan.message_to_users(c.org, ch.members, c.conv, ch.system_message->seq,
                              event_frame("message", protocol::to_json(*ch.system_message)));
  ctx_.stats.call_ended(c.end_reason.value_or(""));
  ctx_.stats.call_minutes_billed_total.fetch_add(static_cast<std::uint64_t>(c.billed_minutes.value_or(0)),
                                                 std::memory_order_relaxed);
}

// Which of this node's sessions are in which calls: a session's close drops its parties.
void call_service::track(const call_change& ch) {
  const auto& c = ch.call;
  std::lock_guard lock(mu_);
  for (const auto& s : ch.released_sessions) {
    auto it = in_call_.find(s);
    if (it == in_call_.end()) continue;
    it->second.erase({c.conv, c.id});
    if (it->second.empty()) in_call_.erase(it);
  }
  if (c.state == "ended") return;
  for (const auto& p : c.parties)
    if (p.state == "joined" && p.session && p.node == ctx_.cluster.node_id())
      in_call_[*p.session].insert({c.conv, c.id});
}

// --- transitions ---

void call_service::apply(const actor& a, session_ptr s, std::int64_t conv, change_fn change, bool with_turn,
                         executor ex, reply_fn done) {
  ordered_call<call_change>(
      ctx_, conv, ex, std::move(change), [this, s](const call_change& ch) { publish(ch, s.get()); },
      [this, user = a.user, with_turn, done = std::move(done)](result<call_change> r) {
        if (!r) return done(r.err());
        if (r.value().refusal) return done(*r.value().refusal);
        if (!with_turn) return done(json::object{});
        json::object out{{"call", storage::to_json(r.value().call)}, {"turn", turn(user)}};
        if (r.value().glare) out["glare"] = true;
        done(std::move(out));
      });
}

void call_service::apply_to_call(const actor& a, session_ptr s, std::int64_t call, change_fn change,
                                 bool with_turn, executor ex, reply_fn done) {
  db_call<std::int64_t>(
      ctx_, ex, [org = a.org, call](pqxx::connection& c) { return call_store::conv_of(c, org, call); },
      [this, a, s, change = std::move(change), with_turn, ex,
       done = std::move(done)](result<std::int64_t> r) mutable {
        if (!r) return done(r.err());
        apply(a, std::move(s), r.value(), std::move(change), with_turn, ex, std::move(done));
      });
}

void call_service::invite(const actor& a, session_ptr s, std::int64_t conv, std::string media,
                          std::string client_call_id, executor ex, reply_fn done) {
  apply(
      a, s, conv,
      [a, conv, dev = device(s), rules = rules(), media = std::move(media),
       id = std::move(client_call_id)](pqxx::connection& c) {
        return call_store::invite(c, a.org, conv, a.user, dev, media, id, rules, protocol::now_ms());
      },
      true, ex, std::move(done));
}

void call_service::accept(const actor& a, session_ptr s, std::int64_t call, executor ex, reply_fn done) {
  change_fn f = [a, call, dev = device(s), rules = rules()](pqxx::connection& c) {
    return call_store::accept(c, a.org, call, a.user, dev, rules, protocol::now_ms());
  };
  apply_to_call(a, std::move(s), call, std::move(f), true, ex, std::move(done));
}

void call_service::join(const actor& a, session_ptr s, std::int64_t call, executor ex, reply_fn done) {
  change_fn f = [a, call, dev = device(s), rules = rules()](pqxx::connection& c) {
    return call_store::join(c, a.org, call, a.user, dev, rules, protocol::now_ms());
  };
  apply_to_call(a, std::move(s), call, std::move(f), true, ex, std::move(done));
}

void call_service::reject(const actor& a, session_ptr s, std::int64_t call, executor ex, reply_fn done) {
  change_fn f = [a, call](pqxx::connection& c) {
    return call_store::reject(c, a.org, call, a.user, protocol::now_ms());
  };
  apply_to_call(a, std::move(s), call, std::move(f), false, ex, std::move(done));
}

void call_service::hangup(const actor& a, session_ptr s, std::int64_t call, executor ex, reply_fn done) {
  change_fn f = [a, call](pqxx::connection& c) {
    return call_store::hangup(c, a.org, call, a.user, protocol::now_ms());
  };
  apply_to_call(a, std::move(s), call, std::move(f), false, ex, std::move(done));
}

void call_service::session_closed(std::int64_t org, std::int64_t user, const std::string& session) {
  std::set<std::pair<std::int64_t, std::int64_t>> calls;
  {
    std::lock_guard lock(mu_);
    auto it = in_call_.find(session);
    if (it == in_call_.end()) return;
    calls = std::move(it->second);
    in_call_.erase(it);
  }
  for (auto [conv, call] : calls) {
    ordered_call<call_change>(
        ctx_, conv, ctx_.cpu.get_executor(),
        [org, user, call, session](pqxx::connection& c) {
          return call_store::session_closed(c, org, call, user, session, protocol::now_ms());
        },
        [this](const call_change& ch) { publish(ch, nullptr); },
        [this, call](result<call_change> r) {
          // Not recorded (the database is down): the sweep drops the party once this node is gone,
          // or it ends with the call; meanwhile the other side sees a silent peer.
          if (!r)
            ctx_.log->warn("calls: the close of a session in call {} was not recorded: {}", call,
                           r.err().message);
        });
  }
}

// --- signalling and reads ---

void call_service::signal(const actor& a, session_ptr s, std::int64_t call, std::string to, std::string kind,
                          json::object payload, executor ex, reply_fn done) {
  std::int64_t retry_ms = 0;
  if (!signals_.take(s->session_id(), retry_ms))
    return done(error{error_code::rate_limited,
                      "over " + std::to_string(ctx_.cfg.calls.signals_per_second) + " call signals a second",
                      retry_ms});
  auto session = s->session_id();
  bool first = false;
  {
    std::lock_guard lock(mu_);
    auto& q = signal_queues_[session];
    q.push_back(
        {a, call, std::move(to), std::move(kind), std::move(payload), std::move(ex), std::move(done)});
    first = q.size() == 1;
  }
  if (first) next_signal(session);
}

// A session's signals are checked and relayed one at a time, in the order it sent them (an offer
// must not overtake its own ICE candidates); each check reads the call's parties from PostgreSQL,
// the only place that knows them whichever node they are on.
void call_service::next_signal(const std::string& session) {
  pending_signal* sig = nullptr;
  {
    std::lock_guard lock(mu_);
    sig = &signal_queues_.at(session).front();  // a deque's elements stay put as it grows
  }
  db_call<std::vector<std::pair<std::int64_t, std::string>>>(
      ctx_, sig->ex,
      [a = sig->a, call = sig->call, session](pqxx::connection& c) {
        return call_store::signal_peers(c, a.org, call, a.user, session);
      },
      [this, sig, session](result<std::vector<std::pair<std::int64_t, std::string>>> r) {
        relay(*sig, session, r);
        bool more = false;
        {
          std::lock_guard lock(mu_);
          auto it = signal_queues_.find(session);
          it->second.pop_front();
          more = !it->second.empty();
          if (!more) signal_queues_.erase(it);
        }
        if (more) next_signal(session);
      });
}

void call_service::relay(pending_signal& sig, const std::string& session,
                         const result<std::vector<std::pair<std::int64_t, std::string>>>& peers) {
  if (!peers) return sig.done(peers.err());
  for (const auto& [user, peer] : peers.value()) {
    if (peer != sig.to || peer == session) continue;
    ctx_.fan.to_session(user, peer,
                        event_frame("call_signal", {{"call", protocol::id_string(sig.call)},
                                                    {"from", session},
                                                    {"from_user", protocol::id_string(sig.a.user)},
                                                    {"kind", sig.kind},
                                                    {"payload", std::move(sig.payload)}}));
    return sig.done(json::object{});
  }
  sig.done(error{error_code::forbidden,
                 "to: not another party's session in call " + protocol::id_string(sig.call)});
}

void call_service::current(const actor& a, executor ex, reply_fn done) {
  db_call<std::vector<storage::call_record>>(
      ctx_, ex,
      [a](pqxx::connection& c) -> result<std::vector<storage::call_record>> {
        return call_store::current_for(c, a.org, a.user);
      },
      [done = std::move(done)](result<std::vector<storage::call_record>> r) {
        if (!r) return done(r.err());
        json::array calls;
        for (const auto& c : r.value()) calls.push_back(storage::to_json(c));
        done(json::object{{"calls", std::move(calls)}});
      });
}

// --- timers ---

void call_service::sweep(periodic_job::done_fn done) {
  if (ctx_.draining.load()) return done({});
  bool count = sweeps_++ % 10 == 0;  // the gauges every tenth sweep
  auto rules = this->rules();
  db_call<std::vector<storage::due_call>>(
      ctx_, job_->strand(),
      [this, rules, count,
       node = ctx_.cluster.node_id()](pqxx::connection& c) -> result<std::vector<storage::due_call>> {
        if (count) {
          auto [ringing, active] = call_store::live_counts(c);
          ctx_.stats.calls_ringing.store(ringing, std::memory_order_relaxed);
          ctx_.stats.calls_active.store(active, std::memory_order_relaxed);
        }
        return call_store::due(c, rules, node, protocol::now_ms(), 200);
      },
      [this, rules, done](result<std::vector<storage::due_call>> r) {
        if (!r) {
          // Once per outage, not at every sweep: the database being down is logged elsewhere too.
          if (!sweep_failing_) ctx_.log->warn("calls: the sweep failed (retrying): {}", r.err().message);
          sweep_failing_ = true;
          return done({});
        }
        if (sweep_failing_) ctx_.log->info("calls: the sweep runs again");
        sweep_failing_ = false;
        for (const auto& d : r.value()) {
          {
            std::lock_guard lock(mu_);
            if (!settling_.insert(d.id).second) continue;
          }
          ordered_call<call_change>(
              ctx_, d.conv, job_->strand(),
              [d, rules, node = ctx_.cluster.node_id()](pqxx::connection& c) {
                return call_store::settle(c, d.org, d.id, rules, node, protocol::now_ms());
              },
              [this](const call_change& ch) { publish(ch, nullptr); },
              [this, id = d.id](result<call_change> r) {
                {
                  std::lock_guard lock(mu_);
                  settling_.erase(id);
                }
                if (!r) ctx_.log->warn("calls: settling call {} failed: {}", id, r.err().message);
              });
        }
        done({});
      });
}

}  // namespace switchboard::server
