// Calls: their state, parties and the organization's call minutes (migration 0010). Every
// transition is one transaction that locks the call's row and checks its state, so two nodes, two
// devices or two requests acting on one call at once apply in some order and the second sees the
// first's result (the first accept wins; a call ends once and bills once). Every query is scoped by
// org_id. The rules are PROTOCOL.md's "Calls"; docs/calls.md says how they map to these rows.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/connection>

#include "protocol/errors.hpp"
#include "protocol/types.hpp"

namespace switchboard::storage {

struct call_party {
  std::int64_t user = 0;
  std::string state;  // ringing, joined, dropped, left, declined, missed
  std::optional<std::string> session;
  std::optional<std::string> node;
  std::optional<std::int64_t> joined_at;
  std::optional<std::int64_t> dropped_at;
  bool in_call() const { return state == "joined" || state == "dropped"; }
};

struct call_record {
  std::int64_t org = 0, id = 0, conv = 0;
  std::string kind;  // direct | group
  std::string media;
  std::int64_t initiator = 0;
  std::string state;  // ringing | active | ended
  std::int64_t created_at = 0, ring_until = 0;
  std::optional<std::int64_t> answered_at, ended_at;
  std::optional<std::string> end_reason;
  int reserved_minutes = 0;
  std::optional<int> billed_minutes;
  std::vector<call_party> parties;  // everyone the call rang or who joined it, any state
  const call_party* party(std::int64_t user) const;
  std::int64_t duration_ms() const;  // active time: 0 when never answered
};

// The Call object of the protocol: `parties` are those in the call (joined, or dropped and within
// their grace, with `session` null).
boost::json::object to_json(const call_record& c);
// A row of GET /v1/admin/calls.
boost::json::object to_admin_json(const call_record& c);

// What a transition did, for the events it makes (server/core/calls.cpp publishes them).
struct call_change {
  call_record call;                         // after the change
  std::vector<std::int64_t> ring;           // users who start ringing: call_incoming
  bool updated = false;                     // state or parties changed: call_update
  bool ended = false;                       // call_ended to everyone it rang or who joined
  bool setup = false;                       // the call turned active now
  bool glare = false;                       // an invite that answered the other side's ringing call
  std::optional<std::int64_t> answered_by;  // that user's other sessions stop ringing
  // Users whose own ringing (or part) ended while the call goes on, with the reason for their
  // sessions' call_ended (a group member who declined or was not answered in time).
  std::vector<std::pair<std::int64_t, std::string>> stopped;
  std::vector<std::string> released_sessions;       // sessions no longer in this call
  std::optional<protocol::message> system_message;  // written when the call ended
  std::vector<std::int64_t> members;                // the conversation's members then
  std::optional<protocol::error> refusal;           // committed, but the request is answered with this error
};

// Where the acting device is: its session id and its node (a node that dies drops its parties).
struct call_device {
  std::string session;
  std::string node;
};

struct call_rules {
  std::int64_t ring_ms = 45000;
  std::int64_t grace_ms = 20000;
  int max_parties = 8;
};

struct call_minutes_view {
  std::int64_t balance = 0, credited = 0, used = 0;
  struct package {
    std::int64_t id = 0, minutes = 0, credited_at = 0;
    std::string ref;
  };
  std::vector<package> packages;
};
boost::json::object to_json(const call_minutes_view& v);

// A call whose timer is due (or whose parties' nodes or accounts went away), for the sweep.
struct due_call {
  std::int64_t org = 0, id = 0, conv = 0;
};

class call_store {
 public:
  static constexpr std::int64_t minute_ms = 60000;

  static void prepare(pqxx::connection& c);
  // The conversation of a call of `org`; not_found for another organization's or no call.
  static protocol::result<std::int64_t> conv_of(pqxx::connection& c, std::int64_t org, std::int64_t call);
  static protocol::result<call_change> invite(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                              std::int64_t caller, const call_device& dev,
                                              const std::string& media, const std::string& client_call_id,
                                              const call_rules& rules, std::int64_t now);
  static protocol::result<call_change> accept(pqxx::connection& c, std::int64_t org, std::int64_t call,
                                              std::int64_t user, const call_device& dev,
                                              const call_rules& rules, std::int64_t now);
  static protocol::result<call_change> join(pqxx::connection& c, std::int64_t org, std::int64_t call,
                                            std::int64_t user, const call_device& dev,
                                            const call_rules& rules, std::int64_t now);
  static protocol::result<call_change> reject(pqxx::connection& c, std::int64_t org, std::int64_t call,
                                              std::int64_t user, std::int64_t now);
  static protocol::result<call_change> hangup(pqxx::connection& c, std::int64_t org, std::int64_t call,
                                              std::int64_t user, std::int64_t now);
  // The session closed: its party is dropped and may come back within the grace.
  static protocol::result<call_change> session_closed(pqxx::connection& c, std::int64_t org,
                                                      std::int64_t call, std::int64_t user,
                                                      const std::string& session, std::int64_t now);
  // Applies whatever is due on one call: ringing over, grace over, the next minute (reserved, or
  // the call ends quota_exhausted), parties whose node died or whose account may no longer call.
  // A call another node is settling (its row locked) is skipped: nullopt-like (changed false).
  static protocol::result<call_change> settle(pqxx::connection& c, std::int64_t org, std::int64_t call,
                                              const call_rules& rules, const std::string& this_node,
                                              std::int64_t now);
  // Calls with something due at `now`, at most `limit`.
  static std::vector<due_call> due(pqxx::connection& c, const call_rules& rules, const std::string& this_node,
                                   std::int64_t now, int limit);
  // Signalling: the call's joined parties (user, session), when `user` is in it on `session`;
  // not_found for a call the user's organization does not have or the user was never part of,
  // forbidden when the sender is not in the call on this session.
  static protocol::result<std::vector<std::pair<std::int64_t, std::string>>> signal_peers(
      pqxx::connection& c, std::int64_t org, std::int64_t call, std::int64_t user,
      const std::string& session);
  // The calls ringing for or joined by `user`.
  static std::vector<call_record> current_for(pqxx::connection& c, std::int64_t org, std::int64_t user);
  // Admin: call records newest first, below `before_id` (0: from the newest).
  static std::vector<call_record> list(pqxx::connection& c, std::int64_t org, std::int64_t before_id,
                                       int limit);
  static call_minutes_view minutes(pqxx::connection& c, std::int64_t org);
  // Operator: adds a package; the package id and the new balance.
  static std::pair<std::int64_t, std::int64_t> credit(pqxx::connection& c, std::int64_t org,
                                                      std::int64_t minutes, const std::string& ref,
                                                      std::int64_t now);
  // Calls ringing and active (all nodes), for the metrics.
  static std::pair<std::int64_t, std::int64_t> live_counts(pqxx::connection& c);
};

}  // namespace switchboard::storage
