// Checks a load run's deliveries: every acked message reaches every other online member exactly
// once, per conversation in seq order, and acked seqs have no gaps. Pure bookkeeping, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace switchboard::load {

class delivery_verifier {
 public:
  // The members of a conversation whose sessions are online for the whole run; `first_seq` is
  // the seq its first message of this run gets (1 for a new conversation, last_seq + 1 for one
  // that already had messages).
  void set_members(std::int64_t conv, std::vector<std::int64_t> users, std::int64_t first_seq = 1);
  // A send was acked with this seq (duplicate acks of a resend are allowed: same seq, same id).
  void on_ack(std::int64_t conv, std::int64_t seq, std::int64_t sender);
  // A `message` event arrived at one of `user`'s sessions.
  void on_delivery(std::int64_t user, std::int64_t conv, std::int64_t seq);

  struct report {
    std::uint64_t acked = 0;
    std::uint64_t delivered = 0;
    std::uint64_t gaps = 0;             // seqs missing between acked ones of a conversation
    std::uint64_t duplicates = 0;       // the same (user, conv, seq) delivered twice
    std::uint64_t reorders = 0;         // a delivery with a seq below one already delivered to that user
    std::uint64_t missing = 0;          // acked messages some other member never received
    std::uint64_t unexpected = 0;       // deliveries of seqs nobody acked, or to non-members
    std::vector<std::string> problems;  // the first few, human-readable
    bool ok() const {
      return gaps == 0 && duplicates == 0 && reorders == 0 && missing == 0 && unexpected == 0;
    }
  };
  report finish() const;

 private:
  struct conv_state {
    std::vector<std::int64_t> members;
    std::int64_t first_seq = 1;
    std::map<std::int64_t, std::int64_t> acked;  // seq -> sender
  };
  struct user_conv {
    std::set<std::int64_t> seen;
    std::int64_t last = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t reorders = 0;
  };
  std::map<std::int64_t, conv_state> convs_;
  std::map<std::pair<std::int64_t, std::int64_t>, user_conv> deliveries_;  // (user, conv)
  std::uint64_t delivered_ = 0;
};

}  // namespace switchboard::load
