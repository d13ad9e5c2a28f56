// switchboard-load: creates users in an organization, connects them over WebSocket, measures
// durable send throughput and ack latency (ack = committed in PostgreSQL), and verifies that every
// acked message reached every other member exactly once and in order (exit 1 otherwise). Talks to
// a running server only; bench/run.sh starts one on a throwaway PostgreSQL.
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tools/load/delivery_verifier.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

struct options {
  int port = 0;
  std::string org, admin_mobile, admin_password;
  int connections = 20;
  int messages = 200;  // per connection
  int window = 8;      // sends in flight per connection (closed loop)
  double rate = 0;     // open loop: total sends per second over all connections (0: closed loop)
  int server_pid = 0;  // connect: read the server's RSS from /proc before and after
  int text_bytes = 100;
  std::string mode = "group";  // group: all in one group; direct: pairs
};

json::object http_json(int port, http::verb verb, const std::string& target, const json::object& body,
                       const std::string& token = "") {
  asio::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  req.body() = json::serialize(body);
  req.prepare_payload();
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  if (res.result_int() >= 300)
    throw std::runtime_error(target + ": " + std::to_string(res.result_int()) + " " + res.body());
  return json::parse(res.body()).as_object();
}

struct client : std::enable_shared_from_this<client> {
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buf;
  std::string token, conv;
  int sent = 0, acked = 0, total = 0, window = 0, next_id = 0;
  std::string text;
  std::map<std::string, clock_type::time_point> in_flight;
  std::vector<double>* latencies_us;
  std::deque<std::string> outq;
  int* done_counter;
  std::uint64_t* events;
  std::int64_t user_id = 0;
  switchboard::load::delivery_verifier* verifier = nullptr;
  // Open loop: a send is due every `interval` from `t0`, whether or not acks came back; latency
  // counts from when it was due, so a stalled server cannot hide its stall (no coordinated omission).
  std::chrono::nanoseconds interval{0};
  clock_type::time_point t0;
  asio::steady_timer timer;

  client(asio::io_context& ioc) : ws(ioc), timer(ioc) {}

  void write(std::string s) {
    outq.push_back(std::move(s));
    if (outq.size() == 1) do_write();
  }
  void do_write() {
    ws.async_write(asio::buffer(outq.front()),
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     if (ec) throw std::runtime_error("write: " + ec.message());
                     self->outq.pop_front();
                     if (!self->outq.empty()) self->do_write();
                   });
  }
  void send_one(clock_type::time_point due = clock_type::now()) {
    std::string id = "s" + std::to_string(next_id++);
    in_flight[id] = due;
    json::object data{
        {"conv", conv}, {"client_msg_id", id}, {"type", "text"}, {"body", json::object{{"text", text}}}};
    write(json::serialize(json::object{{"id", id}, {"op", "send"}, {"data", data}}));
    ++sent;
  }
  void start() {
    if (interval.count() > 0) {
      t0 = clock_type::now();
      schedule();
    } else {
      for (int i = 0; i < window && sent < total; ++i) send_one();
    }
    read();
  }
  void schedule() {
    auto due = t0 + interval * sent;
    timer.expires_at(due);
    timer.async_wait([self = shared_from_this(), due](beast::error_code ec) {
      if (ec) return;
      self->send_one(due);
      if (self->sent < self->total) self->schedule();
    });
  }
  void read() {
    ws.async_read(buf, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      auto v = json::parse(beast::buffers_to_string(self->buf.data())).as_object();
      self->buf.consume(self->buf.size());
      if (v.contains("ev")) {
        ++*self->events;
        if (v.at("ev") == "message") {
          const auto& m = v.at("data").as_object();
          self->verifier->on_delivery(self->user_id, std::stoll(std::string(m.at("conv").as_string())),
                                      m.at("seq").as_int64());
        }
      } else if (auto it = self->in_flight.find(std::string(v.at("id").as_string()));
                 it != self->in_flight.end()) {
        if (!v.at("ok").as_bool()) throw std::runtime_error("send failed: " + json::serialize(v));
        self->verifier->on_ack(std::stoll(self->conv), v.at("data").at("seq").as_int64(), self->user_id);
        self->latencies_us->push_back(
            std::chrono::duration<double, std::micro>(clock_type::now() - it->second).count());
        self->in_flight.erase(it);
        if (++self->acked == self->total) ++*self->done_counter;
        if (self->interval.count() == 0 && self->sent < self->total) self->send_one();
      }
      self->read();
    });
  }
};

