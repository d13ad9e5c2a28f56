// WebSocket ops on conversations: decode, call the use case (core/conversations), encode.
#include "server/api/ws/op_support.hpp"

namespace switchboard::server::ws_ops {

void op_convs(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto after = f.opt_integer("updated_after", 0, INT64_MAX);
  if (!check(s, req, f)) return;
  conversations(s->ctx()).list(
      actor_of(s), after.value_or(0), s->executor(),
      reply_with<std::vector<protocol::conv>>(s, std::move(req), [](const auto& convs) {
        json::array arr;
        for (const auto& c : convs) arr.emplace_back(protocol::to_json(c));
        return json::object{{"convs", std::move(arr)}};
      }));
}

void op_open_direct(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto other = f.id("user");
  if (!check(s, req, f)) return;
  conversations(s->ctx()).open_direct(actor_of(s), other, s->executor(),
                                      reply_with<storage::conv_change>(s, std::move(req), conv_reply));
}

void op_create_group(session_ptr s, ws_request req, const json::object& data) {
  if (auto e = s->restricted("create_group")) return s->reply(req, *e);
  protocol::fields f(data);
  auto name = f.str("name", 1, max_name_bytes);
  auto members = f.id_list("members", static_cast<std::size_t>(s->ctx().cfg.limits.max_group_members));
  if (!check(s, req, f)) return;
  conversations(s->ctx()).create_group(actor_of(s), std::move(name), std::move(members), s->executor(),
                                       reply_with<storage::conv_change>(s, std::move(req), conv_reply));
}

void op_conv_info(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  if (!check(s, req, f)) return;
  conversations(s->ctx()).get_info(actor_of(s), conv, s->executor(),
                                   reply_with<conversations::info>(s, std::move(req), [](const auto& i) {
                                     return json::object{{"conv", protocol::to_json(i.first, i.second)}};
                                   }));
}

void op_add_members(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto users = f.id_list("users", static_cast<std::size_t>(s->ctx().cfg.limits.max_group_members));
  if (!check(s, req, f)) return;
  conversations(s->ctx()).add_members(actor_of(s), conv, std::move(users), s->executor(),
                                      reply_with<storage::conv_change>(s, std::move(req), conv_reply));
}

void op_remove_members(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto users = f.id_list("users", static_cast<std::size_t>(s->ctx().cfg.limits.max_group_members));
  if (!check(s, req, f)) return;
  conversations(s->ctx()).remove_members(actor_of(s), conv, std::move(users), s->executor(),
                                         reply_with<storage::conv_change>(s, std::move(req), conv_reply));
}

void op_leave(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  if (!check(s, req, f)) return;
  conversations(s->ctx()).leave(actor_of(s), conv, s->executor(),
                                reply_empty<storage::conv_change>(s, std::move(req)));
}

void op_rename(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto name = f.str("name", 1, max_name_bytes);
  if (!check(s, req, f)) return;
  conversations(s->ctx()).rename(actor_of(s), conv, std::move(name), s->executor(),
                                 reply_with<storage::conv_change>(s, std::move(req), conv_reply));
}

}  // namespace switchboard::server::ws_ops
