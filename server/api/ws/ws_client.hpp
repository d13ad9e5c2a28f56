// One client over WebSocket: what its frames mean. Reads each request's envelope, holds the
// account once `hello` succeeded (user, role, restrictions, device), limits its request rate,
// hands each op to ws_ops and writes the reply. It is the client_session the registry and the
// fan-out know; its connection (server/net/ws_connection) carries the frames.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/errors.hpp"
#include "server/base/limits.hpp"
#include "server/core/client_session.hpp"
#include "server/core/services.hpp"
#include "server/net/ws_connection.hpp"

namespace switchboard::server {

// One request in flight: what the reply needs.
struct ws_request {
  boost::json::value id;  // echoed as given (string, or null when unreadable)
  std::string op;
  std::chrono::steady_clock::time_point started;
};

class ws_client : public client_session,
                  public ws_connection::handler,
                  public std::enable_shared_from_this<ws_client> {
 public:
  ws_client(services& ctx, const std::shared_ptr<ws_connection>& conn);
  ~ws_client() override;
  // ws_connection::handler (on the strand). on_open starts the hello deadline.
  void on_open() override;
  void on_text(std::string_view text) override;
  void on_closing() override;

  // client_session (any thread)
  void deliver(frame_ptr frame) override;
  void kick(const std::string& reason, std::uint16_t code) override;
  void account_changed(const protocol::user& u) override;
  void enforce_min_version(const std::string& min) override;
  std::int64_t user_id() const override { return user_; }
  std::int64_t org_id() const override { return org_; }
  const std::string& token_hash() const override { return token_hash_; }
  const std::string& device_id() const override { return device_id_; }

  // For ws_ops, on the strand.
  services& ctx() { return ctx_; }
  boost::asio::any_io_executor executor() { return ex_; }
  bool is_admin() const { return protocol::is_admin(role_); }
  // `forbidden` when an admin restricted this feature (send, call, create_group) for the user.
  std::optional<protocol::error> restricted(std::string_view feature) const;
  const std::string& session_id() const override { return session_id_; }
  void reply(const ws_request& req, protocol::result<boost::json::object> result);
  // Marks the session authenticated after a successful hello and registers it (unless its
  // connection is already closing).
  // Registers the session; `then` runs on the session's strand once every node counts it (the
  // hello reply goes then: a session that said hello is online everywhere).
  void on_authenticated(const protocol::user& user, std::string token_hash, std::string device_id,
                        std::string client_version, std::function<void()> then);
  void close_with(std::uint16_t code, const std::string& reason);  // after queued frames

 private:
  void send(frame_ptr frame);

  services& ctx_;
  std::weak_ptr<ws_connection> conn_;  // the connection owns this client
  boost::asio::any_io_executor ex_;    // the connection's strand
  boost::asio::steady_timer hello_timer_;
  token_bucket requests_;  // limits.requests_per_second, limits.request_burst
  int rejected_in_row_ = 0;

  bool authed_ = false;
  bool hello_pending_ = false;
  bool closed_ = false;  // the connection is closing: never registered again
  std::int64_t org_ = 0;
  std::int64_t user_ = 0;
  protocol::role role_ = protocol::role::member;
  std::vector<std::string> restricted_;
  std::optional<std::int64_t> restricted_until_ms_;
  std::string client_version_;
  std::string token_hash_;
  std::string device_id_;
  std::string session_id_;
  bool registered_ = false;
};

}  // namespace switchboard::server
