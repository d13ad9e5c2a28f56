// WebSocket ops on messages: send, sync, history, read, typing, recall.
#include "protocol/message_body.hpp"
#include "server/api/ws/op_support.hpp"
#include "server/core/message_send.hpp"

namespace switchboard::server::ws_ops {

void op_send(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto cmid = f.str("client_msg_id", 1, 64);
  auto type = f.str("type", 1, 16);
  auto* body = f.object("body");
  if (!check(s, req, f)) return;
  auto checked = protocol::check_message_body(type, *body);
  if (!checked) return s->reply(req, checked.err());
  if (auto e = s->restricted("send")) return s->reply(req, *e);

  auto& ctx = s->ctx();
  // Per user over all of the user's sessions, on every node (limits.sends_per_second).
  std::int64_t retry_after = 0;
  auto key = std::to_string(s->user_id());
  if (!ctx.sends.take(key, retry_after)) {
    ctx.stats.hit(limit::send_rate);
    return s->reply(req, error{error_code::rate_limited, "over the send rate limit", retry_after});
  }
  ctx.cluster.took(shared_limit::sends, key);
  auto shared_req = std::make_shared<ws_request>(std::move(req));
  submit_message(
      ctx, {s->org_id(), conv, s->user_id(), std::move(cmid), std::move(type), std::move(checked.value())}, s,
      s->executor(), [s, shared_req](result<send_ack> r) {
        if (!r) return s->reply(*shared_req, r.err());
        const auto& a = r.value();
        json::object ack{{"msg_id", protocol::id_string(a.msg_id)}, {"seq", a.seq}, {"ts", a.ts}};
        if (a.duplicate) ack["duplicate"] = true;
        s->reply(*shared_req, std::move(ack));
      });
}

void op_sync(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto after = f.integer("after_seq", 0, INT64_MAX);
  auto limit = static_cast<int>(std::min<std::int64_t>(
      f.opt_integer("limit", 1, INT64_MAX).value_or(sync_default_limit), max_page_limit));
  if (!check(s, req, f)) return;
  conversations(s->ctx()).sync(actor_of(s), conv, after, limit, s->executor(),
                               reply_with<storage::message_page>(s, std::move(req), messages_json));
}

void op_history(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto before = f.opt_integer("before_seq", 1, INT64_MAX);
  auto limit = static_cast<int>(std::min<std::int64_t>(
      f.opt_integer("limit", 1, INT64_MAX).value_or(history_default_limit), max_page_limit));
  if (!check(s, req, f)) return;
  conversations(s->ctx()).history(actor_of(s), conv, before, limit, s->executor(),
                                  reply_with<storage::message_page>(s, std::move(req), messages_json));
}

void op_read(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto seq = f.integer("seq", 0, INT64_MAX);
  if (!check(s, req, f)) return;
  conversations(s->ctx()).mark_read(actor_of(s), conv, seq, {s->executor(), s.get()},
                                    reply_empty<bool>(s, std::move(req)));
}

void op_typing(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  if (!check(s, req, f)) return;
  conversations(s->ctx()).typing(actor_of(s), conv, s->executor(), reply_empty<bool>(s, std::move(req)));
}

void op_recall(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto seq = f.integer("seq", 1, INT64_MAX);
  if (!check(s, req, f)) return;
  conversations(s->ctx()).recall(actor_of(s), conv, seq, s->executor(), reply_empty<bool>(s, std::move(req)));
}

}  // namespace switchboard::server::ws_ops
