// The sharded session registry.
#include "server/core/session_registry.hpp"

#include <algorithm>

namespace switchboard::server {

bool session_registry::add(const std::shared_ptr<client_session>& s) {
  auto& sh = shard_for(s->user_id());
  std::lock_guard lk(sh.mu);
  auto& list = sh.users[s->user_id()];
  bool first = list.empty();
  list.push_back(s);
  return first;
}

bool session_registry::remove(const client_session* s, std::int64_t user) {
  auto& sh = shard_for(user);
  std::lock_guard lk(sh.mu);
  auto it = sh.users.find(user);
  if (it == sh.users.end()) return false;
  auto& list = it->second;
  auto before = list.size();
  // Drop this session and any that died without removing themselves.
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const std::weak_ptr<client_session>& w) {
                              auto p = w.lock();
                              return !p || p.get() == s;
                            }),
             list.end());
  if (list.size() == before) return false;
  if (list.empty()) {
    sh.users.erase(it);
    return true;
  }
  return false;
}

std::vector<std::shared_ptr<client_session>> session_registry::sessions_of(std::int64_t user) const {
  std::vector<std::shared_ptr<client_session>> out;
  const auto& sh = shard_for(user);
  std::lock_guard lk(sh.mu);
  auto it = sh.users.find(user);
  if (it == sh.users.end()) return out;
  for (const auto& w : it->second)
    if (auto p = w.lock()) out.push_back(std::move(p));
  return out;
}

bool session_registry::online(std::int64_t user) const {
  const auto& sh = shard_for(user);
  std::lock_guard lk(sh.mu);
  return sh.users.count(user) != 0;
}

std::size_t session_registry::size() const {
  std::size_t n = 0;
  for (const auto& sh : shards_) {
    std::lock_guard lk(sh.mu);
    for (const auto& [u, list] : sh.users) n += list.size();
  }
  return n;
}

void session_registry::to_users(const std::vector<std::int64_t>& users, const frame_ptr& frame,
                                const client_session* except) {
  std::vector<std::shared_ptr<client_session>> targets;
  for (auto u : users) {
    targets.clear();
    {
      auto& sh = shard_for(u);
      std::lock_guard lk(sh.mu);  // held only to copy the list
      auto it = sh.users.find(u);
      if (it == sh.users.end()) continue;
      for (const auto& w : it->second)
        if (auto p = w.lock()) targets.push_back(std::move(p));
    }
    for (auto& t : targets)
      if (t.get() != except) t->deliver(frame);
  }
}

std::vector<std::shared_ptr<client_session>> session_registry::sessions_in_org(std::int64_t org) const {
  auto out = all();
  out.erase(std::remove_if(out.begin(), out.end(), [org](const auto& s) { return s->org_id() != org; }),
            out.end());
  return out;
}

void session_registry::message_to_users(std::int64_t, const std::vector<std::int64_t>& users, std::int64_t,
                                        std::int64_t, const frame_ptr& frame,
                                        std::shared_ptr<client_session> except) {
  to_users(users, frame, except.get());
}

void session_registry::kick(std::int64_t user, const session_match& m, const std::string& reason,
                            std::uint16_t code) {
  for (auto& s : sessions_of(user))
    if (m.matches(*s)) s->kick(reason, code);
}

std::vector<std::shared_ptr<client_session>> session_registry::all() const {
  std::vector<std::shared_ptr<client_session>> out;
  for (const auto& sh : shards_) {
    std::lock_guard lk(sh.mu);
    for (const auto& [user, list] : sh.users)
      for (const auto& w : list)
        if (auto p = w.lock()) out.push_back(std::move(p));
  }
  return out;
}

void session_registry::to_session(std::int64_t user, const std::string& session_id, const frame_ptr& frame) {
  for (auto& s : sessions_of(user))
    if (s->session_id() == session_id) s->deliver(frame);
}

void session_registry::to_org(std::int64_t org, const frame_ptr& frame) {
  for (auto& t : sessions_in_org(org)) t->deliver(frame);
}

}  // namespace switchboard::server
