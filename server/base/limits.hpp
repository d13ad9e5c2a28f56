// Abuse limits that span connections: open connections per client IP, per-key token buckets
// (sends per user, login attempts per IP), and the client address behind trusted proxies. Each
// limit that is hit is counted in metrics::limit_hits (see docs/security.md for the list).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard::server {

// Open connections per IP. acquire() gives a slot that gives itself back when destroyed; the
// slot travels with the connection (HTTP session, then WebSocket session).
class ip_connection_limiter : public std::enable_shared_from_this<ip_connection_limiter> {
 public:
  explicit ip_connection_limiter(int max_per_ip) : max_(max_per_ip) {}
  class slot {
   public:
    slot(std::shared_ptr<ip_connection_limiter> owner, std::string key)
        : owner_(std::move(owner)), key_(std::move(key)) {}
    ~slot() { owner_->release(key_); }
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;

   private:
    std::shared_ptr<ip_connection_limiter> owner_;
    std::string key_;
  };
  // nullptr when `ip` already holds max_per_ip connections.
  std::shared_ptr<slot> acquire(const boost::asio::ip::address& ip);
  int open_for(const boost::asio::ip::address& ip) const;

 private:
  void release(const std::string& key);
  const int max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> open_;
};

// One token bucket: `rate` tokens a second up to `burst`, full when made. Not thread-safe: its
// owner serializes (a session's strand, or keyed_rate_limiter's lock).
class token_bucket {
 public:
  using clock = std::chrono::steady_clock;
  token_bucket(double rate, double burst, clock::time_point now = clock::now())
      : rate_(rate), burst_(burst), tokens_(burst), at_(now) {}
  // True when a token is there (and taken, with `consume`); otherwise `retry_after_ms` says when
  // one will be.
  bool take(clock::time_point now, std::int64_t& retry_after_ms, bool consume = true);
  // Whether it would be full at `now` (a full bucket is the same as none).
  bool full_at(clock::time_point now) const;
  // Tokens taken elsewhere (another node of the cluster, for the same key): they are gone here too.
  // The bucket may go below zero, down to -burst: what others over-took is paid back before a take
  // succeeds here, so the cluster as a whole keeps to the rate.
  void debit(clock::time_point now, double n);

 private:
  void refill(clock::time_point now);
  double rate_, burst_;
  double tokens_;
  clock::time_point at_;
};

// Token buckets by key: `rate` tokens a second up to `burst`. Idle keys are forgotten (a full
// bucket is the same as no bucket), so memory follows the active keys.
class keyed_rate_limiter {
 public:
  keyed_rate_limiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  // True when a token was taken; otherwise `retry_after_ms` says when one will be there.
  bool take(const std::string& key, std::int64_t& retry_after_ms);
  // The same test without taking: for limits that charge only failures.
  bool available(const std::string& key, std::int64_t& retry_after_ms);
  // `n` tokens of `key` taken on another node (token_bucket::debit).
  void debit(const std::string& key, double n);

 private:
  bool check(const std::string& key, std::int64_t& retry_after_ms, bool consume);
  void sweep(std::chrono::steady_clock::time_point now);
  const double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, token_bucket> buckets_;
  std::chrono::steady_clock::time_point last_sweep_{};
};

// One entry of server.trusted_proxies: an address or a CIDR block ("10.0.0.0/8", "::1").
struct cidr {
  boost::asio::ip::address base;
  int prefix = 0;
  bool contains(const boost::asio::ip::address& a) const;
};
// Parses "a.b.c.d", "a.b.c.d/n", an IPv6 address or block; nullopt when malformed.
std::optional<cidr> parse_cidr(std::string_view s);

// The client's address: the TCP peer, unless the peer is a trusted proxy and the request has
// X-Forwarded-For; then the nearest address in that list (right to left) that is not itself a
// trusted proxy. A malformed entry stops the walk at the last good address.
boost::asio::ip::address client_address(const boost::asio::ip::address& peer, std::string_view forwarded_for,
                                        const std::vector<cidr>& trusted);
bool is_trusted(const boost::asio::ip::address& a, const std::vector<cidr>& trusted);

}  // namespace switchboard::server