json::object ws_call(websocket::stream<beast::tcp_stream>& ws, const std::string& op,
                     const json::object& data) {
  ws.write(asio::buffer(json::serialize(json::object{{"id", "setup"}, {"op", op}, {"data", data}})));
  for (;;) {
    beast::flat_buffer b;
    ws.read(b);
    auto v = json::parse(beast::buffers_to_string(b.data())).as_object();
    if (v.contains("id") && v.at("id") == "setup") {
      if (!v.at("ok").as_bool()) throw std::runtime_error(op + ": " + json::serialize(v));
      return v.at("data").as_object();
    }
  }
}

// Resident set size of a process in KiB, from /proc (0 when unknown).
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

// One connection of a connect storm: TCP connect, WebSocket handshake, hello, reply.
struct storm_conn : std::enable_shared_from_this<storm_conn> {
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buf;
  std::string hello;
  int* done;
  int* failed;
  storm_conn(asio::io_context& ioc) : ws(ioc) {}
  void run(const asio::ip::tcp::endpoint& ep) {
    beast::get_lowest_layer(ws).async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail();
      self->ws.async_handshake("127.0.0.1", "/v1/ws", [self](beast::error_code ec) {
        if (ec) return self->fail();
        self->ws.async_write(asio::buffer(self->hello), [self](beast::error_code ec, std::size_t) {
          if (ec) return self->fail();
          self->ws.async_read(self->buf, [self](beast::error_code ec, std::size_t) {
            if (ec) return self->fail();
            auto v = json::parse(beast::buffers_to_string(self->buf.data()));
            if (!v.at("ok").as_bool()) return self->fail();
            ++*self->done;
          });
        });
      });
    });
  }
  void fail() {
    ++*failed;
    ++*done;
  }
};

