// The WebSocket operations.
#include "server/ws_ops.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <unordered_map>

#include "protocol/fields.hpp"
#include "protocol/json_util.hpp"
#include "protocol/message_body.hpp"
#include "protocol/types.hpp"
#include "protocol/validate.hpp"
#include "server/db_call.hpp"
#include "server/message_send.hpp"
#include "server/token_cache.hpp"
#include "storage/conv_store.hpp"
#include "storage/directory_store.hpp"
#include "storage/media_store.hpp"
#include "storage/user_store.hpp"

namespace switchboard::server::ws_ops {

namespace json = boost::json;
using protocol::error;
using protocol::error_code;
using protocol::result;
using session_ptr = std::shared_ptr<ws_session>;
using storage::conv_store;

namespace {

// Spec limits.
constexpr std::size_t max_name_bytes = 200;
constexpr std::size_t max_presence_users = 500;
constexpr int sync_default_limit = 100;
constexpr int history_default_limit = 50;
constexpr int max_page_limit = 500;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

frame_ptr make_event(std::string_view name, json::object data) {
  return std::make_shared<const std::string>(
      json::serialize(json::object{{"ev", name}, {"data", std::move(data)}}));
}

json::object messages_json(const storage::message_page& p) {
  json::array arr;
  for (const auto& m : p.messages) arr.emplace_back(protocol::to_json(m));
  return {{"messages", std::move(arr)}, {"has_more", p.has_more}};
}

// Runs on the writer thread after the change committed, so these events keep seq order. The
// message is serialized once; conv_update carries each recipient's own read_seq and unread, so
// it is serialized per recipient (membership changes are rare next to messages).
void publish_change(app_context& ctx, std::int64_t conv, const storage::conv_change& ch,
                    std::string_view reason, const std::vector<std::int64_t>& also_notify) {
  ctx.members.put(conv, ch.members);
  if (ch.system_message)
    ctx.sessions.to_users(ch.members, make_event("message", protocol::to_json(*ch.system_message)));
  std::vector<std::int64_t> targets = ch.members;
  targets.insert(targets.end(), also_notify.begin(), also_notify.end());
  for (auto user : targets) {
    auto view = ch.conv;
    auto it = ch.read_seqs.find(user);
    view.read_seq = it == ch.read_seqs.end() ? 0 : it->second;
    ctx.sessions.to_users({user},
                          make_event("conv_update", {{"conv", protocol::to_json(view)}, {"reason", reason}}));
  }
}

template <class T, class Fn>
auto reply_with(session_ptr s, ws_request req, Fn to_json) {
  return [s, req = std::move(req), to_json](result<T> r) mutable {
    if (!r) return s->reply(req, r.err());
    s->reply(req, to_json(r.value()));
  };
}

// Reads data fields; replies bad_request and returns false on the first problem.
bool check(const session_ptr& s, const ws_request& req, const protocol::fields& f) {
  if (f.ok()) return true;
  s->reply(req, f.err());
  return false;
}

json::object conv_reply(const storage::conv_change& ch) {
  return {{"conv", protocol::to_json(ch.conv)}};
}

// --- ops ----------------------------------------------------------------------------------------

void op_ping(session_ptr s, ws_request req, const json::object&) {
  s->reply(req, json::object{});
}

void op_convs(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto after = f.opt_integer("updated_after", 0, INT64_MAX);
  if (!check(s, req, f)) return;
  auto org = s->org_id(), user = s->user_id();
  db_call<std::vector<protocol::conv>>(
      s->ctx(), s->executor(),
      [org, user, after](pqxx::connection& c) -> result<std::vector<protocol::conv>> {
        return conv_store::list_for_user(c, org, user, after);
      },
      reply_with<std::vector<protocol::conv>>(s, std::move(req),
                                              [](const std::vector<protocol::conv>& convs) {
                                                json::array arr;
                                                for (const auto& c : convs)
                                                  arr.emplace_back(protocol::to_json(c));
                                                return json::object{{"convs", std::move(arr)}};
                                              }));
}

void op_open_direct(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto other = f.id("user");
  if (!check(s, req, f)) return;
  auto org = s->org_id(), user = s->user_id();
  auto& ctx = s->ctx();
  db_call<storage::conv_change>(
      ctx, s->executor(),
      [org, user, other, admin = s->is_admin(), &ctx](pqxx::connection& c) -> result<storage::conv_change> {
        // Someone the directory hides from the caller does not exist for them.
        storage::viewer v{org, user, admin};
        auto policy = ctx.policies.load(c, org);
        if (!storage::directory_store::sees_everyone(v, *policy) && other != user &&
            storage::directory_store::visible_among(c, v, *policy, {other}).empty())
          return error{error_code::not_found, "user " + protocol::id_string(other) + " not found"};
        return conv_store::open_direct(c, org, user, other);
      },
      [s, req = std::move(req), &ctx](result<storage::conv_change> r) mutable {
        if (!r) return s->reply(req, r.err());
        if (r.value().changed) announce_created(ctx, r.value());
        s->reply(req, conv_reply(r.value()));
      });
}

void op_create_group(session_ptr s, ws_request req, const json::object& data) {
  if (auto e = s->restricted("create_group")) return s->reply(req, *e);
  auto& ctx = s->ctx();
  protocol::fields f(data);
  auto name = f.str("name", 1, max_name_bytes);
  auto members = f.id_list("members", static_cast<std::size_t>(ctx.cfg.limits.max_group_members));
  if (!check(s, req, f)) return;
  auto org = s->org_id(), user = s->user_id();
  int max = ctx.cfg.limits.max_group_members;
  db_call<storage::conv_change>(
      ctx, s->executor(),
      [org, user, name, members, max](pqxx::connection& c) {
        return conv_store::create_group(c, org, user, name, members, max);
      },
      [s, req = std::move(req), &ctx](result<storage::conv_change> r) mutable {
        if (!r) return s->reply(req, r.err());
        announce_created(ctx, r.value());
        s->reply(req, conv_reply(r.value()));
      });
}

void op_conv_info(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  if (!check(s, req, f)) return;
  auto org = s->org_id(), user = s->user_id();
  using info_t = std::pair<protocol::conv, std::vector<protocol::conv_member>>;
  db_call<info_t>(
      s->ctx(), s->executor(),
      [org, user, conv](pqxx::connection& c) { return conv_store::info(c, org, conv, user); },
      reply_with<info_t>(s, std::move(req), [](const info_t& i) {
        return json::object{{"conv", protocol::to_json(i.first, i.second)}};
      }));
}

// add_members, remove_members, leave and rename: ordered through the writer, published there.
template <class Change>
void membership_op(session_ptr s, ws_request req, std::int64_t conv, std::string reason, Change change) {
  auto& ctx = s->ctx();
  ordered_call<storage::conv_change>(
      ctx, conv, s->executor(),
      [&ctx, conv, reason, change](pqxx::connection& c) -> result<storage::conv_change> {
        auto r = change(c);
        if (r && r.value().changed) {
          std::vector<std::int64_t> extra;
          if (reason == "members_removed" || reason == "left") extra = r.value().affected;
          publish_change(ctx, conv, r.value(), reason, extra);
        }
        return r;
      },
      [s, req = std::move(req), reason](result<storage::conv_change> r) mutable {
        if (!r) return s->reply(req, r.err());
        s->reply(req, reason == "left" ? json::object{} : conv_reply(r.value()));
      });
}

void op_add_members(session_ptr s, ws_request req, const json::object& data) {
  int max = s->ctx().cfg.limits.max_group_members;
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto users = f.id_list("users", static_cast<std::size_t>(max));
  if (!check(s, req, f)) return;
  auto org = s->org_id(), actor = s->user_id();
  membership_op(s, std::move(req), conv, "members_added", [=](pqxx::connection& c) {
    return conv_store::add_members(c, org, conv, actor, users, max);
  });
}

void op_remove_members(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto users = f.id_list("users", static_cast<std::size_t>(s->ctx().cfg.limits.max_group_members));
  if (!check(s, req, f)) return;
  auto org = s->org_id(), actor = s->user_id();
  bool admin = s->is_admin();
  membership_op(s, std::move(req), conv, "members_removed", [=](pqxx::connection& c) {
    return conv_store::remove_members(c, org, conv, actor, admin, users);
  });
}

void op_leave(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  if (!check(s, req, f)) return;
  auto org = s->org_id(), user = s->user_id();
  membership_op(s, std::move(req), conv, "left",
                [=](pqxx::connection& c) { return conv_store::leave(c, org, conv, user); });
}

void op_rename(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto name = f.str("name", 1, max_name_bytes);
  if (!check(s, req, f)) return;
  auto org = s->org_id(), actor = s->user_id();
  membership_op(s, std::move(req), conv, "renamed",
                [=](pqxx::connection& c) { return conv_store::rename(c, org, conv, actor, name); });
}

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
  // Per user over all of the user's sessions on this node (limits.sends_per_second).
  std::int64_t retry_after = 0;
  if (!ctx.sends.take(std::to_string(s->user_id()), retry_after)) {
    ctx.stats.hit(limit::send_rate);
    return s->reply(req, error{error_code::rate_limited, "over the send rate limit", retry_after});
  }
  storage::send_request sr;
  sr.org = s->org_id();
  sr.conv = conv;
  sr.sender = s->user_id();
  sr.client_msg_id = cmid;
  sr.type = type;
  sr.body_json = std::move(checked.value().json);
  sr.ts = now_ms();
  auto shared_req = std::make_shared<ws_request>(std::move(req));
  submit_message(ctx, std::move(sr), checked.value().media, checked.value().kind, s, s->executor(),
                 [s, shared_req](result<send_ack> r) {
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
  auto org = s->org_id(), user = s->user_id();
  db_call<storage::message_page>(
      s->ctx(), s->executor(),
      [=](pqxx::connection& c) { return conv_store::sync(c, org, conv, user, after, limit); },
      reply_with<storage::message_page>(s, std::move(req), messages_json));
}

void op_history(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto before = f.opt_integer("before_seq", 1, INT64_MAX);
  auto limit = static_cast<int>(std::min<std::int64_t>(
      f.opt_integer("limit", 1, INT64_MAX).value_or(history_default_limit), max_page_limit));
  if (!check(s, req, f)) return;
  auto org = s->org_id(), user = s->user_id();
  db_call<storage::message_page>(
      s->ctx(), s->executor(),
      [=](pqxx::connection& c) { return conv_store::history(c, org, conv, user, before, limit); },
      reply_with<storage::message_page>(s, std::move(req), messages_json));
}

void op_read(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto seq = f.integer("seq", 0, INT64_MAX);
  if (!check(s, req, f)) return;
  auto org = s->org_id(), user = s->user_id();
  auto& ctx = s->ctx();
  db_call<storage::read_outcome>(
      ctx, s->executor(), [=](pqxx::connection& c) { return conv_store::mark_read(c, org, conv, user, seq); },
      [s, req = std::move(req), &ctx, conv, user](result<storage::read_outcome> r) mutable {
        if (!r) return s->reply(req, r.err());
        if (r.value().moved) {
          auto ev = make_event("read", {{"conv", protocol::id_string(conv)},
                                        {"user", protocol::id_string(user)},
                                        {"seq", r.value().read_seq}});
          ctx.sessions.to_users({user}, ev, s.get());  // the reader's other sessions
          std::vector<std::int64_t> others;
          for (auto m : r.value().members)
            if (m != user) others.push_back(m);
          ctx.sessions.to_users(others, ev);  // the other member of a direct conversation
        }
        s->reply(req, json::object{});
      });
}

void op_typing(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  if (!check(s, req, f)) return;
  auto org = s->org_id(), user = s->user_id();
  auto& ctx = s->ctx();
  auto publish = [&ctx, conv, user](const std::vector<std::int64_t>& members) {
    std::vector<std::int64_t> others;
    for (auto m : members)
      if (m != user) others.push_back(m);
    ctx.sessions.to_users(others, make_event("typing", {{"conv", protocol::id_string(conv)},
                                                        {"user", protocol::id_string(user)}}));
  };
  // Typing is frequent: a cached member list that includes the caller answers without a query.
  if (auto cached = ctx.members.get(conv);
      cached && std::find(cached->begin(), cached->end(), user) != cached->end()) {
    publish(*cached);
    return s->reply(req, json::object{});
  }
  db_call<std::vector<std::int64_t>>(
      ctx, s->executor(),
      [=](pqxx::connection& c) { return conv_store::members_if_member(c, org, conv, user); },
      [s, req = std::move(req), &ctx, conv, publish](result<std::vector<std::int64_t>> r) mutable {
        if (!r) return s->reply(req, r.err());
        ctx.members.put(conv, r.value());
        publish(r.value());
        s->reply(req, json::object{});
      });
}

void op_recall(session_ptr s, ws_request req, const json::object& data) {
  protocol::fields f(data);
  auto conv = f.id("conv");
  auto seq = f.integer("seq", 1, INT64_MAX);
  if (!check(s, req, f)) return;
  auto org = s->org_id(), user = s->user_id();
  bool admin = s->is_admin();
  auto& ctx = s->ctx();
  db_call<std::vector<std::int64_t>>(
      ctx, s->executor(),
      [=, &ctx](pqxx::connection& c) {
        auto window_ms = static_cast<std::int64_t>(ctx.policies.load(c, org)->recall_window_s) * 1000;
        return conv_store::recall(c, org, conv, user, admin, seq, window_ms);
      },
      [s, req = std::move(req), &ctx, conv, seq, user](result<std::vector<std::int64_t>> r) mutable {
        if (!r) return s->reply(req, r.err());
        ctx.sessions.to_users(r.value(), make_event("recalled", {{"conv", protocol::id_string(conv)},
                                                                 {"seq", seq},
                                                                 {"by", protocol::id_string(user)}}));
        s->reply(req, json::object{});
      });
}

// presence and presence_sub: every id must be a user of the caller's organization.
template <class Then>
void with_org_users(session_ptr s, ws_request req, const json::object& data, Then then) {
  protocol::fields f(data);
  auto users = f.id_list("users", max_presence_users);
  if (!check(s, req, f)) return;
  auto org = s->org_id();
  // Users with a live session here are active members of the org that session belongs to (ids are
  // unique across orgs): when that covers every id, memory answers, even while PostgreSQL is down.
  // Only when the directory hides no one from the caller (the policy as this node last read it).
  storage::viewer v{org, s->user_id(), s->is_admin()};
  auto& ctx = s->ctx();
  auto cached = ctx.policies.last_known(org);
  bool all_live = (v.admin || (cached && storage::directory_store::sees_everyone(v, *cached))) &&
                  std::all_of(users.begin(), users.end(), [&](std::int64_t u) {
                    auto live = ctx.sessions.sessions_of(u);
                    return !live.empty() && live.front()->org_id() == org;
                  });
  if (all_live) return s->reply(req, then(s, users));
  db_call<std::vector<std::int64_t>>(
      ctx, s->executor(),
      [v, users, &ctx](pqxx::connection& c) -> result<std::vector<std::int64_t>> {
        auto org = v.org;
        auto policy = ctx.policies.load(c, org);
        // Users the directory hides from the caller are not_found, as users that do not exist.
        auto found = storage::directory_store::sees_everyone(v, *policy)
                         ? storage::user_store::existing_active(c, org, users)
                         : storage::directory_store::visible_among(c, v, *policy, users);
        for (auto u : users)
          if (std::find(found.begin(), found.end(), u) == found.end())
            return error{error_code::not_found, "user " + protocol::id_string(u) + " not found"};
        return users;
      },
      [s, req = std::move(req), then](result<std::vector<std::int64_t>> r) mutable {
        if (!r) return s->reply(req, r.err());
        s->reply(req, then(s, r.value()));
      });
}

void op_presence(session_ptr s, ws_request req, const json::object& data) {
  with_org_users(s, std::move(req), data, [](const session_ptr& s, const std::vector<std::int64_t>& users) {
    json::object out;
    for (auto u : users) {
      auto st = s->ctx().presence.get(u);
      json::object p{{"online", st.online}};
      p["last_seen"] = st.last_seen_ms ? json::value(*st.last_seen_ms) : json::value(nullptr);
      out[protocol::id_string(u)] = std::move(p);
    }
    return json::object{{"presence", std::move(out)}};
  });
}

void op_presence_sub(session_ptr s, ws_request req, const json::object& data) {
  with_org_users(s, std::move(req), data, [](const session_ptr& s, const std::vector<std::int64_t>& users) {
    s->ctx().presence.subscribe(s, users);
    return json::object{};
  });
}

using handler = void (*)(session_ptr, ws_request, const json::object&);
const std::unordered_map<std::string, handler>& table() {
  static const std::unordered_map<std::string, handler> t{
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
  };
  return t;
}

const std::vector<std::string> platforms{"ios", "android", "windows", "mac", "linux", "web", "bot"};

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

void hello(session_ptr s, ws_request req, const json::object& data) {
  auto* tok = data.if_contains("token");
  if (!tok || !tok->is_string() || tok->get_string().empty() || tok->get_string().size() > 512) {
    s->reply(req, error{error_code::unauthorized, "a valid token is required"});
    return s->close_with(close_code::unauthorized, "unauthorized");
  }
  protocol::fields f(data);
  auto* device = f.object("device");
  std::string device_id, version;
  if (device) {
    protocol::fields d(*device, "data.device.");
    device_id = d.str("id", 1, 128);
    auto platform = d.str("platform", 1, 16);
    version = d.str("version", 1, 32);
    if (d.ok() && std::find(platforms.begin(), platforms.end(), platform) == platforms.end())
      d.fail(error_code::bad_request,
             "data.device.platform must be one of ios, android, windows, mac, linux, web, bot");
    if (!d.ok()) f.fail(d.err().code, d.err().message);
  }
  if (!f.ok()) {
    s->reply(req, f.err());
    return s->close_with(close_code::protocol_violation, "bad hello");
  }
  std::string hash = token_hash(std::string(tok->get_string()));
  auto& ctx = s->ctx();
  auto cached = ctx.tokens.get(hash, now_ms());
  // The token, its user, and the org's policy (for min_client_version), in one storage job.
  struct hello_t {
    storage::token_info info;
    protocol::user user;
    policy_cache::policy_ptr policy;
  };
  db_call<hello_t>(
      ctx, s->executor(),
      [hash, cached, &ctx](pqxx::connection& c) -> result<hello_t> {
        hello_t out;
        if (cached) {
          auto user = storage::user_store::get(c, cached->org_id, cached->user_id);
          if (!user) return error{error_code::unauthorized, "unknown, expired or revoked token"};
          out.info = *cached;
          out.user = std::move(*user);
        } else {
          auto both = storage::user_store::resolve_token_with_user(c, hash);  // one round trip
          if (!both) return error{error_code::unauthorized, "unknown, expired or revoked token"};
          ctx.tokens.put(hash, both->first);
          out.info = std::move(both->first);
          out.user = std::move(both->second);
        }
        out.policy = ctx.policies.load(c, out.info.org_id);
        return out;
      },
      [s, req = std::move(req), hash, device_id, version, &ctx](result<hello_t> r) mutable {
        if (r) {
          ctx.tokens.put_user(hash, r.value().user);
        } else if (r.err().code == error_code::unavailable) {
          // PostgreSQL is down: a token verified here within token_cache::max_age still opens a
          // session, with the user as that hello read it (live connections keep working too).
          if (auto remembered = ctx.tokens.get_with_user(hash, now_ms()))
            r = hello_t{remembered->first, remembered->second, ctx.policies.get(remembered->first.org_id)};
        }
        if (!r) {
          s->reply(req, r.err());
          if (r.err().code == error_code::unauthorized)
            return s->close_with(close_code::unauthorized, "unauthorized");
          return s->close_with(close_code::going_away, "try again");  // database unavailable
        }
        const auto& h = r.value();
        if (h.user.status != "active") {
          s->reply(req, error{error_code::forbidden, "account " + h.user.status});
          return s->close_with(close_code::suspended, "account " + h.user.status);
        }
        if (h.policy && h.policy->min_client_version &&
            protocol::version_below(version, *h.policy->min_client_version)) {
          s->reply(req, error{error_code::upgrade_required, "this organization requires client version " +
                                                                *h.policy->min_client_version + " or later"});
          return s->close_with(close_code::too_old, "client too old");
        }
        s->on_authenticated(h.user, hash, device_id, version);
        s->reply(req, json::object{{"user", protocol::to_json(h.user)},
                                   {"session_id", s->session_id()},
                                   {"heartbeat_s", s->ctx().cfg.server.heartbeat_s},
                                   {"server_time", now_ms()}});
      });
}

}  // namespace switchboard::server::ws_ops
