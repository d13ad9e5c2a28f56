// One soak user: a client that keeps itself connected (reconnecting with backoff after any loss),
// sends text messages with known client_msg_ids into its conversations, settles every send as
// acked (with its seq) or resends it with the same client_msg_id (after `unavailable`, a rate
// limit or a lost connection: the outcome unknown), catches up with `sync` after each reconnect,
// and records every (seq → msg_id) it learns per conversation, checking that no seq ever names two
// messages. All of it runs on one worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "tools/load/load_client.hpp"

namespace switchboard::soak {

namespace asio = boost::asio;
using load::tcp;

// Counters the main thread reads while the run goes on, and the violations found.
struct soak_stats {
  std::atomic<std::uint64_t> created{0};       // distinct messages (client_msg_ids) created
  std::atomic<std::uint64_t> attempts{0};      // send requests written, first sends and resends
  std::atomic<std::uint64_t> acked{0};         // messages acked (each once)
  std::atomic<std::uint64_t> dedup_acks{0};    // resends answered duplicate: true
  std::atomic<std::uint64_t> unavailable{0};   // send replies `unavailable`
  std::atomic<std::uint64_t> rate_limited{0};  // send replies `rate_limited`
  std::atomic<std::uint64_t> unknown{0};       // sends whose connection was lost before the reply
  std::atomic<std::uint64_t> connects{0}, connect_failures{0}, losses{0};
  std::atomic<std::uint64_t> events{0}, syncs{0};
  std::atomic<std::uint64_t> gap_fills{0};  // syncs a user made because an event skipped a seq
  std::atomic<std::uint64_t> resyncs{0};    // `resync` events received (a node lost the cluster bus)
  std::atomic<std::uint64_t> violations{0};
  std::mutex mu;
  std::vector<std::string> first_violations;  // the first 50, for the report
  void violation(const std::string& what);
};

struct soak_settings {
  // The nodes: a user connects to one, and to the next after each lost connection (as a client
  // behind a load balancer lands on any node).
  std::vector<tcp::endpoint> servers;
  double rate_per_user = 2.0;  // new messages a second
  int window = 4;              // sends in flight per user
  std::string nonce;           // makes this run's client_msg_ids unique
};

class soak_user : public std::enable_shared_from_this<soak_user> {
 public:
  soak_user(load::worker& w, load::run_state& rs, soak_stats& st, const soak_settings& cfg, std::int64_t id,
            std::string token, unsigned seed);

  std::int64_t id() const { return id_; }
  void add_conv(std::int64_t conv) { convs_.push_back(conv); }
  const std::vector<std::int64_t>& convs() const { return convs_; }

  // Everything below runs on the worker's thread.
  void start();                 // connect, and keep connected until stop()
  void set_producing(bool on);  // whether new messages are created (resends go on regardless)
  void drop();                  // cut the connection (it reconnects)
  bool connected() const;
  std::size_t unsettled() const;  // created and not yet acked
  // A request on the live connection; false when not connected.
  bool call(const std::string& op, load::json::object data,
            std::function<void(bool, const load::json::value&)> cb);
  // Reads every conversation from seq 0 with `sync` into `out` (conv → seq → msg_id); `done(ok)`.
  void full_sync(std::shared_ptr<std::map<std::int64_t, std::map<std::int64_t, std::int64_t>>> out,
                 std::function<void(bool)> done);
  void stop();

  struct sent_message {
    std::int64_t conv = 0;
    std::string cmid;
    int attempts = 0;
    bool in_flight = false, acked = false;
    std::int64_t seq = 0, msg_id = 0;
    std::chrono::steady_clock::time_point retry_at{};
  };
  const std::vector<sent_message>& sent() const { return sent_; }
  // Every seq → msg_id this user learned during the run (acks, events, syncs), per conversation.
  const std::map<std::int64_t, std::map<std::int64_t, std::int64_t>>& view() const { return view_; }

 private:
  enum class state { idle, connecting, open };
  void connect();
  void schedule_reconnect();
  void tick();
  void send(std::size_t index);
  void on_send_reply(std::size_t index, bool ok, const load::json::value& v);
  void catch_up(std::int64_t conv, std::int64_t after);
  std::int64_t contiguous_top(std::int64_t conv);  // the highest seq held with none missing below
  void record(std::int64_t conv, std::int64_t seq, std::int64_t msg_id, const char* how);
  void sync_page(std::int64_t conv, std::int64_t after,
                 std::shared_ptr<std::map<std::int64_t, std::map<std::int64_t, std::int64_t>>> out,
                 std::shared_ptr<int> left, std::shared_ptr<bool> ok, std::function<void(bool)> done);

  load::worker& w_;
  load::run_state& rs_;
  soak_stats& st_;
  const soak_settings& cfg_;
  std::int64_t id_;
  std::string token_;
  std::mt19937 rng_;
  std::vector<std::int64_t> convs_;
  std::shared_ptr<load::client> c_;
  state state_ = state::idle;
  int generation_ = 0;
  std::size_t attempts_ = 0;  // connection attempts: which node the next one goes to
  std::chrono::milliseconds backoff_{100};
  asio::steady_timer tick_timer_, reconnect_timer_;
  bool producing_ = false, stopped_ = false;
  int in_flight_ = 0;
  std::uint64_t next_msg_ = 0;
  double credit_ = 0;
  std::vector<sent_message> sent_;
  std::size_t settled_prefix_ = 0;  // sent_[0, settled_prefix_) are all acked
  std::map<std::int64_t, std::map<std::int64_t, std::int64_t>> view_;
  std::map<std::int64_t, std::int64_t> top_;  // contiguous_top, advanced as messages arrive
  std::set<std::int64_t> catching_up_;        // conversations with a sync in flight
};

}  // namespace switchboard::soak
