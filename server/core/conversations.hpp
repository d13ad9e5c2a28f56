// The conversation use cases, one method each, called alike by the WebSocket ops (api/ws) and the
// HTTP routes (api/http). Each takes what the request said, already well-formed; decides
// not_found and forbidden; reads or writes through storage on a storage thread (or the
// conversation's ordered writer, for what assigns seqs); publishes the events its change makes;
// and answers `done` once, on `ex`.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/types.hpp"
#include "server/core/client_session.hpp"
#include "server/core/services.hpp"
#include "storage/conv_store.hpp"
#include "storage/directory_store.hpp"

namespace switchboard::server {

// Who acts: the caller's organization, user, and whether an admin, from their token or session.
using actor = storage::viewer;

template <class T>
using answer_fn = std::function<void(protocol::result<T>)>;

class conversations {
 public:
  using executor = boost::asio::any_io_executor;
  using info = std::pair<protocol::conv, std::vector<protocol::conv_member>>;
  // The sessions a change must not echo to (the acting session), may be null.
  struct origin {
    executor ex;
    const client_session* session = nullptr;
  };

  explicit conversations(services& ctx) : ctx_(ctx) {}

  // The caller's conversations changed after `updated_after` (ms; 0: all).
  void list(const actor& a, std::int64_t updated_after, executor ex,
            answer_fn<std::vector<protocol::conv>> done);
  // The direct conversation with `other`, made when missing (its members learn of it). A user the
  // directory hides from the caller is not_found, as one that does not exist.
  void open_direct(const actor& a, std::int64_t other, executor ex, answer_fn<storage::conv_change> done);
  // A new group with the caller as owner (its members learn of it).
  void create_group(const actor& a, std::string name, std::vector<std::int64_t> members, executor ex,
                    answer_fn<storage::conv_change> done);
  // A conversation the caller is a member of, with its members.
  void get_info(const actor& a, std::int64_t conv, executor ex, answer_fn<info> done);
  // Membership and name changes: through the conversation's writer, so their system messages and
  // conv_update events keep seq order with the messages around them.
  void add_members(const actor& a, std::int64_t conv, std::vector<std::int64_t> users, executor ex,
                   answer_fn<storage::conv_change> done);
  void remove_members(const actor& a, std::int64_t conv, std::vector<std::int64_t> users, executor ex,
                      answer_fn<storage::conv_change> done);
  void leave(const actor& a, std::int64_t conv, executor ex, answer_fn<storage::conv_change> done);
  void rename(const actor& a, std::int64_t conv, std::string name, executor ex,
              answer_fn<storage::conv_change> done);
  // Messages after `after_seq`, oldest first (catching up), or before `before_seq`, newest last.
  void sync(const actor& a, std::int64_t conv, std::int64_t after_seq, int limit, executor ex,
            answer_fn<storage::message_page> done);
  void history(const actor& a, std::int64_t conv, std::optional<std::int64_t> before_seq, int limit,
               executor ex, answer_fn<storage::message_page> done);
  // Moves the caller's read cursor to `seq`; the `read` event goes to the caller's other sessions
  // and, in a direct conversation, to the other member.
  void mark_read(const actor& a, std::int64_t conv, std::int64_t seq, origin from, answer_fn<bool> done);
  // The `typing` event to the other members (no storage write).
  void typing(const actor& a, std::int64_t conv, executor ex, answer_fn<bool> done);
  // Recalls message `seq` (the sender within the org's recall window, or an admin); every member
  // gets `recalled`.
  void recall(const actor& a, std::int64_t conv, std::int64_t seq, executor ex, answer_fn<bool> done);

 private:
  void change_membership(std::int64_t org, std::int64_t conv, std::string reason,
                         std::function<protocol::result<storage::conv_change>(pqxx::connection&)> change,
                         executor ex, answer_fn<storage::conv_change> done);
  services& ctx_;
};

// Every id in `users` names a user of the caller's organization whom the directory shows them
// (presence, presence_sub): the ids back, or not_found naming the first that is not.
void check_visible_users(services& ctx, const actor& a, std::vector<std::int64_t> users,
                         boost::asio::any_io_executor ex, answer_fn<std::vector<std::int64_t>> done);

}  // namespace switchboard::server
