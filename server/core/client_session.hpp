// What the registry and fan-out know of a live client session, whatever its transport.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/types.hpp"
#include "protocol/ws_envelope.hpp"
#include "server/net/frame_queue.hpp"

namespace switchboard::server {

// An event frame ({"ev", "data"}), serialized once for every recipient.
inline frame_ptr event_frame(std::string_view name, boost::json::object data) {
  return std::make_shared<const std::string>(protocol::encode_ws_event(name, std::move(data)));
}

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
