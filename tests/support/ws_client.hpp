// Test harness: a WebSocket client on Beast. Its own io thread reads every frame into a queue, so
// tests wait on events with a deadline and can also check that nothing arrived.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace sbtest {

using namespace std::chrono_literals;

class ws_client {
 public:
  // `offer_deflate`: offers permessage-deflate (and compresses what it sends if it is agreed).
  explicit ws_client(int port, const std::map<std::string, std::string>& headers = {},
                     int receive_buffer_bytes = 0, bool offer_deflate = false);
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  void send_text(const std::string& text);
  void send_binary(const std::string& bytes);
  // A WebSocket ping control frame (the server answers it with a pong).
  void send_ping();
  // The server's Sec-WebSocket-Extensions in its handshake answer ("" when none).
  std::string extensions() const;

  // Sends {"id":..,"op":op,"data":data} and waits for its reply; events meanwhile are kept.
  boost::json::object call(const std::string& op, const boost::json::object& data = {},
                           std::chrono::milliseconds timeout = 15s);
  // hello with the token; returns the reply.
  boost::json::object hello(const std::string& token, const std::string& device_id = "dev-1",
                            const std::string& version = "1.0.0");

  // The next event named `ev` (earlier other events stay queued), or nullopt after `timeout`.
  std::optional<boost::json::object> wait_event(const std::string& ev,
                                                std::chrono::milliseconds timeout = 10s);
  // The next frame of any kind, raw.
  std::optional<std::string> next_frame(std::chrono::milliseconds timeout);
  // Waits for the server to close; returns the close code (0 when the TCP connection just dropped).
  std::optional<int> wait_closed(std::chrono::milliseconds timeout = 10s);
  // Stops reading (and so answering pings) once the read in progress completes with a frame:
  // a client that hangs or cannot keep up.
  void pause_reading();
  // Reads again after pause_reading() (a phone app back from the background).
  void resume_reading();
  // Drops the connection without a close handshake (a device losing its network).
  void drop();
  std::size_t pending_events() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  int next_id_ = 1;
};

}  // namespace sbtest
