// WebSocket ops on presence: presence (a snapshot) and presence_sub (events from now on).
#include "server/api/ws/op_support.hpp"

namespace switchboard::server::ws_ops {

namespace {
// Every id must be a user of the caller's organization whom the directory shows them.
template <class Then>
void with_visible_users(session_ptr s, ws_request req, const json::object& data, Then then) {
  protocol::fields f(data);
  auto users = f.id_list("users", max_presence_users);
  if (!check(s, req, f)) return;
  check_visible_users(
      s->ctx(), actor_of(s), std::move(users), s->executor(),
      reply_with<std::vector<std::int64_t>>(
          s, std::move(req), [s, then](const std::vector<std::int64_t>& u) { return then(s, u); }));
}
}  // namespace

void op_presence(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto users = f.id_list("users", max_presence_users);
  if (!check(s, req, f)) return;
  auto shared_req = std::make_shared<ws_request>(std::move(req));
  check_visible_users(
      s->ctx(), actor_of(s), std::move(users), s->executor(),
      [s, shared_req](result<std::vector<std::int64_t>> r) {
        if (!r) return s->reply(*shared_req, r.err());
        // Over every node of a cluster (the database), else this node's memory.
        s->ctx().cluster.presence_of(r.value(), s->executor(), [s, shared_req](presence_map states) {
          json::object out;
          for (const auto& [u, st] : states) {
            json::object p{{"online", st.online}};
            p["last_seen"] = st.last_seen_ms ? json::value(*st.last_seen_ms) : json::value(nullptr);
            out[protocol::id_string(u)] = std::move(p);
          }
          s->reply(*shared_req, json::object{{"presence", std::move(out)}});
        });
      });
}

void op_presence_sub(session_ptr s, ws_request req, const json::object& data) {
  with_visible_users(s, std::move(req), data,
                     [](const session_ptr& s, const std::vector<std::int64_t>& users) {
                       s->ctx().presence.subscribe(s, users);
                       return json::object{};
                     });
}

}  // namespace switchboard::server::ws_ops
