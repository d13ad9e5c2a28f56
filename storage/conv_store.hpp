// Conversations, membership, read cursors, message reads and recall. Every query is scoped by org_id.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>
#include <pqxx/result>
#include <pqxx/transaction>

#include "protocol/errors.hpp"
#include "protocol/types.hpp"

namespace switchboard::storage {

// The outcome of a membership change: the conversation as the actor now sees it, the system
// message written for it (if any), who is affected, and every member to notify.
struct conv_change {
  protocol::conv conv;
  std::optional<protocol::message> system_message;
  std::vector<std::int64_t> affected;  // users added / removed
  std::vector<std::int64_t> members;   // members after the change
  // Each member's and each affected user's read cursor: conv_update carries every recipient's own.
  std::map<std::int64_t, std::int64_t> read_seqs;
  bool changed = true;  // false when nothing changed (e.g. adding existing members)
};

struct message_page {
  std::vector<protocol::message> messages;
  bool has_more = false;
  std::int64_t first_seq = 1;  // the conversation's: nothing below it is stored any more
};

// {"messages": [...], "has_more", "first_seq"}: the page as sync, history and the app API answer it.
boost::json::object to_json(const message_page& p);

struct read_outcome {
  std::int64_t read_seq = 0;
  bool moved = false;
  std::string kind;                   // direct | group
  std::vector<std::int64_t> members;  // for the read event of a direct conversation
};

// The columns read_message reads, in its order, from `messages` (unqualified).
inline constexpr const char* message_columns =
    "conv_id, seq, id, sender_id, client_msg_id, type, body, ts, recalled_at";
protocol::message read_message(const pqxx::row& r);

class conv_store {
 public:
  static void prepare(pqxx::connection& c);

  static std::vector<protocol::conv> list_for_user(pqxx::connection& c, std::int64_t org, std::int64_t user,
                                                   std::optional<std::int64_t> updated_after_ms);
  // The one direct conversation of a pair, created if needed (safe under concurrent calls).
  static protocol::result<conv_change> open_direct(pqxx::connection& c, std::int64_t org, std::int64_t caller,
                                                   std::int64_t other);
  // The direct conversations `caller` has already with each of `others` (other -> conversation),
  // read in one statement; the missing ones are not in the map.
  static std::map<std::int64_t, std::int64_t> find_directs(pqxx::connection& c, std::int64_t org,
                                                           std::int64_t caller,
                                                           const std::vector<std::int64_t>& others);
  static protocol::result<conv_change> create_group(pqxx::connection& c, std::int64_t org, std::int64_t owner,
                                                    const std::string& name,
                                                    std::vector<std::int64_t> members, int max_members);
  static protocol::result<std::pair<protocol::conv, std::vector<protocol::conv_member>>> info(
      pqxx::connection& c, std::int64_t org, std::int64_t conv, std::int64_t caller);
  static protocol::result<conv_change> add_members(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                                   std::int64_t actor, std::vector<std::int64_t> users,
                                                   int max_members);
  static protocol::result<conv_change> remove_members(pqxx::connection& c, std::int64_t org,
                                                      std::int64_t conv, std::int64_t actor,
                                                      bool actor_is_admin, std::vector<std::int64_t> users);
  static protocol::result<conv_change> leave(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                             std::int64_t user);
  static protocol::result<conv_change> rename(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                              std::int64_t actor, const std::string& name);
  static protocol::result<read_outcome> mark_read(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                                  std::int64_t user, std::int64_t seq);
  static protocol::result<std::vector<std::int64_t>> recall(pqxx::connection& c, std::int64_t org,
                                                            std::int64_t conv, std::int64_t actor,
                                                            bool actor_is_admin, std::int64_t seq,
                                                            std::int64_t window_ms);
  // The same inside the caller's transaction (a report's remove_message); the members to notify.
  static protocol::result<std::vector<std::int64_t>> recall_in(pqxx::work& w, std::int64_t org,
                                                               std::int64_t conv, std::int64_t actor,
                                                               bool actor_is_admin, std::int64_t seq,
                                                               std::int64_t window_ms);
  static protocol::result<message_page> sync(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                             std::int64_t user, std::int64_t after_seq, int limit);
  // A cluster node filling a gap in what reached a user's session (docs/cluster.md): the messages
  // after `after_seq` and before `before_seq` with a ts of at least `since_ms`, ascending; the
  // user must be a member (as for sync).
  static protocol::result<std::vector<protocol::message>> between(pqxx::connection& c, std::int64_t org,
                                                                  std::int64_t conv, std::int64_t user,
                                                                  std::int64_t after_seq,
                                                                  std::int64_t before_seq,
                                                                  std::int64_t since_ms);
  static protocol::result<message_page> history(pqxx::connection& c, std::int64_t org, std::int64_t conv,
                                                std::int64_t user, std::optional<std::int64_t> before_seq,
                                                int limit);
  // Appends a system message with `body` inside the caller's transaction (seq from the
  // conversation's row, which the update locks until commit). Membership changes and call ends.
  static protocol::message append_system_body(pqxx::work& w, std::int64_t org, std::int64_t conv,
                                              std::int64_t actor, boost::json::object body);
  // Current members, for fan-out; empty when the conversation does not exist.
  static std::vector<std::int64_t> members(pqxx::connection& c, std::int64_t org, std::int64_t conv);
  // Membership check for ephemeral ops (typing): not_found / forbidden / the member list.
  static protocol::result<std::vector<std::int64_t>> members_if_member(pqxx::connection& c, std::int64_t org,
                                                                       std::int64_t conv, std::int64_t user);
};

}  // namespace switchboard::storage
