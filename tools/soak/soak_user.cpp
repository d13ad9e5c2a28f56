// A soak user's connection, sends, resends and view; see soak_user.hpp.
#include "tools/soak/soak_user.hpp"

#include <algorithm>

namespace switchboard::soak {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {
constexpr auto tick_period = 50ms;
constexpr auto min_backoff = 100ms;
constexpr auto max_backoff = 2000ms;

std::int64_t id_of(const json::value& v) {
  return std::stoll(std::string(v.as_string()));
}
}  // namespace

void soak_stats::violation(const std::string& what) {
  violations.fetch_add(1);
  std::lock_guard lk(mu);
  if (first_violations.size() < 50) first_violations.push_back(what);
}

soak_user::soak_user(load::worker& w, load::run_state& rs, soak_stats& st, const soak_settings& cfg,
                     std::int64_t id, std::string token, unsigned seed)
    : w_(w),
      rs_(rs),
      st_(st),
      cfg_(cfg),
      id_(id),
      token_(std::move(token)),
      rng_(seed),
      tick_timer_(w.ioc),
      reconnect_timer_(w.ioc) {}

void soak_user::start() {
  connect();
  tick();
}

void soak_user::stop() {
  stopped_ = true;
  tick_timer_.cancel();
  reconnect_timer_.cancel();
  if (c_) c_->close();
}

void soak_user::set_producing(bool on) {
  producing_ = on;
}

bool soak_user::connected() const {
  return state_ == state::open && c_ && c_->alive();
}

std::size_t soak_user::unsettled() const {
  return static_cast<std::size_t>(std::count_if(sent_.begin() + static_cast<std::ptrdiff_t>(settled_prefix_),
                                                sent_.end(), [](const auto& m) { return !m.acked; }));
}

void soak_user::drop() {
  if (c_ && state_ == state::open) c_->drop();
}

void soak_user::connect() {
  if (stopped_) return;
  state_ = state::connecting;
  int gen = ++generation_;
  c_ = std::make_shared<load::client>(w_, rs_, id_, token_, "soak-" + std::to_string(id_));
  std::weak_ptr<soak_user> weak = shared_from_this();
  c_->on_event = [weak, gen](const std::string& ev, const json::object& d) {
    auto self = weak.lock();
    if (!self || gen != self->generation_) return;
    self->st_.events.fetch_add(1, std::memory_order_relaxed);
    if (ev == "resync") {  // as the spec says: convs, then sync each conversation (ours are known)
      self->st_.resyncs.fetch_add(1, std::memory_order_relaxed);
      for (auto conv : self->convs_)
        if (!self->catching_up_.count(conv)) self->catch_up(conv, self->contiguous_top(conv));
      return;
    }
    if (ev != "message") return;
    auto conv = id_of(d.at("conv"));
    auto seq = d.at("seq").as_int64();
    self->record(conv, seq, id_of(d.at("msg_id")), "event");
    // As a client should: an event past a missing seq (a message whose commit was in doubt and
    // so never announced, or one sent while this session was catching up) means sync the gap.
    auto top = self->contiguous_top(conv);
    if (seq > top + 1 && !self->catching_up_.count(conv)) {
      self->st_.gap_fills.fetch_add(1, std::memory_order_relaxed);
      self->catch_up(conv, top);
    }
  };
  c_->on_lost = [weak, gen](const std::string&) {
    auto self = weak.lock();
    if (!self || gen != self->generation_ || self->state_ != state::open) return;
    self->st_.losses.fetch_add(1, std::memory_order_relaxed);
    self->state_ = state::idle;
    self->schedule_reconnect();
  };
  const auto& node = cfg_.servers[(static_cast<std::size_t>(id_) + attempts_++) % cfg_.servers.size()];
  c_->open(node, std::nullopt, [weak, gen](bool ok, const std::string&) {
    auto self = weak.lock();
    if (!self || gen != self->generation_) return;
    if (!ok) {
      self->st_.connect_failures.fetch_add(1, std::memory_order_relaxed);
      self->state_ = state::idle;
      return self->schedule_reconnect();
    }
    self->st_.connects.fetch_add(1, std::memory_order_relaxed);
    self->state_ = state::open;
    self->backoff_ = min_backoff;
    // Catch up from the highest seq held without a gap below it: a gap is filled too.
    self->catching_up_.clear();
    for (auto conv : self->convs_) self->catch_up(conv, self->contiguous_top(conv));
  });
}

void soak_user::schedule_reconnect() {
  if (stopped_) return;
  std::uniform_int_distribution<long> jitter(0, backoff_.count());
  reconnect_timer_.expires_after(backoff_ + std::chrono::milliseconds(jitter(rng_)));
  backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(max_backoff));
  std::weak_ptr<soak_user> weak = shared_from_this();
  reconnect_timer_.async_wait([weak](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!ec && self && self->state_ == state::idle) self->connect();
  });
}

