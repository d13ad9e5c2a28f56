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
  // The id hello gave this session (`session_id`): call signalling is addressed to it.
  virtual const std::string& session_id() const = 0;
};

// Which of a user's sessions a kick is for.
struct session_match {
  enum class field { token_hash, device_id };
  field by = field::token_hash;
  std::string value;
  bool matches(const client_session& s) const {
    return (by == field::token_hash ? s.token_hash() : s.device_id()) == value;
  }
};

// Delivery to users wherever their sessions are. The session registry implements it for one node;
// server/cluster/ implements it for a cluster (this node's registry, and the others' over NATS).
// Every method is thread-safe and never blocks.
class fanout {
 public:
  virtual ~fanout() = default;
  // Every live session of each user, except `except` (the sending session) when given.
  virtual void to_users(const std::vector<std::int64_t>& users, const frame_ptr& frame,
                        const client_session* except = nullptr) = 0;
  // A `message` event of conversation `conv` (of organization `org`) with `seq`: like to_users,
  // and each session gets one conversation's messages in seq order, each once.
  virtual void message_to_users(std::int64_t org, const std::vector<std::int64_t>& users, std::int64_t conv,
                                std::int64_t seq, const frame_ptr& frame,
                                std::shared_ptr<client_session> except = nullptr) = 0;
  // Every live session of the organization.
  virtual void to_org(std::int64_t org, const frame_ptr& frame) = 0;
  // Sends `kicked` with `reason` to the user's sessions that `m` matches and closes them with `code`.
  virtual void kick(std::int64_t user, const session_match& m, const std::string& reason,
                    std::uint16_t code) = 0;
  // One session of the user (by its session_id), on whichever node holds it (call signalling).
  virtual void to_session(std::int64_t user, const std::string& session_id, const frame_ptr& frame) = 0;
};

}  // namespace switchboard::server
