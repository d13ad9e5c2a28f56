// Delivery verification for load runs.
#include "tools/load/delivery_verifier.hpp"

#include <algorithm>

namespace switchboard::load {

namespace {
constexpr std::size_t max_problems = 20;
void note(delivery_verifier::report& r, std::string s) {
  if (r.problems.size() < max_problems) r.problems.push_back(std::move(s));
}
}  // namespace

void delivery_verifier::set_members(std::int64_t conv, std::vector<std::int64_t> users,
                                    std::int64_t first_seq) {
  convs_[conv].members = std::move(users);
  convs_[conv].first_seq = first_seq;
}

void delivery_verifier::on_ack(std::int64_t conv, std::int64_t seq, std::int64_t sender) {
  convs_[conv].acked[seq] = sender;
}

void delivery_verifier::on_delivery(std::int64_t user, std::int64_t conv, std::int64_t seq) {
  ++delivered_;
  auto& d = deliveries_[{user, conv}];
  if (!d.seen.insert(seq).second) {
    ++d.duplicates;
    return;
  }
  if (seq < d.last) ++d.reorders;
  d.last = std::max(d.last, seq);
}

delivery_verifier::report delivery_verifier::finish() const {
  report r;
  r.delivered = delivered_;
  for (const auto& [conv, st] : convs_) {
    r.acked += st.acked.size();
    // Seqs start at first_seq and have no gaps up to the highest acked.
    if (!st.acked.empty()) {
      std::int64_t expect = st.first_seq;
      for (const auto& [seq, sender] : st.acked) {
        if (seq < expect) {
          ++r.gaps;
          note(r, "conv " + std::to_string(conv) + ": seq " + std::to_string(seq) +
                      " acked, below the first seq of this run (" + std::to_string(st.first_seq) + ")");
        } else if (seq != expect) {
          r.gaps += static_cast<std::uint64_t>(seq - expect);
          note(r, "conv " + std::to_string(conv) + ": seqs " + std::to_string(expect) + ".." +
                      std::to_string(seq - 1) + " never acked");
        }
        expect = std::max(expect, seq + 1);
      }
    }
    for (auto user : st.members) {
      auto it = deliveries_.find({user, conv});
      for (const auto& [seq, sender] : st.acked) {
        if (sender == user) continue;  // a sender's own session gets the ack, not an event
        if (it == deliveries_.end() || !it->second.seen.count(seq)) {
          ++r.missing;
          note(r, "conv " + std::to_string(conv) + " seq " + std::to_string(seq) + " never reached user " +
                      std::to_string(user));
        }
      }
    }
  }
  for (const auto& [key, d] : deliveries_) {
    auto [user, conv] = key;
    r.duplicates += d.duplicates;
    r.reorders += d.reorders;
    if (d.duplicates)
      note(r, "user " + std::to_string(user) + " got duplicates in conv " + std::to_string(conv));
    if (d.reorders)
      note(r, "user " + std::to_string(user) + " got conv " + std::to_string(conv) + " out of order");
    auto c = convs_.find(conv);
    bool member = c != convs_.end() && std::find(c->second.members.begin(), c->second.members.end(), user) !=
                                           c->second.members.end();
    for (auto seq : d.seen) {
      if (!member || c->second.acked.count(seq) == 0) {
        ++r.unexpected;
        note(r, "user " + std::to_string(user) + " got conv " + std::to_string(conv) + " seq " +
                    std::to_string(seq) + " that nobody acked (or is not a member)");
      }
    }
  }
  return r;
}

}  // namespace switchboard::load
