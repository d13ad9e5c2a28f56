// What the registry and fan-out know of a live client session, whatever its transport.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace switchboard::server {

using frame_ptr = std::shared_ptr<const std::string>;

class client_session {
 public:
  virtual ~client_session() = default;
  // Queues one serialized frame; thread-safe; never blocks (over the queue bound: closed 4429).
  virtual void deliver(frame_ptr frame) = 0;
  // Sends a `kicked` event, then closes with `close_code`. Thread-safe.
  virtual void kick(const std::string& reason, std::uint16_t close_code) = 0;
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