bool soak_user::call(const std::string& op, json::object data,
                     std::function<void(bool, const json::value&)> cb) {
  if (!connected()) return false;
  c_->call(op, std::move(data), std::move(cb));
  return true;
}

std::int64_t soak_user::contiguous_top(std::int64_t conv) {
  auto& top = top_[conv];
  const auto& seen = view_[conv];
  for (auto it = seen.upper_bound(top); it != seen.end() && it->first == top + 1; ++it) ++top;
  return top;
}

void soak_user::catch_up(std::int64_t conv, std::int64_t after) {
  std::weak_ptr<soak_user> weak = shared_from_this();
  int gen = generation_;
  if (!call("sync", {{"conv", std::to_string(conv)}, {"after_seq", after}, {"limit", 500}},
            [weak, conv, gen](bool ok, const json::value& v) {
              auto self = weak.lock();
              if (!self || gen != self->generation_) return;  // a new connection catches up anew
              self->catching_up_.erase(conv);
              if (!ok) {
                // `unavailable` and the like: try again shortly while connected.
                auto t = std::make_shared<asio::steady_timer>(self->w_.ioc, 500ms);
                t->async_wait([weak, conv, gen, t](boost::system::error_code) {
                  auto s = weak.lock();
                  if (s && gen == s->generation_ && !s->catching_up_.count(conv))
                    s->catch_up(conv, s->contiguous_top(conv));
                });
                return;
              }
              std::int64_t last = 0;
              for (const auto& m : v.at("messages").as_array()) {
                last = m.at("seq").as_int64();
                self->record(conv, last, id_of(m.at("msg_id")), "sync");
              }
              if (v.at("has_more").as_bool()) self->catch_up(conv, last);
            }))
    return;
  catching_up_.insert(conv);
  st_.syncs.fetch_add(1, std::memory_order_relaxed);
}

void soak_user::record(std::int64_t conv, std::int64_t seq, std::int64_t msg_id, const char* how) {
  auto [it, fresh] = view_[conv].emplace(seq, msg_id);
  if (!fresh && it->second != msg_id)
    st_.violation("user " + std::to_string(id_) + ": conv " + std::to_string(conv) + " seq " +
                  std::to_string(seq) + " was message " + std::to_string(it->second) + ", then message " +
                  std::to_string(msg_id) + " (" + how + ")");
}

void soak_user::tick() {
  if (stopped_) return;
  auto now = std::chrono::steady_clock::now();
  if (producing_)
    credit_ = std::min(credit_ + cfg_.rate_per_user * std::chrono::duration<double>(tick_period).count(),
                       static_cast<double>(cfg_.window));
  if (connected()) {
    // Resends first (oldest first), then new messages, up to the window. Sends before
    // settled_prefix_ are all acked: not scanned again.
    while (settled_prefix_ < sent_.size() && sent_[settled_prefix_].acked) ++settled_prefix_;
    for (std::size_t i = settled_prefix_; i < sent_.size() && in_flight_ < cfg_.window; ++i) {
      auto& m = sent_[i];
      if (!m.acked && !m.in_flight && m.retry_at <= now) send(i);
    }
    while (producing_ && credit_ >= 1.0 && in_flight_ < cfg_.window && !convs_.empty()) {
      credit_ -= 1.0;
      std::uniform_int_distribution<std::size_t> pick(0, convs_.size() - 1);
      sent_message m;
      m.conv = convs_[pick(rng_)];
      m.cmid = cfg_.nonce + "u" + std::to_string(id_) + "-" + std::to_string(next_msg_++);
      sent_.push_back(std::move(m));
      st_.created.fetch_add(1, std::memory_order_relaxed);
      send(sent_.size() - 1);
    }
  }
  tick_timer_.expires_after(tick_period);
  std::weak_ptr<soak_user> weak = shared_from_this();
  tick_timer_.async_wait([weak](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!ec && self) self->tick();
  });
}

