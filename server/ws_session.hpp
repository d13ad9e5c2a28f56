// One WebSocket client: hello, heartbeats, per-connection rate limit, one write in flight and a
// byte-bounded outbound queue. Requests are decoded here and handed to ws_ops.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <variant>

#include "protocol/errors.hpp"
#include "server/app_context.hpp"
#include "server/client_session.hpp"
#include "server/connection_registry.hpp"
#include "server/http_router.hpp"
#include "server/tls.hpp"

namespace switchboard::server {

// The spec's close codes.
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t protocol_violation = 4400;
inline constexpr std::uint16_t unauthorized = 4401;
inline constexpr std::uint16_t suspended = 4403;
inline constexpr std::uint16_t hello_timeout = 4408;
inline constexpr std::uint16_t too_old = 4426;
inline constexpr std::uint16_t slow_or_flood = 4429;
}  // namespace close_code

// One request in flight: what the reply needs.
struct ws_request {
  boost::json::value id;  // echoed as given (string, or null when unreadable)
  std::string op;
  std::chrono::steady_clock::time_point started;
};

class ws_session : public client_session, public closable, public std::enable_shared_from_this<ws_session> {
 public:
  // The WebSocket over plain TCP or over TLS.
  using stream = std::variant<boost::beast::websocket::stream<boost::beast::tcp_stream>,
                              boost::beast::websocket::stream<tls_stream>>;
  // `conn_slot`: the connection's place under server.max_connections_per_ip, held for its life;
  // `tls`: the TLS context the stream uses, kept alive as long as it.
  ws_session(stream&& ws, app_context& ctx, std::shared_ptr<void> conn_slot = nullptr,
             std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~ws_session() override;

  void run(http_request req);

  // client_session
  void deliver(frame_ptr frame) override;
  void kick(const std::string& reason, std::uint16_t code) override;
  void account_changed(const protocol::user& u) override;
  void enforce_min_version(const std::string& min) override;
  std::int64_t user_id() const override { return user_; }
  std::int64_t org_id() const override { return org_; }
  const std::string& token_hash() const override { return token_hash_; }
  const std::string& device_id() const override { return device_id_; }
  // closable
  void close_for_shutdown() override;

  // For ws_ops, on this session's strand.
  app_context& ctx() { return ctx_; }
  boost::asio::any_io_executor executor() { return ex_; }
  const std::string& role() const { return role_; }
  bool is_admin() const { return role_ == "admin" || role_ == "owner"; }
  // `forbidden` when an admin restricted this feature (send, call, create_group) for the user.
  std::optional<protocol::error> restricted(std::string_view feature) const;
  const std::string& session_id() const { return session_id_; }
  void reply(const ws_request& req, protocol::result<boost::json::object> result);
  // Marks the session authenticated after a successful hello.
  void on_authenticated(const protocol::user& user, std::string token_hash, std::string device_id,
                        std::string client_version);
  bool authenticated() const { return authed_; }
  void close_with(std::uint16_t code, const std::string& reason);  // after queued frames

 private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_text(std::string_view text);
  bool take_rate_token(std::int64_t& retry_after_ms);
  void send(frame_ptr frame);
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void do_close();
  void start_heartbeat();
  void on_heartbeat(boost::beast::error_code ec);
  void teardown();

  boost::beast::tcp_stream& lowest();
  std::shared_ptr<boost::asio::ssl::context> tls_;  // declared first: destroyed after ws_
  stream ws_;
  boost::asio::any_io_executor ex_;
  boost::beast::flat_buffer buffer_;
  app_context& ctx_;
  boost::asio::steady_timer hello_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer close_timer_;
  frame_queue outq_;
  std::size_t out_bytes_ = 0;
  bool writing_ = false;
  std::optional<boost::beast::websocket::close_reason> pending_close_;
  bool closing_ = false;  // close sent or being sent: nothing more goes out
  bool dead_ = false;     // read loop ended
  int unanswered_pings_ = 0;
  bool ping_in_flight_ = false;

  // Token bucket (limits.requests_per_second, limits.request_burst).
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
  int rejected_in_row_ = 0;

  bool authed_ = false;
  bool hello_pending_ = false;
  std::int64_t org_ = 0;
  std::int64_t user_ = 0;
  std::string role_;
  std::vector<std::string> restricted_;
  std::optional<std::int64_t> restricted_until_ms_;
  std::string client_version_;
  std::string token_hash_;
  std::string device_id_;
  std::string session_id_;
  bool registered_ = false;
  std::shared_ptr<void> conn_slot_;
};

}  // namespace switchboard::server
