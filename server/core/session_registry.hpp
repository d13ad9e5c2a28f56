// user -> live sessions on this node, in 64 shards so fan-out never takes one global lock. As the
// fan-out of a single node, it delivers messages as they come: one node's writer publishes each
// conversation's messages in seq order.
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "server/core/client_session.hpp"

namespace switchboard::server {

class session_registry final : public fanout {
 public:
  // Returns true when this is the user's first live session (the user came online).
  bool add(const std::shared_ptr<client_session>& s);
  // Returns true when that was the user's last live session (the user went offline). Called from
  // the session's destructor too, when weak references to it can no longer be locked.
  bool remove(const client_session* s, std::int64_t user);
  std::vector<std::shared_ptr<client_session>> sessions_of(std::int64_t user) const;
  // Every live session of the organization on this node.
  std::vector<std::shared_ptr<client_session>> sessions_in_org(std::int64_t org) const;
  bool online(std::int64_t user) const;
  // Every live session on this node (a snapshot).
  std::vector<std::shared_ptr<client_session>> all() const;
  std::size_t size() const;

  void to_users(const std::vector<std::int64_t>& users, const frame_ptr& frame,
                const client_session* except = nullptr) override;
  void message_to_users(std::int64_t org, const std::vector<std::int64_t>& users, std::int64_t conv,
                        std::int64_t seq, const frame_ptr& frame,
                        std::shared_ptr<client_session> except) override;
  void to_org(std::int64_t org, const frame_ptr& frame) override;
  void kick(std::int64_t user, const session_match& m, const std::string& reason,
            std::uint16_t code) override;
  void to_session(std::int64_t user, const std::string& session_id, const frame_ptr& frame) override;

 private:
  struct shard {
    mutable std::mutex mu;
    std::unordered_map<std::int64_t, std::vector<std::weak_ptr<client_session>>> users;
  };
  static constexpr std::size_t shard_count = 64;
  shard& shard_for(std::int64_t user) { return shards_[static_cast<std::uint64_t>(user) % shard_count]; }
  const shard& shard_for(std::int64_t user) const {
    return shards_[static_cast<std::uint64_t>(user) % shard_count];
  }
  std::array<shard, shard_count> shards_;
};

}  // namespace switchboard::server
