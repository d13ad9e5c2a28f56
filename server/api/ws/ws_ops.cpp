// The WebSocket ops by name.
#include "server/api/ws/ws_ops.hpp"

#include <unordered_map>

#include "server/api/ws/op_support.hpp"

namespace switchboard::server::ws_ops {

namespace {
const std::unordered_map<std::string, op_fn>& table() {
  static const std::unordered_map<std::string, op_fn> t{
      {"ping", op_ping},
      {"convs", op_convs},
      {"open_direct", op_open_direct},
      {"create_group", op_create_group},
      {"conv_info", op_conv_info},
      {"add_members", op_add_members},
      {"remove_members", op_remove_members},
      {"leave", op_leave},
      {"rename", op_rename},
      {"send", op_send},
      {"sync", op_sync},
      {"history", op_history},
      {"read", op_read},
      {"typing", op_typing},
      {"recall", op_recall},
      {"presence", op_presence},
      {"presence_sub", op_presence_sub},
      {"call_invite", op_call_invite},
      {"call_accept", op_call_accept},
      {"call_reject", op_call_reject},
      {"call_join", op_call_join},
      {"call_signal", op_call_signal},
      {"call_hangup", op_call_hangup},
      {"calls", op_calls},
      {"turn", op_turn},
  };
  return t;
}
}  // namespace

std::vector<std::string> op_names() {
  std::vector<std::string> out{"hello", "invalid"};
  for (const auto& [name, h] : table()) out.push_back(name);
  return out;
}

void dispatch(session_ptr s, ws_request req, const json::object& data) {
  auto it = table().find(req.op);
  if (it == table().end()) {
    auto op = req.op;
    req.op = "invalid";
    return s->reply(req, error{error_code::bad_request, "unknown op '" + op.substr(0, 64) + "'"});
  }
  it->second(std::move(s), std::move(req), data);
}

}  // namespace switchboard::server::ws_ops
