// Every open client connection, so that shutdown can close them all; holds no ownership.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace switchboard::server {

class closable {
 public:
  virtual ~closable() = default;
  // Ends the connection politely (WebSocket: close 1001). Must be safe from any thread.
  virtual void close_for_shutdown() = 0;
};

class connection_registry {
 public:
  void add(const std::shared_ptr<closable>& c) {
    std::lock_guard lk(mu_);
    items_[c.get()] = c;
  }
  void remove(const closable* c) {
    std::lock_guard lk(mu_);
    items_.erase(c);
  }
  std::size_t size() const {
    std::lock_guard lk(mu_);
    return items_.size();
  }
  // Snapshot under the lock, call outside it.
  void close_all() {
    std::vector<std::shared_ptr<closable>> live;
    {
      std::lock_guard lk(mu_);
      for (auto& [p, w] : items_)
        if (auto s = w.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->close_for_shutdown();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<const closable*, std::weak_ptr<closable>> items_;
};

}  // namespace switchboard::server
