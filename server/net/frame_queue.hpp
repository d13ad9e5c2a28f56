// A serialized frame shared by every recipient, and a session's queue of them.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace switchboard::server {

// One serialized frame; fan-out serializes once and every recipient queues the same pointer.
using frame_ptr = std::shared_ptr<const std::string>;

// A session's outbound frames, oldest first. A vector with a moving head rather than a
// std::deque: an empty deque still holds a 512-byte block, and most sessions are idle; this
// holds nothing until a frame is queued and gives its memory back once drained.
class frame_queue {
 public:
  bool empty() const { return head_ == v_.size(); }
  std::size_t size() const { return v_.size() - head_; }
  const frame_ptr& front() const { return v_[head_]; }
  const frame_ptr& operator[](std::size_t i) const { return v_[head_ + i]; }
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

}  // namespace switchboard::server
