// Cross-connection abuse limits; see limits.hpp.
#include "server/base/limits.hpp"

#include <algorithm>
#include <cmath>

namespace switchboard::server {

namespace {
// IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address: one client, one key.
boost::asio::ip::address normalize(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  return a;
}
}  // namespace

std::shared_ptr<ip_connection_limiter::slot> ip_connection_limiter::acquire(
    const boost::asio::ip::address& ip) {
  auto key = normalize(ip).to_string();
  {
    std::lock_guard lk(mu_);
    auto& n = open_[key];  // max_ >= 1 (config), so a key just inserted at 0 is always taken
    if (n >= max_) return nullptr;
    ++n;
  }
  return std::make_shared<slot>(shared_from_this(), std::move(key));
}

int ip_connection_limiter::open_for(const boost::asio::ip::address& ip) const {
  std::lock_guard lk(mu_);
  auto it = open_.find(normalize(ip).to_string());
  return it == open_.end() ? 0 : it->second;
}

void ip_connection_limiter::release(const std::string& key) {
  std::lock_guard lk(mu_);
  auto it = open_.find(key);
  if (it != open_.end() && --it->second <= 0) open_.erase(it);
}

bool keyed_rate_limiter::take(const std::string& key, std::int64_t& retry_after_ms) {
  return check(key, retry_after_ms, true);
}

bool keyed_rate_limiter::available(const std::string& key, std::int64_t& retry_after_ms) {
  return check(key, retry_after_ms, false);
}

bool keyed_rate_limiter::check(const std::string& key, std::int64_t& retry_after_ms, bool consume) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(mu_);
  sweep(now);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (!consume) return true;  // no bucket is a full bucket
    it = buckets_.emplace(key, token_bucket(rate_, burst_, now)).first;
  }
  return it->second.take(now, retry_after_ms, consume);
}

void keyed_rate_limiter::debit(const std::string& key, double n) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lk(mu_);
  sweep(now);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) it = buckets_.emplace(key, token_bucket(rate_, burst_, now)).first;
  it->second.debit(now, n);
}

void keyed_rate_limiter::sweep(std::chrono::steady_clock::time_point now) {
  // Once a minute at most: drop buckets that have refilled completely.
  if (now - last_sweep_ < std::chrono::minutes(1)) return;
  last_sweep_ = now;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (it->second.full_at(now))
      it = buckets_.erase(it);
    else
      ++it;
  }
}

void token_bucket::refill(clock::time_point now) {
  double elapsed = std::chrono::duration<double>(now - at_).count();
  if (elapsed > 0) tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  at_ = now;
}

bool token_bucket::take(clock::time_point now, std::int64_t& retry_after_ms, bool consume) {
  refill(now);
  if (tokens_ >= 1.0) {
    if (consume) tokens_ -= 1.0;
    return true;
  }
  retry_after_ms = static_cast<std::int64_t>(std::ceil((1.0 - tokens_) / rate_ * 1000.0));
  return false;
}

void token_bucket::debit(clock::time_point now, double n) {
  refill(now);
  tokens_ = std::max(-burst_, tokens_ - n);
}

bool token_bucket::full_at(clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - at_).count();
  return tokens_ + elapsed * rate_ >= burst_;
}

bool cidr::contains(const boost::asio::ip::address& raw) const {
  auto a = normalize(raw);
  if (a.is_v4() != base.is_v4()) return false;
  auto match = [&](const auto& x, const auto& y) {
    int bits = prefix;
    for (std::size_t i = 0; i < x.size() && bits > 0; ++i, bits -= 8) {
      unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
      if ((x[i] & mask) != (y[i] & mask)) return false;
    }
    return true;
  };
  if (a.is_v4()) return match(a.to_v4().to_bytes(), base.to_v4().to_bytes());
  return match(a.to_v6().to_bytes(), base.to_v6().to_bytes());
}

std::optional<cidr> parse_cidr(std::string_view s) {
  auto slash = s.find('/');
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(s.substr(0, slash)), ec);
  if (ec) return std::nullopt;
  a = normalize(a);
  int max_bits = a.is_v4() ? 32 : 128;
  int prefix = max_bits;
  if (slash != std::string_view::npos) {
    auto p = s.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    prefix = std::stoi(std::string(p));
    if (prefix > max_bits) return std::nullopt;
  }
  return cidr{a, prefix};
}

bool is_trusted(const boost::asio::ip::address& a, const std::vector<cidr>& trusted) {
  return std::any_of(trusted.begin(), trusted.end(), [&](const cidr& c) { return c.contains(a); });
}

boost::asio::ip::address client_address(const boost::asio::ip::address& peer, std::string_view xff,
                                        const std::vector<cidr>& trusted) {
  auto current = normalize(peer);
  if (xff.empty() || !is_trusted(current, trusted)) return current;
  // Right to left: each hop was added by the proxy in front of the previous one.
  std::size_t end = xff.size();
  while (end > 0) {
    auto comma = xff.rfind(',', end - 1);
    auto start = comma == std::string_view::npos ? 0 : comma + 1;
    auto item = xff.substr(start, end - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(std::string(item), ec);
    if (ec) return current;  // not an address: trust nothing further left
    current = normalize(a);
    if (!is_trusted(current, trusted)) return current;
    if (comma == std::string_view::npos) break;
    end = comma;
  }
  return current;
}

}  // namespace switchboard::server
