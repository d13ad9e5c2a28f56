// Per (user, conversation) ordering of message events from several nodes.
#include "server/cluster/conv_sequencer.hpp"

#include <algorithm>

namespace switchboard::server::cluster {

conv_sequencer::state& conv_sequencer::at(std::int64_t user, std::int64_t conv) {
  auto& st = users_[user][conv];
  if (st.line == 0) st.line = next_line_++;
  return st;
}

conv_sequencer::state* conv_sequencer::find(std::int64_t user, std::int64_t conv) {
  auto u = users_.find(user);
  if (u == users_.end()) return nullptr;
  auto c = u->second.find(conv);
  return c == u->second.end() ? nullptr : &c->second;
}

void conv_sequencer::drain(state& st, step& out) {
  while (!st.held.empty() && st.held.begin()->first <= st.last + 1) {
    auto node = st.held.extract(st.held.begin());
    if (node.key() == st.last + 1) {
      st.last = node.key();
      out.deliver.push_back(std::move(node.mapped()));
    }  // else: at or below last, a duplicate
  }
}

conv_sequencer::step conv_sequencer::offer(std::int64_t user, std::int64_t conv, sequenced m) {
  step out;
  auto& st = at(user, conv);
  out.line = st.line;
  if (!st.known && !st.filling) {
    if (m.seq == 1) {
      st.known = true;  // nothing comes before seq 1
    } else {
      st.filling = true;  // read what came before it
      st.fill_before = m.seq;
      out.fill = std::make_pair(std::int64_t{0}, m.seq);
      out.first_sight = true;
      st.held.emplace(m.seq, std::move(m));
      return out;
    }
  }
  if (st.known && m.seq <= st.last) return out;  // a duplicate
  if (st.known && m.seq == st.last + 1 && !st.filling) {
    st.last = m.seq;
    out.deliver.push_back(std::move(m));
    drain(st, out);
    if (st.held.empty()) st.timer = false;  // an armed timer finds nothing to do
    return out;
  }
  st.held.emplace(m.seq, std::move(m));
  if (st.filling) return out;
  if (st.held.size() > max_held) {
    st.filling = true;
    st.fill_before = st.held.begin()->first;
    out.fill = std::make_pair(st.last, st.fill_before);
    return out;
  }
  if (!st.timer) {
    st.timer = true;
    out.arm_timer = true;
  }
  return out;
}

conv_sequencer::step conv_sequencer::expired(std::int64_t user, std::int64_t conv) {
  step out;
  auto* found = find(user, conv);
  if (!found) return out;
  auto& st = *found;
  out.line = st.line;
  st.timer = false;
  if (st.filling || st.held.empty()) return out;
  st.filling = true;
  st.fill_before = st.held.begin()->first;
  out.fill = std::make_pair(st.last, st.fill_before);
  return out;
}

conv_sequencer::step conv_sequencer::filled(std::int64_t user, std::int64_t conv, std::uint64_t line,
                                            std::vector<sequenced> read) {
  step out;
  auto* found = find(user, conv);
  if (!found || found->line != line) return out;  // forgotten (and maybe begun anew) since
  auto& st = *found;
  out.line = st.line;
  st.filling = false;
  // Everything before fill_before that the database has is here now (read, or held); a seq it does
  // not have (deleted meanwhile, or older than the session on a first sight) will not come.
  for (auto& m : read)
    if (m.seq > st.last && m.seq < st.fill_before) st.held.emplace(m.seq, std::move(m));  // a held copy wins
  while (!st.held.empty() && st.held.begin()->first < st.fill_before) {
    auto node = st.held.extract(st.held.begin());
    if (node.key() <= st.last) continue;
    st.last = node.key();
    out.deliver.push_back(std::move(node.mapped()));
  }
  st.last = std::max(st.last, st.fill_before - 1);
  st.known = true;
  // Past it, the usual rule: what follows in line goes, a later gap waits for its own timer.
  drain(st, out);
  if (!st.held.empty() && !st.timer) {
    st.timer = true;
    out.arm_timer = true;
  }
  return out;
}

void conv_sequencer::forget_user(std::int64_t user) {
  users_.erase(user);
}

std::size_t conv_sequencer::keys() const {
  std::size_t n = 0;
  for (const auto& [u, convs] : users_) n += convs.size();
  return n;
}

}  // namespace switchboard::server::cluster
