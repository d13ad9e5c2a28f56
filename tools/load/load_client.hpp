// The load generator's moving parts: worker threads (one io_context each, with their own
// statistics so the hot path takes no lock) and a protocol client that connects from a chosen
// loopback source address, says hello, sends timestamped text messages and records acks and
// deliveries. Every client's handlers run on its worker's thread only.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tools/load/histogram.hpp"

namespace switchboard::load {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

std::int64_t now_ns();  // steady clock
// Prefix of this process's client_msg_ids: a rerun against the same users never collides.
const std::string& run_nonce();

struct ack_record {
  std::int64_t conv, seq, sender;
};
struct delivery_record {
  std::int64_t user, conv, seq;
};

// One thread running one io_context, and what the clients on it measured.
struct worker {
  worker();
  void start();
  void stop();  // lets run() return and joins
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
  json::parser parser;  // reused for every frame read on this thread

  histogram ack_us;  // send → ack, from the send's due time
  histogram e2e_us;  // send's due time → the `message` event at another member
  histogram op_us;   // other requests (mixed: typing, read, presence)
  std::vector<ack_record> acks;
  std::vector<delivery_record> deliveries;
  std::map<std::string, std::uint64_t> errors;  // error code (or transport failure) → count
  std::map<std::string, std::uint64_t> events;  // event name → count
};

// Counters the main thread watches while workers run.
struct run_state {
  std::atomic<int> opened{0}, open_failed{0}, closed_early{0};
  std::atomic<std::uint64_t> acked{0}, send_failed{0}, delivered{0};
  std::atomic<int> senders_done{0};
  std::atomic<bool> stopping{false};
};

class client : public std::enable_shared_from_this<client> {
 public:
  client(worker& w, run_state& st, std::int64_t user, std::string token, std::string device);

  // TCP connect (bound to `source` when given), WebSocket handshake, hello. `done(ok, why)`.
  void open(const tcp::endpoint& server, const std::optional<asio::ip::address>& source,
            std::function<void(bool, const std::string&)> done);
  // A request; `cb(ok, data or error object)` gets the reply.
  void call(const std::string& op, json::object data, std::function<void(bool, const json::value&)> cb);
  // A text message whose body carries `due_ns`, so a receiver can measure end-to-end latency.
  void send_text(const std::string& conv, std::int64_t due_ns, std::size_t text_bytes);
  void close();
  // Cuts the TCP connection without a WebSocket close, as a phone losing its network would.
  void drop();

  // Called after each reply to send_text, success or not (closed-loop drivers send the next one).
  std::function<void()> on_send_reply;
  // Called for every event, after the built-in bookkeeping of `message` events.
  std::function<void(const std::string& ev, const json::object& data)> on_event;
  // Called once when the connection is lost (not after close()), after pending calls failed.
  std::function<void(const std::string& why)> on_lost;

  worker& w;
  std::int64_t user;
  std::string token;
  std::string session_id;  // hello's, once open
  std::size_t in_flight() const { return pending_sends_.size(); }
  bool is_open() const { return open_; }
  bool alive() const { return open_ && !closing_; }  // hello done, not lost or closed since

 private:
  void write(std::shared_ptr<const std::string> frame);
  void do_write();
  void read();
  void on_frame(const json::object& v);
  void fail_transport(const std::string& what);

  run_state& st_;
  std::string device_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buf_;
  std::deque<std::shared_ptr<const std::string>> outq_;
  bool open_ = false, closing_ = false, trace_ = false;
  std::uint64_t next_id_ = 0;
  struct pending_send {
    std::int64_t due_ns;
    std::int64_t conv;
  };
  std::unordered_map<std::uint64_t, pending_send> pending_sends_;
  struct pending_call {
    std::int64_t started_ns;
    std::function<void(bool, const json::value&)> cb;
  };
  std::unordered_map<std::uint64_t, pending_call> pending_calls_;
};

// Reads `tokens` lines "user_id mobile token" as written by `switchboard org seed`.
struct seeded_user {
  std::int64_t id;
  std::string token;
};
std::vector<seeded_user> read_tokens_file(const std::string& path);

// Resident set size of a process in KiB, from /proc (0 when unknown).
long rss_kib(int pid);

// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the soft limit now in force.
long raise_fd_limit();

}  // namespace switchboard::load
