// Worker threads and the protocol client of the load generator; see load_client.hpp.
#include "tools/load/load_client.hpp"

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace switchboard::load {

const std::string& run_nonce() {
  static const std::string nonce = [] {
    std::random_device rd;
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string s;
    for (int i = 0; i < 10; ++i) s.push_back(digits[rd() % 36]);
    return s + "-";
  }();
  return nonce;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

worker::worker() : guard(ioc.get_executor()) {}

void worker::start() {
  thread = std::thread([this] { ioc.run(); });
}

void worker::stop() {
  guard.reset();
  ioc.stop();
  if (thread.joinable()) thread.join();
}

client::client(worker& wk, run_state& st, std::int64_t u, std::string tok, std::string device)
    : w(wk), user(u), token(std::move(tok)), st_(st), device_(std::move(device)), ws_(wk.ioc) {
  static const bool trace = std::getenv("SB_LOAD_TRACE") != nullptr;  // every frame read, to stderr
  trace_ = trace;
}

void client::open(const tcp::endpoint& server, const std::optional<asio::ip::address>& source,
                  std::function<void(bool, const std::string&)> done) {
  auto& sock = beast::get_lowest_layer(ws_).socket();
  boost::system::error_code ec;
  sock.open(server.protocol(), ec);
  if (!ec && source) {
    // Source port chosen at connect time, per (source, destination): each loopback source
    // address then offers the whole ephemeral range towards the server.
    int one = 1;
    ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sock.bind(tcp::endpoint(*source, 0), ec);
  }
  if (ec) return done(false, "socket: " + ec.message());
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
  auto host = server.address().to_string();
  beast::get_lowest_layer(ws_).async_connect(
      server, [self = shared_from_this(), done, host](beast::error_code ec) {
        if (ec) return done(false, "connect: " + ec.message());
        beast::get_lowest_layer(self->ws_).expires_never();
        // As a real client would: a small send must not wait for the previous one's ACK (Nagle).
        beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true), ec);
        self->ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
        self->ws_.async_handshake(host, "/v1/ws", [self, done](beast::error_code ec) {
          if (ec) return done(false, "handshake: " + ec.message());
          self->read();
          json::object device{{"id", self->device_}, {"platform", "bot"}, {"version", "1.0.0"}};
          self->call("hello", {{"token", self->token}, {"device", device}},
                     [self, done](bool ok, const json::value& v) {
                       if (!ok) return done(false, "hello: " + json::serialize(v));
                       self->open_ = true;
                       if (const auto* sid = v.as_object().if_contains("session_id"))
                         self->session_id = std::string(sid->as_string());
                       done(true, "");
                     });
        });
      });
}

void client::call(const std::string& op, json::object data,
                  std::function<void(bool, const json::value&)> cb) {
  auto n = next_id_++;
  pending_calls_.emplace(n, pending_call{now_ns(), std::move(cb)});
  json::object req{{"id", "c" + std::to_string(n)}, {"op", op}, {"data", std::move(data)}};
  write(std::make_shared<const std::string>(json::serialize(req)));
}

void client::send_text(const std::string& conv, std::int64_t due_ns, std::size_t text_bytes) {
  auto n = next_id_++;
  pending_sends_.emplace(n, pending_send{due_ns, std::stoll(conv)});
  std::string id = "m" + std::to_string(n);
  std::string text = "t" + std::to_string(due_ns) + "|";
  if (text.size() < text_bytes) text.append(text_bytes - text.size(), 'x');
  auto frame = std::make_shared<std::string>();
  frame->reserve(text.size() + 160);
  *frame += R"({"id":")";
  *frame += id;
  *frame += R"(","op":"send","data":{"conv":")";
  *frame += conv;
  *frame += R"(","client_msg_id":")";
  *frame += run_nonce();
  *frame += id;
  *frame += R"(","type":"text","body":{"text":")";
  *frame += text;
  *frame += R"("}}})";
  write(std::move(frame));
}

void client::close() {
  if (closing_) return;
  closing_ = true;
  if (!open_) {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
    return;
  }
  ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
}

void client::drop() {
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().close(ec);
}

void client::write(std::shared_ptr<const std::string> frame) {
  outq_.push_back(std::move(frame));
  if (outq_.size() == 1) do_write();
}

void client::do_write() {
  ws_.async_write(asio::buffer(*outq_.front()),
                  [self = shared_from_this()](beast::error_code ec, std::size_t) {
                    if (ec) return self->fail_transport("write: " + ec.message());
                    self->outq_.pop_front();
                    if (!self->outq_.empty()) self->do_write();
                  });
}

void client::read() {
  ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) return self->fail_transport("read: " + ec.message());
    auto& p = self->w.parser;
    p.reset();
    auto data = self->buf_.data();
    p.write(static_cast<const char*>(data.data()), data.size(), ec);
    json::value v;
    if (!ec) v = p.release();
    self->buf_.consume(self->buf_.size());
    if (ec || !v.is_object()) {
      ++self->w.errors["malformed frame from server"];
    } else {
      try {
        self->on_frame(v.get_object());
      } catch (const std::exception& e) {
        ++self->w.errors[std::string("frame not as the protocol says: ") + e.what()];
      }
    }
    self->read();
  });
}

