// Calls, their parties and call minutes.
#include "storage/call_store.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "storage/conv_store.hpp"
#include "storage/sql_util.hpp"

namespace switchboard::storage {

using protocol::error;
using protocol::error_code;
using protocol::id_string;
using protocol::result;

const call_party* call_record::party(std::int64_t user) const {
  for (const auto& p : parties)
    if (p.user == user) return &p;
  return nullptr;
}

std::int64_t call_record::duration_ms() const {
  if (!answered_at) return 0;
  return std::max<std::int64_t>(0, ended_at.value_or(*answered_at) - *answered_at);
}

namespace {

boost::json::value opt(const std::optional<std::int64_t>& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}
boost::json::value opt(const std::optional<std::string>& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

}  // namespace

boost::json::object to_json(const call_record& c) {
  boost::json::array parties;
  for (const auto& p : c.parties) {
    if (!p.in_call()) continue;
    parties.push_back(boost::json::object{
        {"user", id_string(p.user)}, {"session", opt(p.session)}, {"joined_at", opt(p.joined_at)}});
  }
  return {{"call", id_string(c.id)},
          {"conv", id_string(c.conv)},
          {"media", c.media},
          {"initiator", id_string(c.initiator)},
          {"state", c.state},
          {"created_at", c.created_at},
          {"answered_at", opt(c.answered_at)},
          {"ended_at", opt(c.ended_at)},
          {"end_reason", opt(c.end_reason)},
          {"parties", std::move(parties)}};
}

boost::json::object to_admin_json(const call_record& c) {
  auto o = to_json(c);
  o.erase("state");
  o.erase("parties");
  o["billed_minutes"] = c.billed_minutes.value_or(0);
  return o;
}

boost::json::object to_json(const call_minutes_view& v) {
  boost::json::array packages;
  for (const auto& p : v.packages)
    packages.push_back(boost::json::object{{"package", id_string(p.id)},
                                           {"minutes", p.minutes},
                                           {"ref", p.ref},
                                           {"credited_at", p.credited_at}});
  return {{"balance_minutes", v.balance},
          {"credited_minutes", v.credited},
          {"used_minutes", v.used},
          {"packages", std::move(packages)}};
}

namespace {

constexpr const char* call_columns =
    "org_id, id, conv_id, kind, media, initiator, state, created_at, ring_until, answered_at, ended_at, "
    "end_reason, reserved_minutes, billed_minutes";

template <class T>
std::optional<T> opt_field(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

call_record read_call(const pqxx::row& r) {
  call_record c;
  c.org = r[0].as<std::int64_t>();
  c.id = r[1].as<std::int64_t>();
  c.conv = r[2].as<std::int64_t>();
  c.kind = r[3].as<std::string>();
  c.media = r[4].as<std::string>();
  c.initiator = r[5].as<std::int64_t>();
  c.state = r[6].as<std::string>();
  c.created_at = r[7].as<std::int64_t>();
  c.ring_until = r[8].as<std::int64_t>();
  c.answered_at = opt_field<std::int64_t>(r[9]);
  c.ended_at = opt_field<std::int64_t>(r[10]);
  c.end_reason = opt_field<std::string>(r[11]);
  c.reserved_minutes = r[12].as<int>();
  c.billed_minutes = opt_field<int>(r[13]);
  return c;
}

void read_parties(pqxx::transaction_base& w, call_record& c) {
  c.parties.clear();
  for (const auto& r : w.exec_prepared("call_parties_of", c.id)) {
    call_party p;
    p.user = r[0].as<std::int64_t>();
    p.state = r[1].as<std::string>();
    p.session = opt_field<std::string>(r[2]);
    p.node = opt_field<std::string>(r[3]);
    p.joined_at = opt_field<std::int64_t>(r[4]);
    p.dropped_at = opt_field<std::int64_t>(r[5]);
    c.parties.push_back(std::move(p));
  }
}

enum class lock_mode { none, wait, skip };

std::optional<call_record> load(pqxx::work& w, std::int64_t org, std::int64_t id, lock_mode mode) {
  auto r = w.exec_prepared(mode == lock_mode::wait   ? "call_load_lock"
                           : mode == lock_mode::skip ? "call_load_skip"
                                                     : "call_load",
                           org, id);
  if (r.empty()) return std::nullopt;
  auto c = read_call(r[0]);
  read_parties(w, c);
  return c;
}

error call_not_found(std::int64_t id) {
  return error{error_code::not_found, "call " + id_string(id) + " not found"};
}

// The call, locked, when `user` is one of its parties (every state); else not_found.
result<call_record> load_party(pqxx::work& w, std::int64_t org, std::int64_t id, std::int64_t user) {
  auto call = load(w, org, id, lock_mode::wait);
  if (!call || !call->party(user)) return call_not_found(id);
  return std::move(*call);
}

// One transition on a locked call: changes the record in memory and writes what it changed.
class transition {
 public:
  transition(pqxx::work& w, call_record& c, std::int64_t now) : w_(w), c_(c), now_(now) {}

  call_party* party(std::int64_t user) {
    for (auto& p : c_.parties)
      if (p.user == user) return &p;
    return nullptr;
  }
  int in_call() const {
    return static_cast<int>(
        std::count_if(c_.parties.begin(), c_.parties.end(), [](const call_party& p) { return p.in_call(); }));
  }
  int ringing() const {
    return static_cast<int>(std::count_if(c_.parties.begin(), c_.parties.end(),
                                          [](const call_party& p) { return p.state == "ringing"; }));
  }

  // A party's new state (not joined: see join); `dropped_at` for a dropped one.
  void put(call_party& p, std::string state, std::optional<std::int64_t> dropped_at = std::nullopt) {
    if (p.session) out.released_sessions.push_back(*p.session);
    p.state = std::move(state);
    p.session.reset();
    p.node.reset();
    p.dropped_at = dropped_at;
    write(p);
    out.updated = true;
  }
  void join(call_party& p, const call_device& dev) {
    if (p.session && *p.session != dev.session) out.released_sessions.push_back(*p.session);
    p.state = "joined";
    p.session = dev.session;
    p.node = dev.node;
    p.dropped_at.reset();
    if (!p.joined_at) p.joined_at = now_;
    write(p);
    out.updated = true;
  }
  call_party& add(std::int64_t user, std::string state) {
    call_party p;
    p.user = user;
    p.state = std::move(state);
    c_.parties.push_back(p);
    return c_.parties.back();
  }
  void write(const call_party& p) {
    w_.exec_prepared("call_party_put", c_.org, c_.id, p.user, p.state, p.session.value_or(""),
                     p.node.value_or(""), opt_param(p.joined_at), opt_param(p.dropped_at));
  }

  // The call turns active (its first minute is reserved), or ends at once when the organization
  // has no minute left.
  void begin_active() {
    c_.state = "active";
    c_.answered_at = now_;
    out.updated = true;
    if (!reserve_minute()) {
      out.refusal = error{error_code::quota_exceeded, "the organization has no call minutes left"};
      return end("quota_exhausted", now_);
    }
    c_.reserved_minutes = 1;
    out.setup = true;
  }

  bool reserve_minute() {
    auto r = w_.exec_prepared("call_minute_reserve", c_.org);
    return r.affected_rows() == 1;
  }

  // Reserves each minute the active call has started; when the balance has none, the call ends at
  // the end of its last paid minute.
  void bill_running() {
    while (c_.state == "active" && *c_.answered_at + c_.reserved_minutes * call_store::minute_ms < now_) {
      if (!reserve_minute())
        return end("quota_exhausted", *c_.answered_at + c_.reserved_minutes * call_store::minute_ms);
      ++c_.reserved_minutes;
    }
  }

  void end(const std::string& reason, std::int64_t at) {
    if (c_.state == "ended") return;
    c_.ended_at = std::max(at, c_.answered_at.value_or(at));
    c_.state = "ended";
    c_.end_reason = reason;
    // ceil(active duration / 60 s); what was reserved beyond it goes back, what is missing (a late
    // sweep) is taken as far as the balance allows.
    std::int64_t d = c_.duration_ms();
    int billed = static_cast<int>((d + call_store::minute_ms - 1) / call_store::minute_ms);
    if (billed < c_.reserved_minutes) {
      w_.exec_prepared("call_minutes_refund", c_.org, c_.reserved_minutes - billed);
    } else if (billed > c_.reserved_minutes) {
      auto bal = w_.exec_prepared("call_balance_lock", c_.org);
      std::int64_t have = bal.empty() ? 0 : bal[0][0].as<std::int64_t>();
      std::int64_t take = std::min<std::int64_t>(have, billed - c_.reserved_minutes);
      if (take > 0) w_.exec_prepared("call_minutes_take", c_.org, take);
      billed = c_.reserved_minutes + static_cast<int>(take);
    }
    c_.billed_minutes = billed;
    c_.reserved_minutes = billed;
    for (auto& p : c_.parties) {
      if (p.in_call())
        put(p, "left");
      else if (p.state == "ringing")
        put(p, "missed");
    }
    out.ended = true;
    out.updated = true;

    std::string result = reason == "hangup" || reason == "quota_exhausted" ? "completed" : reason;
    boost::json::object body{{"event", "call"},          {"actor", id_string(c_.initiator)},
                             {"call", id_string(c_.id)}, {"media", c_.media},
                             {"result", result},         {"duration_ms", d}};
    out.system_message = conv_store::append_system_body(w_, c_.org, c_.conv, c_.initiator, std::move(body));
    for (const auto& r : w_.exec_prepared("call_conv_members", c_.org, c_.conv))
      out.members.push_back(r[0].as<std::int64_t>());
  }

  // A group call after a party left, declined or stopped ringing: active with two in it, still
  // ringing while someone rings, else over. `unanswered`: the reason when it never turned active.
  void settle_group(const std::string& answered_reason, const std::string& unanswered) {
    if (c_.state == "ended") return;
    int in = in_call();
    if (in >= 2) {
      if (c_.state == "ringing") begin_active();
      return;
    }
    if (in == 1 && ringing() > 0) return;
    end(c_.answered_at ? answered_reason : unanswered, now_);
  }

  // A ringing party declines: a direct call ends, a group member only stops ringing.
  void decline(std::int64_t user) {
    put(*party(user), "declined");
    if (c_.kind == "direct") return end("declined", now_);
    out.stopped.emplace_back(user, "declined");
    settle_group("hangup", "missed");
  }

  // Saves the call row and reads the change's record.
  call_change finish() {
    w_.exec_prepared(
        "call_save", c_.id, c_.state, opt_param(c_.answered_at), opt_param(c_.ended_at),
        c_.end_reason.value_or(""), c_.reserved_minutes,
        opt_param(c_.billed_minutes ? std::optional<std::int64_t>(*c_.billed_minutes) : std::nullopt));
    out.call = c_;
    return std::move(out);
  }

  // Saves, commits, and answers with what changed.
  call_change commit() {
    auto out = finish();
    w_.commit();
    return out;
  }

  call_change out;

 private:
  pqxx::work& w_;
  call_record& c_;
  std::int64_t now_;
};

// The call as it is, with no event to send.
call_change unchanged(const call_record& c) {
  call_change ch;
  ch.call = c;
  return ch;
}

bool is_member(pqxx::work& w, std::int64_t org, std::int64_t conv, std::int64_t user) {
  return !w.exec_prepared("call_is_member", org, conv, user).empty();
}

// What accept and join share for a party that was ringing or comes in: the mesh's limit, the
// party in on this device, the call active once two are in.
result<call_change> come_in(pqxx::work& w, call_record& c, std::int64_t user, const call_device& dev,
                            const call_rules& rules, std::int64_t now, bool answering) {
  transition t(w, c, now);
  auto* p = t.party(user);
  if (!p || !p->in_call()) {
    if (t.in_call() >= rules.max_parties)
      return error{error_code::too_large, "the call already has " + std::to_string(rules.max_parties) +
                                              " parties (calls.max_parties)"};
  }
  if (!p) p = &t.add(user, "joined");
  if (answering) t.out.answered_by = user;
  t.join(*p, dev);
  if (c.kind == "group")
    t.settle_group("hangup", "missed");
  else if (c.state == "ringing" && t.in_call() >= 2)
    t.begin_active();
  return t.commit();
}

}  // namespace

// Every statement of the calls, prepared on each connection (storage/statements.cpp): a call's
// transitions and signals are short statements run again and again, and planning them each time
// was most of PostgreSQL's time per call (bench/calls.sh with pg_stat_statements, BENCHMARKS.md).
void call_store::prepare(pqxx::connection& c) {
  const std::string cols = call_columns;
  const std::vector<std::pair<const char*, std::string>> statements{
      {"call_load", "SELECT " + cols + " FROM calls WHERE org_id = $1 AND id = $2"},
      {"call_load_lock", "SELECT " + cols + " FROM calls WHERE org_id = $1 AND id = $2 FOR UPDATE"},
      {"call_load_skip",
       "SELECT " + cols + " FROM calls WHERE org_id = $1 AND id = $2 FOR UPDATE SKIP LOCKED"},
      {"call_current_for", "SELECT " + cols +
                               " FROM calls WHERE org_id = $1 AND state <> 'ended' AND id IN "
                               "(SELECT call_id FROM call_parties WHERE user_id = $2 AND "
                               "state IN ('ringing', 'joined', 'dropped')) ORDER BY id"},
      {"call_list",
       "SELECT " + cols + " FROM calls WHERE org_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3"},
      {"call_conv_of", "SELECT conv_id FROM calls WHERE org_id = $1 AND id = $2"},
      {"call_used", "SELECT coalesce(sum(billed_minutes), 0) FROM calls WHERE org_id = $1"},
      {"call_parties_of",
       "SELECT user_id, state, session_id, node_id, joined_at, dropped_at FROM call_parties "
       "WHERE call_id = $1 ORDER BY joined_at NULLS LAST, user_id"},
      {"call_party_put",
       "INSERT INTO call_parties (org_id, call_id, user_id, state, session_id, node_id, joined_at, "
       "dropped_at) "
       "VALUES ($1, $2, $3, $4, NULLIF($5, ''), NULLIF($6, ''), NULLIF($7, '')::bigint, NULLIF($8, "
       "'')::bigint) "
       "ON CONFLICT (call_id, user_id) DO UPDATE SET "
       "state = EXCLUDED.state, session_id = EXCLUDED.session_id, node_id = EXCLUDED.node_id, "
       "joined_at = EXCLUDED.joined_at, dropped_at = EXCLUDED.dropped_at"},
      {"call_minute_reserve",
       "UPDATE call_minutes SET balance_minutes = balance_minutes - 1 "
       "WHERE org_id = $1 AND balance_minutes >= 1"},
      {"call_minutes_refund",
       "UPDATE call_minutes SET balance_minutes = balance_minutes + $2 WHERE org_id = $1"},
      {"call_balance_lock", "SELECT balance_minutes FROM call_minutes WHERE org_id = $1 FOR UPDATE"},
      {"call_minutes_take",
       "UPDATE call_minutes SET balance_minutes = balance_minutes - $2 WHERE org_id = $1"},
      {"call_conv_members", "SELECT user_id FROM conv_members WHERE org_id = $1 AND conv_id = $2"},
      {"call_save",
       "UPDATE calls SET state = $2, answered_at = NULLIF($3, '')::bigint, ended_at = NULLIF($4, "
       "'')::bigint, "
       "end_reason = NULLIF($5, ''), reserved_minutes = $6, billed_minutes = NULLIF($7, '')::int WHERE id = "
       "$1"},
      {"call_is_member", "SELECT 1 FROM conv_members WHERE org_id = $1 AND conv_id = $2 AND user_id = $3"},
      {"call_invites_lock", "SELECT pg_advisory_xact_lock(hashtextextended('call:' || $1::text, 0))"},
      {"call_by_client_id",
       "SELECT id FROM calls WHERE org_id = $1 AND initiator = $2 AND client_call_id = $3"},
      {"call_conv_kind",
       "SELECT c.kind FROM conversations c JOIN conv_members m ON m.org_id = c.org_id AND m.conv_id = c.id "
       "WHERE c.org_id = $1 AND c.id = $2 AND m.user_id = $3"},
      {"call_live_in_conv", "SELECT id FROM calls WHERE conv_id = $1 AND state <> 'ended'"},
      {"call_balance", "SELECT balance_minutes FROM call_minutes WHERE org_id = $1"},
      {"call_others",
       "SELECT user_id FROM conv_members WHERE org_id = $1 AND conv_id = $2 "
       "AND user_id <> $3 ORDER BY user_id"},
      {"call_insert",
       "INSERT INTO calls (org_id, conv_id, kind, media, initiator, client_call_id, state, created_at, "
       "ring_until) VALUES ($1, $2, $3, $4, $5, $6, 'ringing', $7, $8) RETURNING id"},
      {"call_nodes_alive", "SELECT node_id FROM cluster_nodes WHERE node_id = ANY($1::text[])"},
      {"call_barred_users",
       "SELECT id FROM users WHERE org_id = $1 AND id = ANY($2::bigint[]) AND (status <> 'active' OR "
       "('call' = ANY(restricted) AND (restricted_until IS NULL OR restricted_until > now())))"},
      {"call_due",
       "SELECT c.org_id, c.id, c.conv_id FROM calls c WHERE c.state <> 'ended' AND ("
       " (c.ring_until <= $1 AND (c.state = 'ringing' OR EXISTS (SELECT 1 FROM call_parties p "
       "   WHERE p.call_id = c.id AND p.state = 'ringing')))"
       " OR (c.state = 'active' AND c.answered_at + c.reserved_minutes * 60000::bigint < $1)"
       " OR EXISTS (SELECT 1 FROM call_parties p WHERE p.call_id = c.id AND ("
       "   (p.state = 'dropped' AND p.dropped_at + $2 <= $1)"
       "   OR (p.state = 'joined' AND p.node_id <> $3 AND NOT EXISTS (SELECT 1 FROM cluster_nodes n "
       "       WHERE n.node_id = p.node_id))"
       "   OR (p.state IN ('ringing', 'joined', 'dropped') AND EXISTS (SELECT 1 FROM users u "
       "       WHERE u.org_id = p.org_id AND u.id = p.user_id AND (u.status <> 'active' OR "
       "       ('call' = ANY(u.restricted) AND (u.restricted_until IS NULL OR u.restricted_until > "
       "now()))))))))"
       " ORDER BY c.id LIMIT $4"},
      {"call_signal_peers",
       "SELECT p.user_id, p.state, p.session_id FROM calls c JOIN call_parties p ON p.call_id = c.id "
       "WHERE c.org_id = $1 AND c.id = $2 AND c.state <> 'ended'"},
      {"call_minutes_view", "SELECT balance_minutes, credited_minutes FROM call_minutes WHERE org_id = $1"},
      {"call_packages",
       "SELECT id, minutes, ref, credited_at FROM call_minute_packages WHERE org_id = $1 ORDER BY id"},
      {"call_package_insert",
       "INSERT INTO call_minute_packages (org_id, minutes, ref, credited_at) VALUES ($1, $2, $3, $4) "
       "RETURNING id"},
      {"call_minutes_credit",
       "INSERT INTO call_minutes (org_id, balance_minutes, credited_minutes) VALUES ($1, $2, $2) "
       "ON CONFLICT (org_id) DO UPDATE SET balance_minutes = call_minutes.balance_minutes + $2, "
       "credited_minutes = call_minutes.credited_minutes + $2 RETURNING balance_minutes"},
  };
  for (const auto& [name, sql] : statements) c.prepare(name, sql);
}

result<std::int64_t> call_store::conv_of(pqxx::connection& c, std::int64_t org, std::int64_t call) {
  pqxx::nontransaction n(c);
  auto r = n.exec_prepared("call_conv_of", org, call);
  if (r.empty()) return call_not_found(call);
  return r[0][0].as<std::int64_t>();
}

result<call_change> call_store::invite(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                       std::int64_t caller, const call_device& dev, const std::string& media,
                                       const std::string& client_call_id, const call_rules& rules,
                                       std::int64_t now) {
  pqxx::work w(c);
  // Invites into one conversation take turns: the second sees the first's call (glare, conflict).
  w.exec_prepared("call_invites_lock", conv);
  auto again = w.exec_prepared("call_by_client_id", org, caller, client_call_id);
  if (!again.empty()) {
    auto call = load(w, org, again[0][0].as<std::int64_t>(), lock_mode::none);
    return unchanged(*call);
  }
  auto kind = w.exec_prepared("call_conv_kind", org, conv, caller);
  if (kind.empty()) return error{error_code::not_found, "conversation " + id_string(conv) + " not found"};
  auto live = w.exec_prepared("call_live_in_conv", conv);
  if (!live.empty()) {
    auto call = load(w, org, live[0][0].as<std::int64_t>(), lock_mode::wait);
    const auto* mine = call->party(caller);
    // Glare: the other side of this direct conversation is ringing the caller: the invite answers it.
    if (call->kind == "direct" && call->state == "ringing" && call->initiator != caller && mine &&
        mine->state == "ringing") {
      auto r = come_in(w, *call, caller, dev, rules, now, true);
      if (r) r.value().glare = true;
      return r;
    }
    return error{error_code::conflict, "conversation " + id_string(conv) + " already has call " +
                                           id_string(call->id) +
                                           (call->kind == "group" ? " (use call_join)" : "")};
  }
  auto bal = w.exec_prepared("call_balance", org);
  if (bal.empty() || bal[0][0].as<std::int64_t>() <= 0)
    return error{error_code::quota_exceeded, "the organization has no call minutes left"};
  std::vector<std::int64_t> others;
  for (const auto& r : w.exec_prepared("call_others", org, conv, caller))
    others.push_back(r[0].as<std::int64_t>());
  if (others.empty()) return error{error_code::bad_request, "conv: nobody else in this conversation to call"};

  call_record call;
  call.org = org;
  call.conv = conv;
  call.kind = kind[0][0].as<std::string>();
  call.media = media;
  call.initiator = caller;
  call.state = "ringing";
  call.created_at = now;
  call.ring_until = now + rules.ring_ms;
  call.id = w.exec_prepared1("call_insert", org, conv, call.kind, media, caller, client_call_id, now,
                             call.ring_until)[0]
                .as<std::int64_t>();
  transition t(w, call, now);
  t.join(t.add(caller, "joined"), dev);
  for (auto u : others) t.write(t.add(u, "ringing"));
  t.out.ring = others;
  t.out.updated = false;  // a new call is announced by call_incoming (and the invite's reply)
  return t.commit();
}

result<call_change> call_store::accept(pqxx::connection& c, std::int64_t org, std::int64_t id,
                                       std::int64_t user, const call_device& dev, const call_rules& rules,
                                       std::int64_t now) {
  pqxx::work w(c);
  auto call = load_party(w, org, id, user);
  if (!call) return call.err();
  if (call->state == "ended") return error{error_code::conflict, "call " + id_string(id) + " has ended"};
  const auto* p = call->party(user);
  if (p->state == "joined" && p->session == dev.session) return unchanged(*call);  // a repeat
  if (p->state == "joined") return error{error_code::conflict, "the call was answered on another device"};
  if (p->state != "ringing")
    return error{error_code::conflict, "call " + id_string(id) + " is not ringing you"};
  return come_in(w, *call, user, dev, rules, now, true);
}

result<call_change> call_store::join(pqxx::connection& c, std::int64_t org, std::int64_t id,
                                     std::int64_t user, const call_device& dev, const call_rules& rules,
                                     std::int64_t now) {
  pqxx::work w(c);
  auto call = load(w, org, id, lock_mode::wait);
  if (!call || !is_member(w, org, call->conv, user)) return call_not_found(id);
  if (call->state == "ended") return error{error_code::conflict, "call " + id_string(id) + " has ended"};
  const auto* p = call->party(user);
  if (p && p->state == "joined" && p->session == dev.session) return unchanged(*call);
  if (call->kind == "direct" && !p) return call_not_found(id);
  return come_in(w, *call, user, dev, rules, now, p && p->state == "ringing");
}

result<call_change> call_store::reject(pqxx::connection& c, std::int64_t org, std::int64_t id,
                                       std::int64_t user, std::int64_t now) {
  pqxx::work w(c);
  auto call = load_party(w, org, id, user);
  if (!call) return call.err();
  const auto* p = call->party(user);
  if (call->state == "ended" || p->state != "ringing") {
    if (p->in_call() && call->state != "ended")
      return error{error_code::conflict, "you are in call " + id_string(id) + ": use call_hangup"};
    return unchanged(*call);  // nothing rings any more
  }
  transition t(w, *call, now);
  t.decline(user);
  return t.commit();
}

result<call_change> call_store::hangup(pqxx::connection& c, std::int64_t org, std::int64_t id,
                                       std::int64_t user, std::int64_t now) {
  pqxx::work w(c);
  auto call = load_party(w, org, id, user);
  if (!call) return call.err();
  const auto* p = call->party(user);
  if (call->state == "ended" || !(p->in_call() || p->state == "ringing")) return unchanged(*call);
  transition t(w, *call, now);
  bool was_ringing = call->state == "ringing";
  if (call->kind == "direct") {
    t.end(was_ringing ? (user == call->initiator ? "cancelled" : "declined") : "hangup", now);
  } else if (p->state == "ringing") {
    t.decline(user);
  } else {
    t.put(*t.party(user), "left");
    // The initiator hanging up a group call nobody answered yet takes it down for everyone.
    if (was_ringing && user == call->initiator)
      t.end("cancelled", now);
    else
      t.settle_group("hangup", "missed");
  }
  return t.commit();
}

result<call_change> call_store::session_closed(pqxx::connection& c, std::int64_t org, std::int64_t id,
                                               std::int64_t user, const std::string& session,
                                               std::int64_t now) {
  pqxx::work w(c);
  auto call = load(w, org, id, lock_mode::wait);
  if (!call || call->state == "ended") return call ? unchanged(*call) : call_change{};
  const auto* p = call->party(user);
  if (!p || p->state != "joined" || p->session != session) return unchanged(*call);
  transition t(w, *call, now);
  t.put(*t.party(user), "dropped", now);
  return t.commit();
}

result<call_change> call_store::settle(pqxx::connection& c, std::int64_t org, std::int64_t id,
                                       const call_rules& rules, const std::string& this_node,
                                       std::int64_t now) {
  pqxx::work w(c);
  auto call = load(w, org, id, lock_mode::skip);
  if (!call || call->state == "ended") return call_change{};  // another node has it, or it is over
  transition t(w, *call, now);

  // Parties held by a node that is gone are dropped from now.
  std::vector<std::string> nodes;
  for (const auto& p : call->parties)
    if (p.state == "joined" && p.node && *p.node != this_node) nodes.push_back(*p.node);
  std::vector<std::string> alive;
  if (!nodes.empty())
    for (const auto& r : w.exec_prepared("call_nodes_alive", text_array(nodes)))
      alive.push_back(r[0].as<std::string>());
  // Accounts that may no longer call (suspended, removed, or restricted from calls).
  std::vector<std::int64_t> users;
  for (const auto& p : call->parties)
    if (p.in_call() || p.state == "ringing") users.push_back(p.user);
  std::vector<std::int64_t> barred;
  for (const auto& r : w.exec_prepared("call_barred_users", org, bigint_array(users)))
    barred.push_back(r[0].as<std::int64_t>());

  std::string cause;  // why a party of a direct call is gone: the call's end reason
  for (auto& p : call->parties) {
    bool is_barred = std::find(barred.begin(), barred.end(), p.user) != barred.end();
    if (is_barred && p.state == "ringing") {
      t.put(p, "missed");
      t.out.stopped.emplace_back(p.user, "hangup");
      continue;
    }
    if (is_barred && p.in_call()) {
      t.put(p, "left");
      if (cause.empty()) cause = "hangup";
      continue;
    }
    if (p.state == "joined" && p.node && *p.node != this_node &&
        std::find(alive.begin(), alive.end(), *p.node) == alive.end()) {
      t.put(p, "dropped", now);
    }
    if (p.state == "dropped" && p.dropped_at && *p.dropped_at + rules.grace_ms <= now) {
      t.put(p, "left");
      if (cause.empty()) cause = "dropped";
    }
    if (p.state == "ringing" && call->ring_until <= now) {
      t.put(p, "missed");
      if (call->kind == "group") t.out.stopped.emplace_back(p.user, "missed");
    }
  }
  if (call->kind == "direct") {
    bool callee_missed = false;
    for (const auto& p : call->parties)
      if (p.user != call->initiator && p.state == "missed") callee_missed = true;
    if (!cause.empty())
      t.end(cause == "dropped" ? "dropped" : "hangup", now);
    else if (callee_missed)
      t.end("missed", now);
  } else {
    t.settle_group(cause == "dropped" ? "dropped" : "hangup", "missed");
  }
  t.bill_running();
  return t.commit();
}

std::vector<due_call> call_store::due(pqxx::connection& c, const call_rules& rules,
                                      const std::string& this_node, std::int64_t now, int limit) {
  pqxx::read_transaction w(c);
  std::vector<due_call> out;
  for (const auto& r : w.exec_prepared("call_due", now, rules.grace_ms, this_node, limit))
    out.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>()});
  return out;
}

result<std::vector<std::pair<std::int64_t, std::string>>> call_store::signal_peers(
    pqxx::connection& c, std::int64_t org, std::int64_t call, std::int64_t user, const std::string& session) {
  pqxx::nontransaction w(c);  // one statement: no BEGIN and COMMIT round trips
  auto r = w.exec_prepared("call_signal_peers", org, call);
  std::vector<std::pair<std::int64_t, std::string>> peers;
  bool known = false, in = false;
  for (const auto& row : r) {
    auto u = row[0].as<std::int64_t>();
    auto state = row[1].as<std::string>();
    if (u == user) known = true;
    if (state != "joined") continue;
    auto s = row[2].as<std::string>();
    if (u == user && s == session) in = true;
    peers.emplace_back(u, s);
  }
  if (!known) return call_not_found(call);
  if (!in) return error{error_code::forbidden, "this session is not in call " + id_string(call)};
  return peers;
}

std::vector<call_record> call_store::current_for(pqxx::connection& c, std::int64_t org, std::int64_t user) {
  pqxx::read_transaction w(c);
  std::vector<call_record> out;
  for (const auto& r : w.exec_prepared("call_current_for", org, user)) {
    out.push_back(read_call(r));
    read_parties(w, out.back());
  }
  return out;
}

std::vector<call_record> call_store::list(pqxx::connection& c, std::int64_t org, std::int64_t before_id,
                                          int limit) {
  pqxx::nontransaction w(c);  // one statement
  std::vector<call_record> out;
  for (const auto& r : w.exec_prepared("call_list", org, before_id, limit)) out.push_back(read_call(r));
  return out;
}

call_minutes_view call_store::minutes(pqxx::connection& c, std::int64_t org) {
  pqxx::read_transaction w(c);
  call_minutes_view v;
  auto m = w.exec_prepared("call_minutes_view", org);
  if (!m.empty()) {
    v.balance = m[0][0].as<std::int64_t>();
    v.credited = m[0][1].as<std::int64_t>();
  }
  // What ended calls billed (the balance row is not touched at a call's end, so concurrent calls of
  // one organization do not queue on it twice).
  v.used = w.exec_prepared1("call_used", org)[0].as<std::int64_t>();
  for (const auto& r : w.exec_prepared("call_packages", org))
    v.packages.push_back(
        {r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[3].as<std::int64_t>(), r[2].as<std::string>()});
  return v;
}

std::pair<std::int64_t, std::int64_t> call_store::credit(pqxx::connection& c, std::int64_t org,
                                                         std::int64_t minutes, const std::string& ref,
                                                         std::int64_t now) {
  pqxx::work w(c);
  auto pkg = w.exec_prepared1("call_package_insert", org, minutes, ref, now)[0].as<std::int64_t>();
  auto bal = w.exec_prepared1("call_minutes_credit", org, minutes)[0].as<std::int64_t>();
  w.commit();
  return {pkg, bal};
}

std::pair<std::int64_t, std::int64_t> call_store::live_counts(pqxx::connection& c) {
  pqxx::read_transaction w(c);
  auto r = w.exec1(
      "SELECT count(*) FILTER (WHERE state = 'ringing'), count(*) FILTER (WHERE state = 'active') FROM calls "
      "WHERE state <> 'ended'");
  return {r[0].as<std::int64_t>(), r[1].as<std::int64_t>()};
}

}  // namespace switchboard::storage
