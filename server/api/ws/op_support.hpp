// What the WebSocket ops share: replying from a use case's answer, field checks, the acting user,
// and the ops of each family (session_ops, conversation_ops, message_ops, presence_ops).
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <utility>

#include "protocol/fields.hpp"
#include "protocol/types.hpp"
#include "server/api/ws/ws_client.hpp"
#include "server/core/conversations.hpp"
#include "storage/conv_store.hpp"

namespace switchboard::server::ws_ops {

namespace json = boost::json;
using protocol::error;
using protocol::error_code;
using protocol::result;
using session_ptr = std::shared_ptr<ws_client>;
using op_fn = void (*)(session_ptr, ws_request, const json::object&);

// Spec limits.
inline constexpr std::size_t max_name_bytes = 200;
inline constexpr std::size_t max_presence_users = 500;
inline constexpr int sync_default_limit = 100;
inline constexpr int history_default_limit = 50;
inline constexpr int max_page_limit = 500;

// The session's user, as the use cases take it.
inline actor actor_of(const session_ptr& s) {
  return {s->org_id(), s->user_id(), s->is_admin()};
}

// The answer of a use case, encoded by `to_json` (or the error), replied to `req`.
template <class T, class Fn>
answer_fn<T> reply_with(session_ptr s, ws_request req, Fn to_json) {
  return [s, req = std::make_shared<ws_request>(std::move(req)), to_json](result<T> r) {
    if (!r) return s->reply(*req, r.err());
    s->reply(*req, to_json(r.value()));
  };
}
// An empty object on success.
template <class T>
answer_fn<T> reply_empty(session_ptr s, ws_request req) {
  return reply_with<T>(std::move(s), std::move(req), [](const T&) { return json::object{}; });
}

// Reads data fields; replies bad_request and returns false on the first problem.
inline bool check(const session_ptr& s, const ws_request& req, const protocol::fields& f) {
  if (f.ok()) return true;
  s->reply(req, f.err());
  return false;
}

inline json::object conv_reply(const storage::conv_change& ch) {
  return {{"conv", protocol::to_json(ch.conv)}};
}

inline json::object messages_json(const storage::message_page& p) {
  return storage::to_json(p);
}

// The ops, by family.
void op_ping(session_ptr s, ws_request req, const json::object& data);
void op_convs(session_ptr s, ws_request req, const json::object& data);
void op_open_direct(session_ptr s, ws_request req, const json::object& data);
void op_create_group(session_ptr s, ws_request req, const json::object& data);
void op_conv_info(session_ptr s, ws_request req, const json::object& data);
void op_add_members(session_ptr s, ws_request req, const json::object& data);
void op_remove_members(session_ptr s, ws_request req, const json::object& data);
void op_leave(session_ptr s, ws_request req, const json::object& data);
void op_rename(session_ptr s, ws_request req, const json::object& data);
void op_send(session_ptr s, ws_request req, const json::object& data);
void op_sync(session_ptr s, ws_request req, const json::object& data);
void op_history(session_ptr s, ws_request req, const json::object& data);
void op_read(session_ptr s, ws_request req, const json::object& data);
void op_typing(session_ptr s, ws_request req, const json::object& data);
void op_recall(session_ptr s, ws_request req, const json::object& data);
void op_presence(session_ptr s, ws_request req, const json::object& data);
void op_presence_sub(session_ptr s, ws_request req, const json::object& data);
void op_call_invite(session_ptr s, ws_request req, const json::object& data);
void op_call_accept(session_ptr s, ws_request req, const json::object& data);
void op_call_reject(session_ptr s, ws_request req, const json::object& data);
void op_call_join(session_ptr s, ws_request req, const json::object& data);
void op_call_signal(session_ptr s, ws_request req, const json::object& data);
void op_call_hangup(session_ptr s, ws_request req, const json::object& data);
void op_calls(session_ptr s, ws_request req, const json::object& data);
void op_turn(session_ptr s, ws_request req, const json::object& data);

}  // namespace switchboard::server::ws_ops
