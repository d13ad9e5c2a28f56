// The call use cases (PROTOCOL.md "Calls", docs/calls.md): every transition runs in one
// transaction through the conversation's ordered writer (so the call's system message keeps seq
// order with the messages around it), publishes its events through `fanout` after the commit, and
// answers once on the caller's executor. The timers are the sweep's: every node looks for calls
// whose ringing, reconnect grace or paid minute is over, and settles each under its row lock
// (SKIP LOCKED: one node does it), so they fire when the node that started a call is dead.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/base/limits.hpp"
#include "server/base/periodic_job.hpp"
#include "server/core/client_session.hpp"
#include "server/core/conversations.hpp"
#include "server/core/services.hpp"
#include "storage/call_store.hpp"

namespace switchboard::server {

// TURN credentials in the REST convention of coturn's use-auth-secret: username
// "<expiry unix seconds>:<user id>", password base64(HMAC-SHA1(secret, username)).
boost::json::object turn_credentials(const config::settings::calls_section& cfg, std::int64_t user,
                                     std::int64_t now_s);

class call_service {
 public:
  using executor = boost::asio::any_io_executor;
  using session_ptr = std::shared_ptr<client_session>;
  using reply_fn = answer_fn<boost::json::object>;

  call_service(boost::asio::io_context& ioc, services& ctx);
  void start();
  void stop();  // thread-safe

  // The ops: `s` is the acting session; each answers `done` on `ex` with the reply's data.
  void invite(const actor& a, session_ptr s, std::int64_t conv, std::string media, std::string client_call_id,
              executor ex, reply_fn done);
  void accept(const actor& a, session_ptr s, std::int64_t call, executor ex, reply_fn done);
  void join(const actor& a, session_ptr s, std::int64_t call, executor ex, reply_fn done);
  void reject(const actor& a, session_ptr s, std::int64_t call, executor ex, reply_fn done);
  void hangup(const actor& a, session_ptr s, std::int64_t call, executor ex, reply_fn done);
  void signal(const actor& a, session_ptr s, std::int64_t call, std::string to, std::string kind,
              boost::json::object payload, executor ex, reply_fn done);
  void current(const actor& a, executor ex, reply_fn done);
  boost::json::object turn(std::int64_t user) const;
  // A session closed: its parties in calls (this node's) are dropped and may come back.
  void session_closed(std::int64_t org, std::int64_t user, const std::string& session);

 private:
  using change_fn = std::function<protocol::result<storage::call_change>(pqxx::connection&)>;
  // Runs `change` through `conv`'s writer, publishes what it did, and answers with the call (and
  // the TURN credentials when `with_turn`).
  void apply(const actor& a, session_ptr s, std::int64_t conv, change_fn change, bool with_turn, executor ex,
             reply_fn done);
  // The same for an op that names a call: its conversation is read first.
  void apply_to_call(const actor& a, session_ptr s, std::int64_t call, change_fn change, bool with_turn,
                     executor ex, reply_fn done);
  void publish(const storage::call_change& ch, const client_session* acting);
  void track(const storage::call_change& ch);
  struct pending_signal {
    actor a;
    std::int64_t call;
    std::string to, kind;
    boost::json::object payload;
    executor ex;
    reply_fn done;
  };
  void next_signal(const std::string& session);
  void relay(pending_signal& sig, const std::string& session,
             const protocol::result<std::vector<std::pair<std::int64_t, std::string>>>& peers);
  void sweep(periodic_job::done_fn done);
  storage::call_rules rules() const;
  storage::call_device device(const session_ptr& s) const;

  services& ctx_;
  std::shared_ptr<periodic_job> job_;
  keyed_rate_limiter signals_;
  std::mutex mu_;
  // The calls each session of this node is in (by session id): what its close drops.
  std::unordered_map<std::string, std::set<std::pair<std::int64_t, std::int64_t>>> in_call_;  // conv, call
  std::unordered_map<std::string, std::deque<pending_signal>> signal_queues_;  // by session: in order
  std::set<std::int64_t> settling_;  // calls the sweep handed to a writer, not yet settled
  int sweeps_ = 0;                   // on the sweep's strand, as sweep_failing_
  bool sweep_failing_ = false;
};

}  // namespace switchboard::server
