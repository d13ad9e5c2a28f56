// Per (user, conversation) ordering of message events from several nodes.
#include "server/cluster/conv_sequencer.hpp"

namespace switchboard::server::cluster {

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
  if (!st.known && m.seq == 1) st.known = true;  // nothing comes before seq 1
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
  if (st.known && st.held.size() > max_held) {
    st.filling = true;
    out.fill = std::make_pair(st.last, st.held.begin()->first);
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
  st.timer = false;
  if (st.filling || st.held.empty()) return out;
  if (!st.known) {  // the first seen: whatever came first, in order, starts the line
    st.known = true;
    st.last = st.held.begin()->first - 1;
    drain(st, out);
    if (st.held.empty()) return out;
  }
  st.filling = true;
  out.fill = std::make_pair(st.last, st.held.begin()->first);
  return out;
}

conv_sequencer::step conv_sequencer::filled(std::int64_t user, std::int64_t conv,
                                            std::vector<sequenced> read) {
  step out;
  auto* found = find(user, conv);
  if (!found) return out;
  auto& st = *found;
  st.filling = false;
  for (auto& m : read)
    if (m.seq > st.last) st.held.emplace(m.seq, std::move(m));  // a held copy wins (it carries `except`)
  // Deliver everything held in order: the gaps left are seqs the database does not have.
  for (auto& [seq, m] : st.held) {
    st.last = seq;
    out.deliver.push_back(std::move(m));
  }
  st.held.clear();
  st.known = true;
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
