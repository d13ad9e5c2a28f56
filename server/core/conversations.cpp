// The conversation use cases.
#include "server/core/conversations.hpp"

#include <algorithm>

#include "server/core/db_call.hpp"
#include "server/core/message_send.hpp"
#include "storage/user_store.hpp"

namespace switchboard::server {

using protocol::error;
using protocol::error_code;
using protocol::result;
using storage::conv_change;
using storage::conv_store;

namespace {

// Runs on the writer thread after the change committed, so these events keep seq order. The
// message is serialized once; conv_update carries each recipient's own read_seq and unread, so
// it is serialized per recipient (membership changes are rare next to messages).
void publish_change(services& ctx, std::int64_t org, std::int64_t conv, const conv_change& ch,
                    std::string_view reason, const std::vector<std::int64_t>& also_notify) {
  ctx.members.put(conv, ch.members);
  ctx.cluster.members_changed(conv);
  if (ch.system_message)
    ctx.fan.message_to_users(org, ch.members, conv, ch.system_message->seq,
                             event_frame("message", protocol::to_json(*ch.system_message)));
  std::vector<std::int64_t> targets = ch.members;
  targets.insert(targets.end(), also_notify.begin(), also_notify.end());
  for (auto user : targets) {
    auto view = ch.conv;
    auto it = ch.read_seqs.find(user);
    view.read_seq = it == ch.read_seqs.end() ? 0 : it->second;
    ctx.fan.to_users({user},
                     event_frame("conv_update", {{"conv", protocol::to_json(view)}, {"reason", reason}}));
  }
}

std::vector<std::int64_t> without(const std::vector<std::int64_t>& members, std::int64_t user) {
  std::vector<std::int64_t> out;
  for (auto m : members)
    if (m != user) out.push_back(m);
  return out;
}

}  // namespace

void conversations::list(const actor& a, std::int64_t updated_after, executor ex,
                         answer_fn<std::vector<protocol::conv>> done) {
  db_call<std::vector<protocol::conv>>(
      ctx_, ex,
      [a, updated_after](pqxx::connection& c) -> result<std::vector<protocol::conv>> {
        return conv_store::list_for_user(c, a.org, a.user, updated_after);
      },
      std::move(done));
}

void conversations::open_direct(const actor& a, std::int64_t other, executor ex,
                                answer_fn<conv_change> done) {
  auto& ctx = ctx_;
  db_call<conv_change>(
      ctx, ex,
      [a, other, &ctx](pqxx::connection& c) -> result<conv_change> {
        auto policy = ctx.policies.load(c, a.org);
        if (!storage::directory_store::sees_everyone(a, *policy) && other != a.user &&
            storage::directory_store::visible_among(c, a, *policy, {other}).empty())
          return error{error_code::not_found, "user " + protocol::id_string(other) + " not found"};
        return conv_store::open_direct(c, a.org, a.user, other);
      },
      [&ctx, done = std::move(done)](result<conv_change> r) {
        if (r && r.value().changed) announce_created(ctx, r.value());
        done(std::move(r));
      });
}

void conversations::create_group(const actor& a, std::string name, std::vector<std::int64_t> members,
                                 executor ex, answer_fn<conv_change> done) {
  auto& ctx = ctx_;
  int max = ctx.cfg.limits.max_group_members;
  db_call<conv_change>(
      ctx, ex,
      [a, name = std::move(name), members = std::move(members), max](pqxx::connection& c) {
        return conv_store::create_group(c, a.org, a.user, name, members, max);
      },
      [&ctx, done = std::move(done)](result<conv_change> r) {
        if (r) announce_created(ctx, r.value());
        done(std::move(r));
      });
}

void conversations::get_info(const actor& a, std::int64_t conv, executor ex, answer_fn<info> done) {
  db_call<info>(
      ctx_, ex, [a, conv](pqxx::connection& c) { return conv_store::info(c, a.org, conv, a.user); },
      std::move(done));
}

void conversations::change_membership(std::int64_t org, std::int64_t conv, std::string reason,
                                      std::function<result<conv_change>(pqxx::connection&)> change,
                                      executor ex, answer_fn<conv_change> done) {
  auto& ctx = ctx_;
  ordered_call<conv_change>(
      ctx, conv, ex, std::move(change),
      [&ctx, org, conv, reason = std::move(reason)](const conv_change& ch) {
        if (!ch.changed) return;
        // Those removed (or leaving) learn of it too.
        std::vector<std::int64_t> extra;
        if (reason == "members_removed" || reason == "left") extra = ch.affected;
        publish_change(ctx, org, conv, ch, reason, extra);
      },
      std::move(done));
}

void conversations::add_members(const actor& a, std::int64_t conv, std::vector<std::int64_t> users,
                                executor ex, answer_fn<conv_change> done) {
  int max = ctx_.cfg.limits.max_group_members;
  change_membership(
      a.org, conv, "members_added",
      [a, conv, users = std::move(users), max](pqxx::connection& c) {
        return conv_store::add_members(c, a.org, conv, a.user, users, max);
      },
      ex, std::move(done));
}

void conversations::remove_members(const actor& a, std::int64_t conv, std::vector<std::int64_t> users,
                                   executor ex, answer_fn<conv_change> done) {
  change_membership(
      a.org, conv, "members_removed",
      [a, conv, users = std::move(users)](pqxx::connection& c) {
        return conv_store::remove_members(c, a.org, conv, a.user, a.admin, users);
      },
      ex, std::move(done));
}

void conversations::leave(const actor& a, std::int64_t conv, executor ex, answer_fn<conv_change> done) {
  change_membership(
      a.org, conv, "left",
      [a, conv](pqxx::connection& c) { return conv_store::leave(c, a.org, conv, a.user); }, ex,
      std::move(done));
}

void conversations::rename(const actor& a, std::int64_t conv, std::string name, executor ex,
                           answer_fn<conv_change> done) {
  change_membership(
      a.org, conv, "renamed",
      [a, conv, name = std::move(name)](pqxx::connection& c) {
        return conv_store::rename(c, a.org, conv, a.user, name);
      },
      ex, std::move(done));
}

void conversations::sync(const actor& a, std::int64_t conv, std::int64_t after_seq, int limit, executor ex,
                         answer_fn<storage::message_page> done) {
  db_call<storage::message_page>(
      ctx_, ex,
      [a, conv, after_seq, limit](pqxx::connection& c) {
        return conv_store::sync(c, a.org, conv, a.user, after_seq, limit);
      },
      std::move(done));
}

void conversations::history(const actor& a, std::int64_t conv, std::optional<std::int64_t> before_seq,
                            int limit, executor ex, answer_fn<storage::message_page> done) {
  db_call<storage::message_page>(
      ctx_, ex,
      [a, conv, before_seq, limit](pqxx::connection& c) {
        return conv_store::history(c, a.org, conv, a.user, before_seq, limit);
      },
      std::move(done));
}

void conversations::mark_read(const actor& a, std::int64_t conv, std::int64_t seq, origin from,
                              answer_fn<bool> done) {
  auto& ctx = ctx_;
  db_call<storage::read_outcome>(
      ctx, from.ex,
      [a, conv, seq](pqxx::connection& c) { return conv_store::mark_read(c, a.org, conv, a.user, seq); },
      [&ctx, a, conv, session = from.session, done = std::move(done)](result<storage::read_outcome> r) {
        if (!r) return done(r.err());
        if (r.value().moved) {
          auto ev = event_frame("read", {{"conv", protocol::id_string(conv)},
                                         {"user", protocol::id_string(a.user)},
                                         {"seq", r.value().read_seq}});
          ctx.fan.to_users({a.user}, ev, session);                   // the reader's other sessions
          ctx.fan.to_users(without(r.value().members, a.user), ev);  // a direct conversation's other
        }
        done(true);
      });
}

void conversations::typing(const actor& a, std::int64_t conv, executor ex, answer_fn<bool> done) {
  auto& ctx = ctx_;
  auto publish = [&ctx, conv, user = a.user](const std::vector<std::int64_t>& members) {
    ctx.fan.to_users(without(members, user), event_frame("typing", {{"conv", protocol::id_string(conv)},
                                                                    {"user", protocol::id_string(user)}}));
  };
  // Typing is frequent: a cached member list that includes the caller answers without a query.
  if (auto cached = ctx.members.get(conv);
      cached && std::find(cached->begin(), cached->end(), a.user) != cached->end()) {
    publish(*cached);
    return done(true);
  }
  db_call<std::vector<std::int64_t>>(
      ctx, ex,
      [a, conv](pqxx::connection& c) { return conv_store::members_if_member(c, a.org, conv, a.user); },
      [&ctx, conv, publish, done = std::move(done)](result<std::vector<std::int64_t>> r) {
        if (!r) return done(r.err());
        ctx.members.put(conv, r.value());
        publish(r.value());
        done(true);
      });
}

void conversations::recall(const actor& a, std::int64_t conv, std::int64_t seq, executor ex,
                           answer_fn<bool> done) {
  auto& ctx = ctx_;
  db_call<std::vector<std::int64_t>>(
      ctx, ex,
      [a, conv, seq, &ctx](pqxx::connection& c) {
        auto window_ms = static_cast<std::int64_t>(ctx.policies.load(c, a.org)->recall_window_s) * 1000;
        return conv_store::recall(c, a.org, conv, a.user, a.admin, seq, window_ms);
      },
      [&ctx, a, conv, seq, done = std::move(done)](result<std::vector<std::int64_t>> r) {
        if (!r) return done(r.err());
        ctx.fan.to_users(r.value(), event_frame("recalled", {{"conv", protocol::id_string(conv)},
                                                             {"seq", seq},
                                                             {"by", protocol::id_string(a.user)}}));
        done(true);
      });
}

void check_visible_users(services& ctx, const actor& a, std::vector<std::int64_t> users,
                         boost::asio::any_io_executor ex, answer_fn<std::vector<std::int64_t>> done) {
  // Users with a live session here are active members of the org that session belongs to (ids are
  // unique across orgs): when that covers every id, memory answers, even while PostgreSQL is down.
  // Only when the directory hides no one from the caller (the policy as this node last read it).
  auto cached = ctx.policies.last_known(a.org);
  bool all_live = (a.admin || (cached && storage::directory_store::sees_everyone(a, *cached))) &&
                  std::all_of(users.begin(), users.end(), [&](std::int64_t u) {
                    auto live = ctx.sessions.sessions_of(u);
                    return !live.empty() && live.front()->org_id() == a.org;
                  });
  if (all_live) return done(std::move(users));
  db_call<std::vector<std::int64_t>>(
      ctx, ex,
      [a, users = std::move(users), &ctx](pqxx::connection& c) -> result<std::vector<std::int64_t>> {
        auto policy = ctx.policies.load(c, a.org);
        // Users the directory hides from the caller are not_found, as users that do not exist.
        auto found = storage::directory_store::sees_everyone(a, *policy)
                         ? storage::user_store::existing_active(c, a.org, users)
                         : storage::directory_store::visible_among(c, a, *policy, users);
        for (auto u : users)
          if (std::find(found.begin(), found.end(), u) == found.end())
            return error{error_code::not_found, "user " + protocol::id_string(u) + " not found"};
        return users;
      },
      std::move(done));
}

}  // namespace switchboard::server
