// What the registry and fan-out know of a live client session, whatever its transport.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/types.hpp"

namespace switchboard::server {

using frame_ptr = std::shared_ptr<const std::string>;

// A session's outbound frames, oldest first. A vector with a moving head rather than a
// std::deque: an empty deque still holds a 512-byte block, and most sessions are idle; this
// holds nothing until a frame is queued and gives its memory back once drained.
class frame_queue {
 public:
  bool empty() const { return head_ == v_.size(); }
  std::size_t size() const { return v_.size() - head_; }
  const frame_ptr& front() const { return v_[head_]; }
  const frame_ptr& back() const { return v_.back(); }
  void push_back(frame_ptr f) { v_.push_back(std::move(f)); }
  void pop_front() {
    v_[head_++].reset();
    if (empty()) {
      release();
    } else if (head_ >= 32 && head_ * 2 >= v_.size()) {
      // Never drained (a steady stream): drop the spent prefix, amortized O(1) per frame.
      v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void pop_back() {
    v_.pop_back();
    if (empty()) release();
  }

 private:
  void release() {
    head_ = 0;
    if (v_.capacity() > 8)
      std::vector<frame_ptr>().swap(v_);
    else
      v_.clear();
  }
  std::vector<frame_ptr> v_;
  std::size_t head_ = 0;
};

class client_session {
 public:
  virtual ~client_session() = default;
  // Queues one serialized frame; thread-safe; never blocks (over the queue bound: closed 4429).
  virtual void deliver(frame_ptr frame) = 0;
  // Sends a `kicked` event, then closes with `close_code`. Thread-safe.
  virtual void kick(const std::string& reason, std::uint16_t close_code) = 0;
  // The user's account changed (role, status, restrictions): a session of a user who is no longer
  // active is kicked (`suspended` or `removed`, 4403); otherwise it takes the new role and
  // restrictions. Thread-safe.
  virtual void account_changed(const protocol::user& u) = 0;
  // Closes the session (kicked `client_too_old`, 4426) when its client version is below `min`.
  // Thread-safe.
  virtual void enforce_min_version(const std::string& min) = 0;
  virtual std::int64_t user_id() const = 0;
  virtual std::int64_t org_id() const = 0;
  virtual const std::string& token_hash() const = 0;
  virtual const std::string& device_id() const = 0;
};

// Delivery to users wherever their sessions are. The local registry implements it for this node;
// a cross-node bus (NATS) can implement it too and forward to the other nodes' registries.
class fanout {
 public:
  virtual ~fanout() = default;
  // Every live session of each user, except `except` (the sending session) when given.
  virtual void to_users(const std::vector<std::int64_t>& users, const frame_ptr& frame,
                        const client_session* except = nullptr) = 0;
  // Every live session of the organization.
  virtual void to_org(std::int64_t org, const frame_ptr& frame) = 0;
};

}  // namespace switchboard::server