// Opens every connection at once and says hello with tokens obtained beforehand; the connections
// stay open until the report is printed, so the server's RSS growth per connection can be read.
int run_connect_storm(const options& o, const std::vector<std::string>& tokens, int server_pid) {
  asio::io_context ioc;
  long rss_before = rss_kib(server_pid);
  int done = 0, failed = 0;
  std::vector<std::shared_ptr<storm_conn>> conns;
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(o.port));
  auto t0 = clock_type::now();
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    auto c = std::make_shared<storm_conn>(ioc);
    c->hello = json::serialize(json::object{
        {"id", "h"},
        {"op", "hello"},
        {"data",
         json::object{{"token", tokens[i]},
                      {"device", json::object{{"id", "storm"}, {"platform", "bot"}, {"version", "1"}}}}}});
    c->done = &done;
    c->failed = &failed;
    c->run(ep);
    conns.push_back(c);
  }
  while (done < static_cast<int>(conns.size())) ioc.run_one();
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  long rss_after = rss_kib(server_pid);
  std::printf(
      "connect storm: %zu connections opened and authenticated by hello in %.2f s (%.0f/s), %d failed\n",
      conns.size(), secs, conns.size() / secs, failed);
  json::object line{{"scenario", "connect"},
                    {"connections", conns.size()},
                    {"seconds", secs},
                    {"hellos_per_s", conns.size() / secs},
                    {"failed", failed}};
  if (server_pid > 0) {
    double per_conn = (rss_after - rss_before) * 1024.0 / std::max<std::size_t>(1, conns.size());
    std::printf("server RSS: %ld KiB before, %ld KiB with the connections open (%.0f bytes per connection)\n",
                rss_before, rss_after, per_conn);
    line["server_rss_kib_before"] = rss_before;
    line["server_rss_kib_after"] = rss_after;
    line["server_rss_bytes_per_connection"] = per_conn;
  }
  line["verified"] = failed == 0;
  std::printf("%s\n", json::serialize(line).c_str());
  return failed == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      o.port = std::stoi(v);
    else if (k == "--org")
      o.org = v;
    else if (k == "--admin-mobile")
      o.admin_mobile = v;
    else if (k == "--admin-password")
      o.admin_password = v;
    else if (k == "--connections")
      o.connections = std::stoi(v);
    else if (k == "--messages")
      o.messages = std::stoi(v);
    else if (k == "--window")
      o.window = std::stoi(v);
    else if (k == "--rate")
      o.rate = std::stod(v);
    else if (k == "--server-pid")
      o.server_pid = std::stoi(v);
    else if (k == "--text-bytes")
      o.text_bytes = std::stoi(v);
    else if (k == "--mode")
      o.mode = v;
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  bool sync_mode = o.mode == "sync";
  bool connect_mode = o.mode == "connect";
  if (sync_mode) o.connections = 2;  // one sender online, one receiver that catches up afterwards
  if (o.mode != "direct" && o.mode != "group" && !sync_mode && !connect_mode) {
    std::cerr << "--mode must be direct, group, sync or connect\n";
    return 2;
  }
  if (!o.port || o.org.empty()) {
    std::cerr
        << "usage: switchboard-load --port P --org ORG --admin-mobile M --admin-password PW [--connections N]"
           " [--messages N] [--window N | --rate SENDS_PER_S] [--text-bytes N] [--mode "
           "direct|group|sync|connect] [--server-pid PID]\n";
    return 2;
  }
  auto admin_token =
      std::string(http_json(o.port, http::verb::post, "/v1/auth/login",
                            {{"org", o.org}, {"mobile", o.admin_mobile}, {"password", o.admin_password}})
                      .at("token")
                      .as_string());
  // Users with fresh mobiles per run.
  auto salt = std::chrono::system_clock::now().time_since_epoch().count() % 100000;
  std::vector<std::string> tokens, ids;
  for (int i = 0; i < o.connections; ++i) {
    char mobile[32];
    std::snprintf(mobile, sizeof mobile, "+861%05lld%05d", static_cast<long long>(salt), i);
    auto u =
        http_json(o.port, http::verb::post, "/v1/admin/users",
                  {{"name", "bench" + std::to_string(i)}, {"mobile", mobile}, {"password", "bench-password"}},
                  admin_token);
    ids.push_back(std::string(u.at("user").as_string()));
    tokens.push_back(
        std::string(http_json(o.port, http::verb::post, "/v1/auth/login",
                              {{"org", o.org}, {"mobile", mobile}, {"password", "bench-password"}})
                        .at("token")
                        .as_string()));
  }
  if (connect_mode) return run_connect_storm(o, tokens, o.server_pid);
  asio::io_context ioc;
  std::vector<double> lat;
  lat.reserve(static_cast<std::size_t>(o.connections) * o.messages);
  int done = 0;
  std::uint64_t events = 0;
  std::vector<std::shared_ptr<client>> clients;
  std::string group;
  switchboard::load::delivery_verifier verifier;
  // sync: only the sender is online while it sends; the receiver connects afterwards.
  int online = sync_mode ? 1 : o.connections;
  for (int i = 0; i < online; ++i) {
    auto c = std::make_shared<client>(ioc);
    beast::get_lowest_layer(c->ws).connect(
        {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(o.port)});
    c->ws.handshake("127.0.0.1", "/v1/ws");
    ws_call(c->ws, "hello",
            {{"token", tokens[i]},
             {"device", json::object{{"id", "bench"}, {"platform", "bot"}, {"version", "1"}}}});
    if (o.mode == "group") {
      if (i == 0) {
        json::array members;
        for (auto& id : ids) members.emplace_back(id);
        group = std::string(ws_call(c->ws, "create_group", {{"name", "bench"}, {"members", members}})
                                .at("conv")
                                .at("conv")
                                .as_string());
      }
      c->conv = group;
      if (i == 0) {
        std::vector<std::int64_t> members;
        for (auto& id : ids) members.push_back(std::stoll(id));
        verifier.set_members(std::stoll(group), members);
      }
    } else {
      c->conv =
          std::string(ws_call(c->ws, "open_direct", {{"user", ids[(i ^ 1) < o.connections ? (i ^ 1) : i]}})
                          .at("conv")
                          .at("conv")
                          .as_string());
      int peer = (i ^ 1) < o.connections ? (i ^ 1) : i;
      if (sync_mode)
        verifier.set_members(std::stoll(c->conv), {std::stoll(ids[i])});  // the receiver is offline
      else
        verifier.set_members(std::stoll(c->conv), {std::stoll(ids[i]), std::stoll(ids[peer])});
    }
    c->user_id = std::stoll(ids[i]);
    c->verifier = &verifier;
    c->token = tokens[i];
    c->total = o.messages;
    c->window = o.window;
    if (o.rate > 0) c->interval = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * online / o.rate));
    c->text = std::string(static_cast<std::size_t>(o.text_bytes), 'x');
    c->latencies_us = &lat;
    c->done_counter = &done;
    c->events = &events;
    clients.push_back(c);
  }
  auto started = clock_type::now();
  for (auto& c : clients) c->start();
  while (done < online) ioc.run_one();
  double secs = std::chrono::duration<double>(clock_type::now() - started).count();
  // Let the last fan-out events arrive before counting them.
  ioc.run_for(std::chrono::milliseconds(500));
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat[std::min(lat.size() - 1, static_cast<std::size_t>(p * lat.size()))] / 1000.0;
  };
  std::printf("mode=%s connections=%d messages/conn=%d %s text_bytes=%d\n", o.mode.c_str(), o.connections,
              o.messages,
              o.rate > 0 ? ("open loop at " + std::to_string(static_cast<long>(o.rate)) + " sends/s").c_str()
                         : ("window=" + std::to_string(o.window)).c_str(),
              o.text_bytes);
  std::printf("durable sends: %zu in %.2f s = %.0f sends/s\n", lat.size(), secs, lat.size() / secs);
  std::printf("ack latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", pct(0.50), pct(0.90), pct(0.99),
              lat.back() / 1000.0);
  std::printf("message events received: %llu (%.0f/s)\n", static_cast<unsigned long long>(events),
              events / secs);
  // sync: the receiver connects and catches up from seq 0 in pages of 500.
  double sync_ms = -1;
  std::int64_t synced = 0;
  bool sync_ok = true;
  if (sync_mode) {
    websocket::stream<beast::tcp_stream> ws(ioc);
    beast::get_lowest_layer(ws).connect(
        {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(o.port)});
    ws.handshake("127.0.0.1", "/v1/ws");
    ws_call(ws, "hello",
            {{"token", tokens[1]},
             {"device", json::object{{"id", "bench"}, {"platform", "bot"}, {"version", "1"}}}});
    auto t0 = clock_type::now();
    std::int64_t after = 0;
    for (;;) {
      auto page = ws_call(ws, "sync", {{"conv", clients[0]->conv}, {"after_seq", after}, {"limit", 500}});
      for (const auto& m : page.at("messages").as_array()) {
        auto seq = m.at("seq").as_int64();
        if (seq != after + 1) sync_ok = false;
        after = seq;
        ++synced;
      }
      if (!page.at("has_more").as_bool()) break;
    }
    sync_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
    if (synced != static_cast<std::int64_t>(lat.size())) sync_ok = false;
    std::printf("sync: %lld messages caught up in %.1f ms (%s)\n", static_cast<long long>(synced), sync_ms,
                sync_ok ? "gapless, in order, complete" : "INCOMPLETE OR OUT OF ORDER");
  }
  auto report = verifier.finish();
  std::printf(
      "verified: %llu acked, %llu delivered; gaps %llu, duplicates %llu, reorders %llu, missing %llu, "
      "unexpected %llu: %s\n",
      static_cast<unsigned long long>(report.acked), static_cast<unsigned long long>(report.delivered),
      static_cast<unsigned long long>(report.gaps), static_cast<unsigned long long>(report.duplicates),
      static_cast<unsigned long long>(report.reorders), static_cast<unsigned long long>(report.missing),
      static_cast<unsigned long long>(report.unexpected), report.ok() ? "OK" : "FAILED");
  for (const auto& p : report.problems) std::printf("  %s\n", p.c_str());
  json::object line{{"scenario", o.mode},
                    {"connections", o.connections},
                    {"messages_per_connection", o.messages},
                    {"window", o.window},
                    {"offered_rate", o.rate},
                    {"text_bytes", o.text_bytes},
                    {"sends", lat.size()},
                    {"seconds", secs},
                    {"sends_per_s", static_cast<double>(lat.size()) / secs},
                    {"ack_p50_ms", pct(0.50)},
                    {"ack_p90_ms", pct(0.90)},
                    {"ack_p99_ms", pct(0.99)},
                    {"ack_max_ms", lat.back() / 1000.0},
                    {"deliveries", events},
                    {"verified", report.ok() && sync_ok}};
  if (sync_mode) {
    line["sync_messages"] = synced;
    line["sync_ms"] = sync_ms;
  }
  std::printf("%s\n", json::serialize(line).c_str());
  return report.ok() && sync_ok ? 0 : 1;
}