void soak_user::send(std::size_t index) {
  auto& m = sent_[index];
  m.in_flight = true;
  ++m.attempts;
  ++in_flight_;
  st_.attempts.fetch_add(1, std::memory_order_relaxed);
  std::weak_ptr<soak_user> weak = shared_from_this();
  json::object body{{"text", "soak " + m.cmid}};
  c_->call("send",
           {{"conv", std::to_string(m.conv)},
            {"client_msg_id", m.cmid},
            {"type", "text"},
            {"body", std::move(body)}},
           [weak, index](bool ok, const json::value& v) {
             if (auto self = weak.lock()) self->on_send_reply(index, ok, v);
           });
}

void soak_user::on_send_reply(std::size_t index, bool ok, const json::value& v) {
  auto& m = sent_[index];
  m.in_flight = false;
  --in_flight_;
  auto now = std::chrono::steady_clock::now();
  if (ok) {
    auto seq = v.at("seq").as_int64();
    auto msg_id = id_of(v.at("msg_id"));
    bool dup = v.as_object().contains("duplicate") && v.at("duplicate").as_bool();
    if (dup && m.attempts == 1)
      st_.violation("user " + std::to_string(id_) + ": first send of " + m.cmid + " acked as a duplicate");
    if (dup) st_.dedup_acks.fetch_add(1, std::memory_order_relaxed);
    m.acked = true;
    m.seq = seq;
    m.msg_id = msg_id;
    st_.acked.fetch_add(1, std::memory_order_relaxed);
    record(m.conv, seq, msg_id, "ack");
    return;
  }
  std::string code(v.at("code").as_string());
  if (code == "transport") {
    st_.unknown.fetch_add(1, std::memory_order_relaxed);
    m.retry_at = now;  // resent as soon as a connection is back
  } else if (code == "unavailable") {
    st_.unavailable.fetch_add(1, std::memory_order_relaxed);
    m.retry_at = now + 300ms;
  } else if (code == "rate_limited") {
    st_.rate_limited.fetch_add(1, std::memory_order_relaxed);
    const auto* retry = v.as_object().if_contains("retry_after_ms");
    m.retry_at = now + std::chrono::milliseconds(retry && retry->is_int64() ? retry->as_int64() : 100);
  } else {
    st_.violation("user " + std::to_string(id_) + ": send of " + m.cmid + " refused with " + code + ": " +
                  json::serialize(v));
    m.retry_at = now + 1s;
  }
}

void soak_user::full_sync(std::shared_ptr<std::map<std::int64_t, std::map<std::int64_t, std::int64_t>>> out,
                          std::function<void(bool)> done) {
  auto left = std::make_shared<int>(static_cast<int>(convs_.size()));
  auto ok = std::make_shared<bool>(true);
  if (convs_.empty()) return done(true);
  for (auto conv : convs_) sync_page(conv, 0, out, left, ok, done);
}

void soak_user::sync_page(std::int64_t conv, std::int64_t after,
                          std::shared_ptr<std::map<std::int64_t, std::map<std::int64_t, std::int64_t>>> out,
                          std::shared_ptr<int> left, std::shared_ptr<bool> ok,
                          std::function<void(bool)> done) {
  bool sent = call("sync", {{"conv", std::to_string(conv)}, {"after_seq", after}, {"limit", 500}},
                   [self = shared_from_this(), conv, out, left, ok, done](bool good, const json::value& v) {
                     if (good) {
                       std::int64_t last = 0;
                       for (const auto& m : v.at("messages").as_array()) {
                         last = m.at("seq").as_int64();
                         (*out)[conv][last] = id_of(m.at("msg_id"));
                       }
                       if (v.at("has_more").as_bool())
                         return self->sync_page(conv, last, out, left, ok, done);
                     } else {
                       *ok = false;
                       self->st_.violation("user " + std::to_string(self->id_) + ": final sync of conv " +
                                           std::to_string(conv) + " failed: " + json::serialize(v));
                     }
                     if (--*left == 0) done(*ok);
                   });
  if (!sent) {
    st_.violation("user " + std::to_string(id_) + ": not connected for the final sync");
    *ok = false;
    if (--*left == 0) done(false);
  }
}

}  // namespace switchboard::soak