namespace {

// The due time a load-generated text body starts with ("t<ns>|..."), or 0.
std::int64_t due_of(const json::object& msg) {
  const auto* body = msg.if_contains("body");
  if (!body || !body->is_object()) return 0;
  const auto* text = body->get_object().if_contains("text");
  if (!text || !text->is_string()) return 0;
  const auto& t = text->get_string();
  if (t.size() < 3 || t[0] != 't') return 0;
  std::int64_t v = 0;
  for (std::size_t i = 1; i < t.size() && i < 24; ++i) {
    if (t[i] == '|') return v;
    if (t[i] < '0' || t[i] > '9') return 0;
    v = v * 10 + (t[i] - '0');
  }
  return 0;
}

std::uint64_t micros_since(std::int64_t t0_ns) {
  auto d = now_ns() - t0_ns;
  return d > 0 ? static_cast<std::uint64_t>(d / 1000) : 0;
}

}  // namespace

void client::on_frame(const json::object& v) {
  if (trace_) std::fprintf(stderr, "%lld < %s\n", static_cast<long long>(user), json::serialize(v).c_str());
  if (const auto* ev = v.if_contains("ev")) {
    std::string name(ev->as_string());
    ++w.events[name];
    static const json::object empty;
    const auto* data = v.if_contains("data");
    const auto& d = data && data->is_object() ? data->get_object() : empty;
    if (name == "message") {
      auto conv = std::stoll(std::string(d.at("conv").as_string()));
      w.deliveries.push_back({user, conv, d.at("seq").as_int64()});
      st_.delivered.fetch_add(1, std::memory_order_relaxed);
      if (auto due = due_of(d)) w.e2e_us.record(micros_since(due));
    }
    if (on_event) on_event(name, d);
    return;
  }
  std::string id(v.at("id").as_string());
  bool ok = v.at("ok").as_bool();
  auto n = std::stoull(id.substr(1));
  if (id[0] == 'm') {
    auto it = pending_sends_.find(n);
    if (it == pending_sends_.end()) {
      ++w.errors["reply to an unknown send id"];
      return;
    }
    if (ok && v.at("data").as_object().contains("duplicate")) {
      // Every client_msg_id of a run is new: the server took a first send for a resend.
      ++w.errors["first send acked as a duplicate"];
      st_.send_failed.fetch_add(1, std::memory_order_relaxed);
    } else if (ok) {
      w.acks.push_back({it->second.conv, v.at("data").at("seq").as_int64(), user});
      w.ack_us.record(micros_since(it->second.due_ns));
      st_.acked.fetch_add(1, std::memory_order_relaxed);
    } else {
      ++w.errors[std::string(v.at("error").at("code").as_string())];
      st_.send_failed.fetch_add(1, std::memory_order_relaxed);
    }
    pending_sends_.erase(it);
    if (on_send_reply) on_send_reply();
    return;
  }
  auto it = pending_calls_.find(n);
  if (it == pending_calls_.end()) {
    ++w.errors["reply to an unknown request id"];
    return;
  }
  auto call = std::move(it->second);
  pending_calls_.erase(it);
  w.op_us.record(micros_since(call.started_ns));
  if (!ok) ++w.errors[std::string(v.at("error").at("code").as_string())];
  static const json::value empty = json::object{};
  const auto* payload = v.if_contains(ok ? "data" : "error");
  call.cb(ok, payload ? *payload : empty);
}

void client::fail_transport(const std::string& what) {
  if (closing_) return;
  closing_ = true;
  ++w.errors["connection lost (" + what + ")"];
  if (open_) st_.closed_early.fetch_add(1, std::memory_order_relaxed);
  if (!pending_sends_.empty()) {
    w.errors["send unanswered: connection lost"] += pending_sends_.size();
    st_.send_failed.fetch_add(pending_sends_.size(), std::memory_order_relaxed);
    pending_sends_.clear();
  }
  auto calls = std::move(pending_calls_);
  pending_calls_.clear();
  json::value err = json::object{{"code", "transport"}, {"message", what}};
  for (auto& [n, c] : calls) c.cb(false, err);
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().close(ec);
  if (on_lost) on_lost(what);
}

std::vector<seeded_user> read_tokens_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read tokens file " + path);
  std::vector<seeded_user> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    seeded_user u{};
    std::string mobile;
    if (!(ls >> u.id >> mobile >> u.token)) throw std::runtime_error("bad line in " + path + ": " + line);
    out.push_back(std::move(u));
  }
  return out;
}

long rss_kib(int pid) {
  if (pid <= 0) return 0;
  std::FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (!f) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  std::fclose(f);
  return kib;
}

long raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return static_cast<long>(rl.rlim_cur);
}

}  // namespace switchboard::load
