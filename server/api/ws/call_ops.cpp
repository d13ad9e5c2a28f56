// WebSocket ops on calls (PROTOCOL.md "Calls"): decode, call the use case (core/calls), reply.
#include "server/api/ws/op_support.hpp"
#include "server/core/calls.hpp"

namespace switchboard::server::ws_ops {

namespace {

// The largest call_signal payload, serialized.
constexpr std::size_t max_signal_payload_bytes = 16 * 1024;

call_service::reply_fn replier(const session_ptr& s, ws_request req) {
  return [s, req = std::make_shared<ws_request>(std::move(req))](result<json::object> r) {
    s->reply(*req, std::move(r));
  };
}

// Every call op is `forbidden` while an admin restricts the user's calls.
bool allowed(const session_ptr& s, const ws_request& req) {
  if (auto e = s->restricted("call")) {
    s->reply(req, *e);
    return false;
  }
  return true;
}

using call_op = void (call_service::*)(const actor&, call_service::session_ptr, std::int64_t,
                                       call_service::executor, call_service::reply_fn);

// The ops that name one call and nothing else.
void on_call(session_ptr s, ws_request req, const json::object& data, call_op op) {
  if (!allowed(s, req)) return;
  protocol::fields f(data);
  auto call = f.id("call");
  if (!check(s, req, f)) return;
  auto ex = s->executor();
  (s->ctx().calls->*op)(actor_of(s), s, call, ex, replier(s, std::move(req)));
}

}  // namespace

void op_call_invite(session_ptr s, ws_request req, const json::object& data) {
  if (!allowed(s, req)) return;
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto media = f.str("media", 1, 16);
  auto client_call_id = f.str("client_call_id", 1, 64);
  if (f.ok() && media != "audio" && media != "video")
    f.fail(error_code::bad_request, "data.media: must be audio or video");
  if (!check(s, req, f)) return;
  auto ex = s->executor();
  s->ctx().calls->invite(actor_of(s), s, conv, std::move(media), std::move(client_call_id), ex,
                         replier(s, std::move(req)));
}

void op_call_accept(session_ptr s, ws_request req, const json::object& data) {
  on_call(std::move(s), std::move(req), data, &call_service::accept);
}
void op_call_reject(session_ptr s, ws_request req, const json::object& data) {
  on_call(std::move(s), std::move(req), data, &call_service::reject);
}
void op_call_join(session_ptr s, ws_request req, const json::object& data) {
  on_call(std::move(s), std::move(req), data, &call_service::join);
}
void op_call_hangup(session_ptr s, ws_request req, const json::object& data) {
  on_call(std::move(s), std::move(req), data, &call_service::hangup);
}

void op_call_signal(session_ptr s, ws_request req, const json::object& data) {
  if (!allowed(s, req)) return;
  protocol::fields f(data);
  auto call = f.id("call");
  auto to = f.str("to", 1, 64);
  auto kind = f.str("kind", 1, 16);
  const auto* payload = f.object("payload");
  if (f.ok() && kind != "offer" && kind != "answer" && kind != "ice" && kind != "negotiate")
    f.fail(error_code::bad_request, "data.kind: must be offer, answer, ice or negotiate");
  if (!check(s, req, f)) return;
  if (json::serialize(*payload).size() > max_signal_payload_bytes)
    return s->reply(req, error{error_code::too_large, "data.payload: over 16 KiB"});
  auto ex = s->executor();
  s->ctx().calls->signal(actor_of(s), s, call, std::move(to), std::move(kind), *payload, ex,
                         replier(s, std::move(req)));
}

void op_calls(session_ptr s, ws_request req, const json::object&) {
  if (!allowed(s, req)) return;
  auto ex = s->executor();
  s->ctx().calls->current(actor_of(s), ex, replier(s, std::move(req)));
}

void op_turn(session_ptr s, ws_request req, const json::object&) {
  if (!allowed(s, req)) return;
  s->reply(req, json::object{{"turn", s->ctx().calls->turn(s->user_id())}});
}

}  // namespace switchboard::server::ws_ops
