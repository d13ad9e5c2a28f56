// switchboard-load: a load generator that speaks the client protocol (shared/spec/PROTOCOL.md).
// Scenarios are subcommands (direct, group, sync, connect, idle, mixed, login); run with no
// arguments for usage. Clients are spread over worker threads (one io_context each) and over
// loopback source addresses; sends are paced open loop (--rate) or closed loop (--window); every
// ack'd message is verified delivered exactly once, in order, to every other online member, and
// a run that loses, duplicates or reorders anything, or gets any error, exits 1.
#include <sys/resource.h>

#include <algorithm>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <set>

#include "tools/load/delivery_verifier.hpp"
#include "tools/load/load_client.hpp"

namespace http = boost::beast::http;
using namespace switchboard::load;
using namespace std::chrono_literals;

namespace {

constexpr const char* usage = R"(usage: switchboard-load <scenario> [options]

Scenarios:
  direct   --pairs N --messages M (per sender) [--window W | --rate R [--duration S]] [--text-bytes B]
           pairs of users chatting; both members of a pair send
  group    --groups G --members M --senders S --messages K [--window W | --rate R [--duration S]]
           G groups of M members, S of whom send into their group
  sync     --messages K [--window W]
           one user sends K messages while the other is offline; the other then catches up with sync
  connect  --connections N
           N connections opened at once (at most --concurrency in flight), each saying hello
  idle     --connections N --hold S [--ping-s P]
           holds N connections for S seconds (app ping every P s) and reports the server's RSS
  mixed    --users N --rate R --duration S
           direct pairs and groups of 10 with typing, read receipts and presence: R actions/s
  calls    --pairs N --calls K [--signals S]
           N pairs each place K calls one after another: invite, accept, S signals each way
           (offer/ice relayed to the other party's session), hang-up; setup and relay latency
  login    --mobile M --password PW --count N [--concurrency C]
           password logins over HTTP (slow by design: scrypt); needs --org

Common options:
  --host H (127.0.0.1) --port P         the server
  --ports P1,P2,...                     several nodes of a cluster: client i connects to the
                                        (i mod n)th, so a direct pair's two users are on two nodes
  --tokens FILE                         users from `switchboard org seed` (lines: id mobile token)
  --first-user K                        skip the first K users of FILE (runs on distinct users)
  --org ID --admin-mobile M --admin-password PW
                                        or: create users through the HTTP API (slow; small runs)
  --threads T (cores)                   worker threads, one io_context each
  --sources K (one per 1,000 conns)     loopback source addresses 127.0.0.2 .. 127.0.0.(K+1)
  --concurrency C (1000)                connects and setup requests in flight
  --server-pid PID                      read the server's RSS from /proc
  --timeout S (600)                     give up on a run after S seconds
  --revision REV  --results FILE        recorded in the JSON line; the line is appended to FILE
Exit status: 0 verified clean, 1 loss/duplicate/reorder/error, 2 usage.
)";

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "--key value" options; every one given must be used by the scenario.
class args {
 public:
  args(int argc, char** argv, int from) {
    for (int i = from; i < argc; i += 2) {
      std::string k = argv[i];
      if (k.rfind("--", 0) != 0) throw usage_error("unexpected argument " + k);
      if (i + 1 >= argc) throw usage_error("option " + k + " needs a value");
      kv_[k.substr(2)] = argv[i + 1];
    }
  }
  bool has(const std::string& k) const { return kv_.count(k) != 0; }
  std::string str(const std::string& k, const std::string& def = "") {
    used_.insert(k);
    auto it = kv_.find(k);
    return it == kv_.end() ? def : it->second;
  }
  long long integer(const std::string& k, long long def, long long lo, long long hi) {
    auto s = str(k);
    if (s.empty()) return def;
    std::size_t pos = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != s.size() || v < lo || v > hi)
      throw usage_error("--" + k + " must be an integer from " + std::to_string(lo) + " to " +
                        std::to_string(hi));
    return v;
  }
  double real(const std::string& k, double def, double lo, double hi) {
    auto s = str(k);
    if (s.empty()) return def;
    std::size_t pos = 0;
    double v = 0;
    try {
      v = std::stod(s, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != s.size() || v < lo || v > hi) throw usage_error("--" + k + " is out of range");
    return v;
  }
  void check_all_used() const {
    for (const auto& [k, v] : kv_)
      if (!used_.count(k)) throw usage_error("unknown option --" + k + " for this scenario");
  }

 private:
  std::map<std::string, std::string> kv_;
  std::set<std::string> used_;
};

json::object http_json(const std::string& host, int port, http::verb verb, const std::string& target,
                       const json::object& body, const std::string& token = "") {
  asio::io_context ioc;
  beast::tcp_stream s(ioc);
  s.expires_after(60s);
  s.connect({asio::ip::make_address(host), static_cast<unsigned short>(port)});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::content_type, "application/json");
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

// Percentiles of a histogram (µs) as milliseconds, for the summary and the JSON line.
json::object latency_json(const histogram& h) {
  auto ms = [&](double q) { return static_cast<double>(h.quantile(q)) / 1000.0; };
  return {{"count", h.count()}, {"p50_ms", ms(0.5)},    {"p90_ms", ms(0.9)},
          {"p99_ms", ms(0.99)}, {"p999_ms", ms(0.999)}, {"max_ms", ms(1.0)}};
}

std::string latency_line(const histogram& h) {
  char b[200];
  std::snprintf(b, sizeof b, "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms (%llu samples)",
                h.quantile(0.5) / 1000.0, h.quantile(0.9) / 1000.0, h.quantile(0.99) / 1000.0,
                h.quantile(0.999) / 1000.0, h.quantile(1.0) / 1000.0,
                static_cast<unsigned long long>(h.count()));
  return b;
}

// Each conversation of a run: the members online for the whole run, and the seq its first
// message of this run gets.
using conv_plan = std::map<std::int64_t, std::pair<std::vector<std::int64_t>, std::int64_t>>;

void print_verify(const delivery_verifier::report& rep) {
  std::printf(
      "verified: %llu acked, %llu delivered; gaps %llu, duplicates %llu, reorders %llu, missing %llu, "
      "unexpected %llu: %s\n",
      static_cast<unsigned long long>(rep.acked), static_cast<unsigned long long>(rep.delivered),
      static_cast<unsigned long long>(rep.gaps), static_cast<unsigned long long>(rep.duplicates),
      static_cast<unsigned long long>(rep.reorders), static_cast<unsigned long long>(rep.missing),
      static_cast<unsigned long long>(rep.unexpected), rep.ok() ? "OK" : "FAILED");
  for (const auto& pr : rep.problems) std::printf("  %s\n", pr.c_str());
}

// "8081,8082" -> ports (empty: none).
std::vector<int> split_ports(const std::string& s) {
  std::vector<int> out;
  std::size_t at = 0;
  while (at < s.size()) {
    auto comma = s.find(',', at);
    auto one = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    int p = 0;
    try {
      p = std::stoi(one);
    } catch (const std::exception&) {
    }
    if (p < 1 || p > 65535) throw usage_error("--ports: '" + one + "' is not a port");
    out.push_back(p);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

// The whole run: options, users, worker threads, clients, results.
class harness {
 public:
  harness(args& a, const std::string& scenario) : scenario_(scenario) {
    host_ = a.str("host", "127.0.0.1");
    port_ = static_cast<int>(a.integer("port", 0, 1, 65535));
    for (const auto& p : split_ports(a.str("ports"))) ports_.push_back(p);
    if (!port_ && !ports_.empty()) port_ = ports_.front();
    if (!port_) throw usage_error("--port (or --ports) is required");
    if (ports_.empty()) ports_.push_back(port_);
    tokens_file_ = a.str("tokens");
    first_user_ = static_cast<std::size_t>(a.integer("first-user", 0, 0, 10000000));
    org_ = a.str("org");
    admin_mobile_ = a.str("admin-mobile");
    admin_password_ = a.str("admin-password");
    threads_ =
        static_cast<int>(a.integer("threads", std::max(1u, std::thread::hardware_concurrency()), 1, 256));
    sources_ = static_cast<int>(a.integer("sources", 0, 0, 250));
    concurrency_ = static_cast<std::size_t>(a.integer("concurrency", 1000, 1, 100000));
    server_pid_ = static_cast<int>(a.integer("server-pid", 0, 0, 1 << 30));
    timeout_ = std::chrono::duration<double>(a.real("timeout", 600, 1, 86400));
    revision_ = a.str("revision", "unknown");
    results_ = a.str("results");
    if (tokens_file_.empty() && (org_.empty() || admin_mobile_.empty() || admin_password_.empty()))
      throw usage_error("give --tokens FILE, or --org, --admin-mobile and --admin-password");
  }

  // Users for `n` clients, from the tokens file or created through the HTTP API.
  void provision(std::size_t n) {
    if (!tokens_file_.empty()) {
      auto all = read_tokens_file(tokens_file_);
      if (all.size() < first_user_ + n)
        throw usage_error(tokens_file_ + " has " + std::to_string(all.size()) + " users; this run needs " +
                          std::to_string(first_user_ + n) + " (--first-user " + std::to_string(first_user_) +
                          " plus " + std::to_string(n) + ")");
      users_.assign(all.begin() + static_cast<std::ptrdiff_t>(first_user_),
                    all.begin() + static_cast<std::ptrdiff_t>(first_user_ + n));
      return;
    }
    auto admin =
        std::string(http_json(host_, port_, http::verb::post, "/v1/auth/login",
                              {{"org", org_}, {"mobile", admin_mobile_}, {"password", admin_password_}})
                        .at("token")
                        .as_string());
    auto salt = std::chrono::system_clock::now().time_since_epoch().count() % 100000;
    for (std::size_t i = 0; i < n; ++i) {
      char mobile[32];
      std::snprintf(mobile, sizeof mobile, "+861%05lld%05zu", static_cast<long long>(salt), i);
      auto u = http_json(
          host_, port_, http::verb::post, "/v1/admin/users",
          {{"name", "load " + std::to_string(i)}, {"mobile", mobile}, {"password", "load-password"}}, admin);
      auto token = http_json(host_, port_, http::verb::post, "/v1/auth/login",
                             {{"org", org_}, {"mobile", mobile}, {"password", "load-password"}})
                       .at("token")
                       .as_string();
      users_.push_back({std::stoll(std::string(u.at("user").as_string())), std::string(token)});
    }
  }

  // Workers, source addresses, and one client per user (not yet connected).
  void make_clients() {
    auto need = static_cast<long>(users_.size()) + 64;
    long limit = raise_fd_limit();
    if (limit >= 0 && need > limit)
      throw usage_error(std::to_string(users_.size()) + " connections need about " + std::to_string(need) +
                        " file descriptors; this process may open " + std::to_string(limit) +
                        " (RLIMIT_NOFILE hard limit)");
    for (auto p : ports_)
      servers_.emplace_back(asio::ip::make_address(host_), static_cast<unsigned short>(p));
    if (servers_.front().address().is_loopback()) {
      // The kernel's search for a free ephemeral port slows down as a (source, destination) pair
      // fills its range (profiled: 80% of a 19,000-connection storm in __inet_hash_connect with
      // one source), so keep each source lightly used: one per 1,000 connections.
      int k = sources_ ? sources_ : static_cast<int>(std::min<std::size_t>(250, users_.size() / 1000 + 1));
      for (int i = 0; i < k; ++i)
        source_addrs_.push_back(asio::ip::make_address_v4(0x7f000002u + static_cast<unsigned>(i)));
    } else if (sources_) {
      throw usage_error("--sources needs a loopback --host");
    }
    for (int i = 0; i < threads_; ++i) workers_.push_back(std::make_unique<worker>());
    for (auto& w : workers_) w->start();
    for (std::size_t i = 0; i < users_.size(); ++i)
      clients_.push_back(std::make_shared<client>(worker_of(i), st_, users_[i].id, users_[i].token,
                                                  "load-" + std::to_string(i)));
  }

  worker& worker_of(std::size_t i) { return *workers_[i % workers_.size()]; }

  // Runs start(k, done) for every k in [0, n) on the thread of client client_of(k), at most `cap`
  // at a time; returns when every one called done(), or false at the timeout.
  bool bounded(std::size_t n, std::size_t cap, std::function<std::size_t(std::size_t)> client_of,
               std::function<void(std::size_t, std::function<void()>)> start) {
    // Shared state only: the functions are stored once, never copied per launch (copying a
    // captured index vector per connection was most of a 19,000-connection storm's CPU).
    struct state {
      std::mutex mu;
      std::condition_variable cv;
      std::atomic<std::size_t> next{0};
      std::size_t finished = 0;
      std::function<std::size_t(std::size_t)> client_of;
      std::function<void(std::size_t, std::function<void()>)> start;
      std::function<void(std::size_t)> launch;
    };
    auto s = std::make_shared<state>();
    s->client_of = std::move(client_of);
    s->start = std::move(start);
    std::weak_ptr<state> weak = s;
    s->launch = [this, weak, n](std::size_t k) {
      auto s = weak.lock();
      if (!s) return;
      asio::post(worker_of(s->client_of(k)).ioc, [weak, n, k] {
        auto s = weak.lock();
        if (!s) return;  // the run gave up waiting
        s->start(k, [weak, n] {
          auto s = weak.lock();
          if (!s) return;
          auto j = s->next.fetch_add(1);
          if (j < n) s->launch(j);
          std::lock_guard lk(s->mu);
          if (++s->finished == n) s->cv.notify_all();
        });
      });
    };
    auto first = std::min(cap, n);
    s->next = first;
    for (std::size_t k = 0; k < first; ++k) s->launch(k);
    std::unique_lock lk(s->mu);
    bool ok = s->cv.wait_for(lk, timeout_, [&] { return s->finished == n; });
    s->next = n;  // launch nothing more
    return ok;
  }

  std::vector<std::size_t> all() const {
    std::vector<std::size_t> v(clients_.size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = i;
    return v;
  }

  // Connects and says hello for `which`; returns the seconds it took. Failures are counted.
  double open(const std::vector<std::size_t>& which) {
    auto t0 = now_ns();
    auto w = std::make_shared<const std::vector<std::size_t>>(which);
    bounded(
        which.size(), concurrency_, [w](std::size_t k) { return (*w)[k]; },
        [this, w](std::size_t k, std::function<void()> done) {
          auto i = (*w)[k];
          std::optional<asio::ip::address> src;
          if (!source_addrs_.empty()) src = source_addrs_[i % source_addrs_.size()];
          clients_[i]->open(servers_[i % servers_.size()], src,
                            [this, done](bool ok, const std::string& why) {
                              if (ok) {
                                st_.opened.fetch_add(1);
                              } else {
                                st_.open_failed.fetch_add(1);
                                std::lock_guard lk(mu_);
                                if (first_open_error_.empty()) first_open_error_ = why;
                              }
                              done();
                            });
        });
    return static_cast<double>(now_ns() - t0) / 1e9;
  }

  using request = std::tuple<std::size_t, std::string, json::object>;  // client, op, data
  // Runs the requests with bounded concurrency and returns their reply data in order; any
  // failure aborts the run with its message.
  std::vector<json::value> calls(const std::vector<request>& reqs) {
    struct results {
      std::mutex mu;
      std::vector<json::value> out;
      int failed = 0;
      std::string why;
    };
    auto r = std::make_shared<results>();
    r->out.resize(reqs.size());
    auto shared_reqs = std::make_shared<const std::vector<request>>(reqs);
    bool done = bounded(
        reqs.size(), concurrency_, [shared_reqs](std::size_t k) { return std::get<0>((*shared_reqs)[k]); },
        [this, r, shared_reqs](std::size_t k, std::function<void()> done) {
          const auto& [c, op, data] = (*shared_reqs)[k];
          clients_[c]->call(op, data, [r, k, op = op, done](bool ok, const json::value& v) {
            {
              std::lock_guard lk(r->mu);
              if (!ok && !r->failed++) r->why = op + ": " + json::serialize(v);
              r->out[k] = v;
            }
            done();
          });
        });
    std::lock_guard lk(r->mu);
    if (!done) throw std::runtime_error("setup requests timed out");
    if (r->failed) throw std::runtime_error("setup failed (" + std::to_string(r->failed) + "): " + r->why);
    return r->out;
  }

  // Runs fn(i) on client i's thread for each i and waits for all of them.
  void on_each(const std::vector<std::size_t>& which, std::function<void(std::size_t)> fn) {
    auto w = std::make_shared<const std::vector<std::size_t>>(which);
    bounded(
        which.size(), which.size(), [w](std::size_t k) { return (*w)[k]; },
        [w, fn](std::size_t k, std::function<void()> done) {
          fn((*w)[k]);
          done();
        });
  }

  // Waits until pred() holds, the run broke (connection lost), or the timeout; true if pred().
  bool wait_until(const std::function<bool()>& pred, std::chrono::duration<double> limit) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::nanoseconds>(limit);
    while (!pred()) {
      if (st_.closed_early.load() > 0 || std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }

  // Waits for deliveries to reach `expected`, or for 3 s without progress.
  void settle_deliveries(std::uint64_t expected) {
    auto last = st_.delivered.load();
    auto last_change = std::chrono::steady_clock::now();
    while (st_.delivered.load() < expected && st_.closed_early.load() == 0) {
      std::this_thread::sleep_for(5ms);
      auto d = st_.delivered.load();
      if (d != last) {
        last = d;
        last_change = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - last_change > 3s) {
        break;
      }
    }
  }

  void close_all() {
    on_each(all(), [this](std::size_t i) {
      clients_[i]->on_send_reply = nullptr;  // the drivers hold the client: break the cycle
      clients_[i]->on_event = nullptr;
      clients_[i]->close();
    });
    std::this_thread::sleep_for(200ms);
  }

  // Stops the workers; from here on their statistics may be read.
  void stop_workers() {
    if (stopped_) return;
    stopped_ = true;
    for (auto& w : workers_) w->stop();
    for (auto& w : workers_) {
      ack_us_.merge(w->ack_us);
      e2e_us_.merge(w->e2e_us);
      op_us_.merge(w->op_us);
      for (auto& [k, v] : w->errors) errors_[k] += v;
      for (auto& [k, v] : w->events) events_[k] += v;
    }
  }

  // Feeds every recorded ack and delivery to `v` (per user the order is the arrival order).
  void feed(delivery_verifier& v) const {
    for (const auto& w : workers_) {
      for (const auto& a : w->acks) v.on_ack(a.conv, a.seq, a.sender);
      for (const auto& d : w->deliveries) v.on_delivery(d.user, d.conv, d.seq);
    }
  }

  // Ends the run (connections closed, workers stopped) and checks what was recorded.
  delivery_verifier::report finish_and_verify(const conv_plan& convs) {
    close_all();
    stop_workers();
    delivery_verifier v;
    for (const auto& [conv, m] : convs) v.set_members(conv, m.first, m.second);
    feed(v);
    return v.finish();
  }

  // The JSON line's common part.
  json::object line(json::object params) const {
    json::object errs;
    std::uint64_t nerr = 0;
    for (const auto& [k, v] : errors_) {
      errs[k] = v;
      nerr += v;
    }
    json::object evs;
    for (const auto& [k, v] : events_) evs[k] = v;
    return {{"scenario", scenario_},
            {"revision", revision_},
            {"threads", threads_},
            {"sources", source_addrs_.size()},
            {"connections", clients_.size()},
            {"params", std::move(params)},
            {"errors", errs},
            {"error_count", nerr},
            {"events", evs}};
  }

  void print_errors() const {
    if (st_.open_failed.load())
      std::printf("connections failed: %d (first: %s)\n", st_.open_failed.load(), first_open_error_.c_str());
    if (st_.closed_early.load())
      std::printf("connections lost during the run: %d\n", st_.closed_early.load());
    for (const auto& [k, v] : errors_)
      std::printf("error %s: %llu\n", k.c_str(), static_cast<unsigned long long>(v));
  }

  // Prints the line, with the CPU this process used (the load generator must cost less per message
  // than the server it measures), and appends it to --results.
  void emit(json::object l) const {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto secs = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    l["client_cpu_s"] = secs(ru.ru_utime) + secs(ru.ru_stime);
    auto s = json::serialize(l);
    std::printf("%s\n", s.c_str());
    std::fflush(stdout);
    if (!results_.empty()) std::ofstream(results_, std::ios::app) << s << "\n";
  }

  std::uint64_t error_count() const {
    std::uint64_t n = 0;
    for (const auto& [k, v] : errors_) n += v;
    return n;
  }

  ~harness() {
    if (!stopped_)
      for (auto& w : workers_) w->stop();
    clients_.clear();  // before the io_contexts that their sockets belong to
  }

  bool stopped_ = false;
  std::string scenario_, host_, tokens_file_, org_, admin_mobile_, admin_password_, revision_, results_;
  int port_ = 0, threads_ = 1, sources_ = 0, server_pid_ = 0;
  std::size_t first_user_ = 0, concurrency_ = 1000;
  std::chrono::duration<double> timeout_{600};
  std::vector<seeded_user> users_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::shared_ptr<client>> clients_;
  std::vector<asio::ip::address> source_addrs_;
  std::vector<int> ports_;
  std::vector<tcp::endpoint> servers_;
  run_state st_;
  std::mutex mu_;
  std::string first_open_error_;
  histogram ack_us_, e2e_us_, op_us_;
  std::map<std::string, std::uint64_t> errors_, events_;
};

// Sends `total` text messages into `conv` from one client, closed loop (`window` in flight) or
// open loop (one every `interval`, from `t0`, whether or not acks came back; latency counts from
// the due time, so a stalled server cannot hide its stall).
struct sender : std::enable_shared_from_this<sender> {
  std::shared_ptr<client> c;
  std::string conv;
  int total = 0, window = 1, sent = 0, replied = 0;
  std::size_t text_bytes = 100;
  std::chrono::nanoseconds interval{0};
  std::int64_t t0 = 0;
  run_state* st = nullptr;
  std::unique_ptr<asio::steady_timer> timer;

  void start() {
    c->on_send_reply = [self = shared_from_this()] { self->on_reply(); };
    if (total == 0) {
      st->senders_done.fetch_add(1);
      return;
    }
    if (interval.count() > 0) {
      timer = std::make_unique<asio::steady_timer>(c->w.ioc);
      schedule();
    } else {
      for (int i = 0; i < window && sent < total; ++i) send(now_ns());
    }
  }
  void send(std::int64_t due) {
    ++sent;
    c->send_text(conv, due, text_bytes);
  }
  void schedule() {
    auto due_ns = t0 + interval.count() * sent;
    timer->expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(due_ns)));
    timer->async_wait([self = shared_from_this(), due_ns](boost::system::error_code ec) {
      if (ec) return;
      self->send(due_ns);
      if (self->sent < self->total) self->schedule();
    });
  }
  void on_reply() {
    ++replied;
    if (interval.count() == 0 && sent < total) send(now_ns());
    if (replied == total) st->senders_done.fetch_add(1);
  }
};

struct pacing {
  int window = 8;
  double rate = 0;  // sends per second over all senders; 0: closed loop
  int messages = 0;
  std::size_t text_bytes = 100;
};

pacing read_pacing(args& a, int default_messages) {
  pacing p;
  p.window = static_cast<int>(a.integer("window", 8, 1, 10000));
  p.rate = a.real("rate", 0, 0, 1e7);
  double duration = a.real("duration", 0, 0, 86400);
  p.messages = static_cast<int>(a.integer("messages", default_messages, 0, 100000000));
  p.text_bytes = static_cast<std::size_t>(a.integer("text-bytes", 100, 24, 8192));
  if (duration > 0 && p.rate <= 0) throw usage_error("--duration needs --rate");
  if (duration > 0 && a.has("messages")) throw usage_error("give --messages or --duration, not both");
  p.messages = duration > 0 ? -static_cast<int>(duration * 1000) : p.messages;  // resolved per sender count
  return p;
}

// The messaging scenarios' common run: senders start together, then deliveries settle, then the
// verifier judges. `members` maps each conversation to its online members and first seq.
int run_messaging(harness& h, const std::vector<std::size_t>& senders,
                  const std::vector<std::string>& conv_of, const conv_plan& members, pacing p,
                  json::object params) {
  int per_sender = p.messages;
  if (per_sender < 0) {  // --duration: the rate spread over the senders for that long
    double duration = -per_sender / 1000.0;
    per_sender = std::max(1, static_cast<int>(p.rate * duration / static_cast<double>(senders.size())));
  }
  std::vector<std::shared_ptr<sender>> drivers;
  auto t0 = now_ns() + 50'000'000;  // everyone's first open-loop send is due 50 ms from now
  for (std::size_t k = 0; k < senders.size(); ++k) {
    auto d = std::make_shared<sender>();
    d->c = h.clients_[senders[k]];
    d->conv = conv_of[senders[k]];
    d->total = per_sender;
    d->window = p.window;
    d->text_bytes = p.text_bytes;
    d->st = &h.st_;
    if (p.rate > 0) {
      d->interval = std::chrono::nanoseconds(
          static_cast<std::int64_t>(1e9 * static_cast<double>(senders.size()) / p.rate));
      // Staggered so the senders' sends interleave instead of arriving in bursts.
      d->t0 =
          t0 + d->interval.count() * static_cast<std::int64_t>(k) / static_cast<std::int64_t>(senders.size());
    }
    drivers.push_back(d);
  }
  std::map<std::int64_t, std::size_t> online;
  for (const auto& [conv, m] : members) online[conv] = m.first.size();
  auto started = now_ns();
  std::vector<std::size_t> idx(drivers.size());
  for (std::size_t k = 0; k < idx.size(); ++k) idx[k] = senders[k];
  std::map<std::size_t, std::shared_ptr<sender>> by_client;
  for (std::size_t k = 0; k < drivers.size(); ++k) by_client[senders[k]] = drivers[k];
  h.on_each(idx, [&](std::size_t i) { by_client.at(i)->start(); });
  bool finished =
      h.wait_until([&] { return h.st_.senders_done.load() == static_cast<int>(drivers.size()); }, h.timeout_);
  double secs = static_cast<double>(now_ns() - started) / 1e9;
  if (p.rate > 0) secs -= 0.05;  // the first send was due 50 ms after the start
  // Every ack implies (members - 1) deliveries in its conversation; wait for them to arrive.
  std::uint64_t expected = 0;
  {
    std::uint64_t total_acked = h.st_.acked.load();
    std::size_t m = online.empty() ? 1 : online.begin()->second;
    bool uniform = std::all_of(online.begin(), online.end(), [&](const auto& kv) { return kv.second == m; });
    expected = uniform ? total_acked * (m - 1) : ~std::uint64_t{0};
  }
  h.settle_deliveries(expected);
  double delivery_secs = static_cast<double>(now_ns() - started) / 1e9;
  auto rep = h.finish_and_verify(members);
  auto acked = h.ack_us_.count();
  std::printf("%s: %zu senders, %d messages each, %s, %zu-byte texts, %d threads, %zu source addresses\n",
              h.scenario_.c_str(), drivers.size(), per_sender,
              p.rate > 0
                  ? ("open loop at " + std::to_string(static_cast<long long>(p.rate)) + " sends/s").c_str()
                  : ("closed loop, window " + std::to_string(p.window)).c_str(),
              p.text_bytes, h.threads_, h.source_addrs_.size());
  std::printf("durable sends acked: %llu in %.2f s = %.0f/s%s\n", static_cast<unsigned long long>(acked),
              secs, static_cast<double>(acked) / secs, finished ? "" : " (RUN DID NOT FINISH)");
  std::printf("ack latency:      %s\n", latency_line(h.ack_us_).c_str());
  std::printf("deliveries:       %llu = %.0f/s\n", static_cast<unsigned long long>(rep.delivered),
              static_cast<double>(rep.delivered) / delivery_secs);
  std::printf("delivery latency: %s\n", latency_line(h.e2e_us_).c_str());
  h.print_errors();
  print_verify(rep);
  bool clean = rep.ok() && finished && h.error_count() == 0 && h.st_.open_failed.load() == 0 &&
               h.st_.closed_early.load() == 0;
  params["senders"] = drivers.size();
  params["messages_per_sender"] = per_sender;
  params["window"] = p.rate > 0 ? 0 : p.window;
  params["offered_rate"] = p.rate;
  params["text_bytes"] = p.text_bytes;
  auto l = h.line(std::move(params));
  l["seconds"] = secs;
  l["sends"] = acked;
  l["sends_per_s"] = static_cast<double>(acked) / secs;
  l["ack_latency"] = latency_json(h.ack_us_);
  l["deliveries"] = rep.delivered;
  l["deliveries_per_s"] = static_cast<double>(rep.delivered) / delivery_secs;
  l["delivery_latency"] = latency_json(h.e2e_us_);
  l["verify"] = json::object{{"gaps", rep.gaps},
                             {"duplicates", rep.duplicates},
                             {"reorders", rep.reorders},
                             {"missing", rep.missing},
                             {"unexpected", rep.unexpected}};
  l["verified"] = clean;
  h.emit(l);
  return clean ? 0 : 1;
}

// Connects every client; false (after printing why) when any failed.
bool open_all(harness& h) {
  double secs = h.open(h.all());
  if (h.st_.open_failed.load() > 0) {
    std::printf("%d of %zu connections failed in %.2f s; first: %s\n", h.st_.open_failed.load(),
                h.clients_.size(), secs, h.first_open_error_.c_str());
    return false;
  }
  return true;
}

std::string conv_id(const json::value& reply) {
  return std::string(reply.at("conv").at("conv").as_string());
}
std::int64_t next_seq(const json::value& reply) {
  return reply.at("conv").at("last_seq").as_int64() + 1;
}

// Users 2k and 2k+1 as pairs, connected, with their direct conversations (the open_direct replies);
// nullopt when a connection failed.
std::optional<std::vector<json::value>> open_pairs(harness& h, std::size_t pairs) {
  h.provision(2 * pairs);
  h.make_clients();
  if (!open_all(h)) return std::nullopt;
  std::vector<harness::request> reqs;
  for (std::size_t k = 0; k < pairs; ++k)
    reqs.emplace_back(2 * k, "open_direct", json::object{{"user", std::to_string(h.users_[2 * k + 1].id)}});
  return h.calls(reqs);
}

int scenario_direct(args& a) {
  harness h(a, "direct");
  auto pairs = static_cast<std::size_t>(a.integer("pairs", 10, 1, 1000000));
  auto p = read_pacing(a, 200);
  a.check_all_used();
  auto replies = open_pairs(h, pairs);
  if (!replies) return 1;
  std::vector<std::string> conv_of(h.clients_.size());
  conv_plan members;
  for (std::size_t k = 0; k < pairs; ++k) {
    conv_of[2 * k] = conv_of[2 * k + 1] = conv_id((*replies)[k]);
    members[std::stoll(conv_of[2 * k])] = {{h.users_[2 * k].id, h.users_[2 * k + 1].id},
                                           next_seq((*replies)[k])};
  }
  return run_messaging(h, h.all(), conv_of, members, p, {{"pairs", pairs}});
}

int scenario_group(args& a) {
  harness h(a, "group");
  auto groups = static_cast<std::size_t>(a.integer("groups", 1, 1, 100000));
  auto size = static_cast<std::size_t>(a.integer("members", 10, 2, 100000));
  auto nsend = static_cast<std::size_t>(a.integer("senders", 1, 1, 100000));
  if (nsend > size) throw usage_error("--senders must not exceed --members");
  auto p = read_pacing(a, 200);
  a.check_all_used();
  h.provision(groups * size);
  h.make_clients();
  if (!open_all(h)) return 1;
  std::vector<harness::request> reqs;
  for (std::size_t g = 0; g < groups; ++g) {
    json::array ids;
    for (std::size_t m = 1; m < size; ++m) ids.emplace_back(std::to_string(h.users_[g * size + m].id));
    reqs.emplace_back(g * size, "create_group",
                      json::object{{"name", "load group " + std::to_string(g)}, {"members", std::move(ids)}});
  }
  auto replies = h.calls(reqs);
  std::vector<std::string> conv_of(h.clients_.size());
  conv_plan members;
  std::vector<std::size_t> senders;
  for (std::size_t g = 0; g < groups; ++g) {
    auto conv = conv_id(replies[g]);
    std::vector<std::int64_t> ids;
    for (std::size_t m = 0; m < size; ++m) {
      conv_of[g * size + m] = conv;
      ids.push_back(h.users_[g * size + m].id);
      if (m < nsend) senders.push_back(g * size + m);
    }
    members[std::stoll(conv)] = {std::move(ids), next_seq(replies[g])};
  }
  // conv_update events from creating the groups are still arriving: let them land first.
  std::this_thread::sleep_for(200ms);
  return run_messaging(h, senders, conv_of, members, p,
                       {{"groups", groups}, {"members", size}, {"senders_per_group", nsend}});
}

int scenario_sync(args& a) {
  harness h(a, "sync");
  int k = static_cast<int>(a.integer("messages", 10000, 1, 10000000));
  int window = static_cast<int>(a.integer("window", 32, 1, 10000));
  a.check_all_used();
  h.provision(2);
  h.make_clients();
  // Only the sender is online while it sends.
  h.open({0});
  if (h.st_.open_failed.load()) {
    std::printf("connect failed: %s\n", h.first_open_error_.c_str());
    return 1;
  }
  auto reply = h.calls({{0, "open_direct", json::object{{"user", std::to_string(h.users_[1].id)}}}})[0];
  auto conv = conv_id(reply);
  auto first = next_seq(reply);
  auto d = std::make_shared<sender>();
  d->c = h.clients_[0];
  d->conv = conv;
  d->total = k;
  d->window = window;
  d->st = &h.st_;
  auto t_send = now_ns();
  h.on_each({0}, [&](std::size_t) { d->start(); });
  bool sent = h.wait_until([&] { return h.st_.senders_done.load() == 1; }, h.timeout_);
  double send_secs = static_cast<double>(now_ns() - t_send) / 1e9;
  // The receiver connects and catches up from just before this run's first message.
  h.open({1});
  std::promise<void> done;
  std::vector<std::int64_t> seqs;
  std::string sync_error;
  auto t0 = now_ns();
  std::function<void(std::int64_t)> page = [&](std::int64_t after) {
    h.clients_[1]->call("sync", {{"conv", conv}, {"after_seq", after}, {"limit", 500}},
                        [&, after](bool ok, const json::value& v) {
                          if (!ok) {
                            sync_error = json::serialize(v);
                            return done.set_value();
                          }
                          std::int64_t last = after;
                          for (const auto& m : v.at("messages").as_array()) {
                            last = m.at("seq").as_int64();
                            seqs.push_back(last);
                          }
                          if (v.at("has_more").as_bool() && last > after) return page(last);
                          done.set_value();
                        });
  };
  asio::post(h.worker_of(1).ioc, [&] { page(first - 1); });
  auto fut = done.get_future();
  bool answered = fut.wait_for(h.timeout_) == std::future_status::ready;
  double sync_ms = static_cast<double>(now_ns() - t0) / 1e6;
  auto rep = h.finish_and_verify({{std::stoll(conv), {{h.users_[0].id}, first}}});
  // The synced seqs must be exactly the acked ones, in order.
  std::vector<std::int64_t> acked;
  for (const auto& w : h.workers_)
    for (const auto& ack : w->acks) acked.push_back(ack.seq);
  std::sort(acked.begin(), acked.end());
  bool sync_ok = answered && sync_error.empty() && seqs == acked;
  std::printf(
      "sync: %d messages sent in %.2f s (%.0f/s, window %d); the offline member then caught up %zu "
      "messages in %.1f ms (%s)\n",
      k, send_secs, k / send_secs, window, seqs.size(), sync_ms,
      sync_ok ? "exactly the acked seqs, in order" : "INCOMPLETE, EXTRA OR OUT OF ORDER");
  if (!sync_error.empty()) std::printf("sync failed: %s\n", sync_error.c_str());
  h.print_errors();
  bool clean = sent && sync_ok && rep.ok() && h.error_count() == 0;
  auto l = h.line({{"messages", k}, {"window", window}});
  l["sends_per_s"] = k / send_secs;
  l["ack_latency"] = latency_json(h.ack_us_);
  l["sync_messages"] = seqs.size();
  l["sync_ms"] = sync_ms;
  l["verified"] = clean;
  h.emit(l);
  return clean ? 0 : 1;
}

// connect and idle: open N connections; idle then holds them and watches the server's memory.
int scenario_connections(args& a, bool idle) {
  harness h(a, idle ? "idle" : "connect");
  auto n = static_cast<std::size_t>(a.integer("connections", 1000, 1, 10000000));
  double hold = idle ? a.real("hold", 30, 0, 86400) : 0;
  double ping_s = idle ? a.real("ping-s", 25, 0.1, 3600) : 0;
  a.check_all_used();
  h.provision(n);
  h.make_clients();
  long rss0 = rss_kib(h.server_pid_);
  double secs = h.open(h.all());
  long rss1 = rss_kib(h.server_pid_);
  int ok = h.st_.opened.load(), failed = h.st_.open_failed.load();
  std::printf(
      "%s: %d of %zu connections opened and authenticated by hello in %.2f s (%.0f/s), %d failed, "
      "%d threads, %zu source addresses\n",
      h.scenario_.c_str(), ok, n, secs, ok / secs, failed, h.threads_, h.source_addrs_.size());
  long rss2 = rss1;
  if (idle && hold > 0) {
    // Clients hold still; the server pings them (Beast answers) and they send an app ping now
    // and then, as a mobile client would.
    auto end = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(hold));
    auto next_ping = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                            std::chrono::duration<double>(ping_s));
    while (std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(50ms);
      if (std::chrono::steady_clock::now() >= next_ping) {
        next_ping +=
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(ping_s));
        h.on_each(h.all(), [&h](std::size_t i) {
          if (h.clients_[i]->is_open()) h.clients_[i]->call("ping", {}, [](bool, const json::value&) {});
        });
      }
    }
    rss2 = rss_kib(h.server_pid_);
  }
  int lost = h.st_.closed_early.load();
  h.close_all();
  h.stop_workers();
  if (failed) std::printf("first failure: %s\n", h.first_open_error_.c_str());
  auto l = h.line({{"connections", n}, {"hold_s", hold}, {"concurrency", h.concurrency_}});
  l["seconds"] = secs;
  l["opened"] = ok;
  l["failed"] = failed;
  l["hellos_per_s"] = ok / secs;
  l["hello_latency"] = latency_json(h.op_us_);  // hellos (and idle pings)
  std::printf("hello (and ping) latency: %s\n", latency_line(h.op_us_).c_str());
  if (h.server_pid_ > 0) {
    long after = idle ? rss2 : rss1;
    double per = static_cast<double>(after - rss0) * 1024.0 / static_cast<double>(std::max(1, ok));
    std::printf(
        "server RSS: %ld KiB before, %ld KiB with the connections open%s; %.0f bytes per connection\n", rss0,
        rss1, idle ? (", " + std::to_string(rss2) + " KiB after holding them").c_str() : "", per);
    l["server_rss_kib_before"] = rss0;
    l["server_rss_kib_open"] = rss1;
    if (idle) l["server_rss_kib_after_hold"] = rss2;
    l["server_rss_bytes_per_connection"] = per;
  }
  if (idle) {
    std::printf("held %.0f s: %d of %d connections still open\n", hold, ok - lost, ok);
    l["lost"] = lost;
  }
  h.print_errors();
  bool clean = failed == 0 && lost == 0 && h.error_count() == 0;
  l["verified"] = clean;
  h.emit(l);
  return clean ? 0 : 1;
}

// A realistic mix: users in direct pairs and groups of 10; each action is a direct or group send
// preceded by typing, or a presence query; receivers mark a share of what they get as read.
int scenario_mixed(args& a) {
  harness h(a, "mixed");
  auto n = static_cast<std::size_t>(a.integer("users", 100, 10, 10000000));
  double rate = a.real("rate", 200, 0.1, 1e7);
  double duration = a.real("duration", 10, 0.1, 86400);
  auto text_bytes = static_cast<std::size_t>(a.integer("text-bytes", 100, 24, 8192));
  a.check_all_used();
  n -= n % 10;
  h.provision(n);
  h.make_clients();
  if (!open_all(h)) return 1;
  std::vector<harness::request> reqs;
  for (std::size_t i = 0; i < n; i += 2)
    reqs.emplace_back(i, "open_direct", json::object{{"user", std::to_string(h.users_[i + 1].id)}});
  for (std::size_t g = 0; g < n; g += 10) {
    json::array ids;
    for (std::size_t m = 1; m < 10; ++m) ids.emplace_back(std::to_string(h.users_[g + m].id));
    reqs.emplace_back(g, "create_group",
                      json::object{{"name", "team " + std::to_string(g / 10)}, {"members", ids}});
  }
  for (std::size_t i = 0; i < n; ++i) {  // each watches its team mates' presence
    json::array ids;
    for (std::size_t m = i - i % 10; m < i - i % 10 + 10; ++m)
      if (m != i) ids.emplace_back(std::to_string(h.users_[m].id));
    reqs.emplace_back(i, "presence_sub", json::object{{"users", ids}});
  }
  auto replies = h.calls(reqs);
  std::vector<std::string> direct_of(n), group_of(n);
  conv_plan members;
  for (std::size_t k = 0; k < n / 2; ++k) {
    direct_of[2 * k] = direct_of[2 * k + 1] = conv_id(replies[k]);
    members[std::stoll(direct_of[2 * k])] = {{h.users_[2 * k].id, h.users_[2 * k + 1].id},
                                             next_seq(replies[k])};
  }
  for (std::size_t g = 0; g < n / 10; ++g) {
    const auto& r = replies[n / 2 + g];
    std::vector<std::int64_t> ids;
    for (std::size_t m = 0; m < 10; ++m) {
      group_of[g * 10 + m] = conv_id(r);
      ids.push_back(h.users_[g * 10 + m].id);
    }
    members[std::stoll(conv_id(r))] = {std::move(ids), next_seq(r)};
  }
  std::this_thread::sleep_for(200ms);
  // Each user acts every n/rate seconds, open loop; a receiver marks every fourth message read (a
  // client marks what the user has seen, not each message as it arrives).
  struct actor : std::enable_shared_from_this<actor> {
    std::shared_ptr<client> c;
    std::string direct, group;
    std::shared_ptr<const std::vector<std::string>> others;  // user ids to query presence of
    std::mt19937 rng;
    std::unique_ptr<asio::steady_timer> timer;
    std::int64_t t0 = 0, interval = 0;
    int actions = 0, done = 0, sends = 0, replies = 0, reads = 0;
    std::size_t text_bytes = 100;
    run_state* st = nullptr;
    bool finished = false;
    void start() {
      timer = std::make_unique<asio::steady_timer>(c->w.ioc);
      c->on_send_reply = [self = shared_from_this()] {
        ++self->replies;
        self->maybe_finish();
      };
      c->on_event = [self = shared_from_this()](const std::string& ev, const json::object& d) {
        if (ev == "message" && (self->reads++ % 4) == 0)
          self->c->call("read", {{"conv", d.at("conv")}, {"seq", d.at("seq")}},
                        [](bool, const json::value&) {});
      };
      next();
    }
    void next() {
      auto due = t0 + interval * done;
      timer->expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(due)));
      timer->async_wait([self = shared_from_this(), due](boost::system::error_code ec) {
        if (ec) return;
        self->act(due);
        if (++self->done < self->actions)
          self->next();
        else
          self->maybe_finish();
      });
    }
    void act(std::int64_t due) {
      auto r = rng() % 100;
      if (r < 10) {
        json::array ids;
        for (int i = 0; i < 20; ++i) ids.emplace_back((*others)[rng() % others->size()]);
        c->call("presence", {{"users", ids}}, [](bool, const json::value&) {});
        return;
      }
      const auto& conv = r < 70 ? direct : group;
      c->call("typing", {{"conv", conv}}, [](bool, const json::value&) {});
      ++sends;
      c->send_text(conv, due, text_bytes);
    }
    void maybe_finish() {
      if (!finished && done == actions && replies == sends) {
        finished = true;
        st->senders_done.fetch_add(1);
      }
    }
  };
  auto per_user = std::max(1, static_cast<int>(rate * duration / static_cast<double>(n)));
  auto interval = static_cast<std::int64_t>(1e9 * static_cast<double>(n) / rate);
  auto t0 = now_ns() + 50'000'000;
  std::vector<std::shared_ptr<actor>> actors;
  auto ids_for_presence = std::make_shared<std::vector<std::string>>();  // one list for every actor
  for (std::size_t j = 0; j < std::min<std::size_t>(n, 500); ++j)
    ids_for_presence->push_back(std::to_string(h.users_[j].id));
  std::shared_ptr<const std::vector<std::string>> presence_ids = ids_for_presence;
  for (std::size_t i = 0; i < n; ++i) {
    auto ac = std::make_shared<actor>();
    ac->c = h.clients_[i];
    ac->direct = direct_of[i];
    ac->group = group_of[i];
    ac->others = presence_ids;
    ac->rng.seed(static_cast<unsigned>(i * 7919 + 1));
    ac->t0 = t0 + interval * static_cast<std::int64_t>(i) / static_cast<std::int64_t>(n);
    ac->interval = interval;
    ac->actions = per_user;
    ac->text_bytes = text_bytes;
    ac->st = &h.st_;
    actors.push_back(ac);
  }
  auto started = now_ns();
  h.on_each(h.all(), [&](std::size_t i) { actors[i]->start(); });
  bool finished = h.wait_until([&] { return h.st_.senders_done.load() == static_cast<int>(n); }, h.timeout_);
  double secs = static_cast<double>(now_ns() - started) / 1e9 - 0.05;
  h.settle_deliveries(~std::uint64_t{0} >> 1);  // mixed sizes: settle by quiet time
  auto rep = h.finish_and_verify(members);
  std::printf("mixed: %zu users, %d actions each over %.1f s (offered %.0f actions/s)\n", n, per_user, secs,
              rate);
  std::printf("sends acked: %llu (%.0f/s); deliveries %llu\n",
              static_cast<unsigned long long>(h.ack_us_.count()),
              static_cast<double>(h.ack_us_.count()) / secs, static_cast<unsigned long long>(rep.delivered));
  std::printf("ack latency:        %s\n", latency_line(h.ack_us_).c_str());
  std::printf("delivery latency:   %s\n", latency_line(h.e2e_us_).c_str());
  std::printf("other ops latency:  %s\n", latency_line(h.op_us_).c_str());
  for (const auto& [ev, count] : h.events_)
    std::printf("events %s: %llu\n", ev.c_str(), static_cast<unsigned long long>(count));
  h.print_errors();
  print_verify(rep);
  bool clean = finished && rep.ok() && h.error_count() == 0 && h.st_.closed_early.load() == 0;
  auto l = h.line({{"users", n}, {"offered_rate", rate}, {"duration_s", duration}});
  l["seconds"] = secs;
  l["sends"] = h.ack_us_.count();
  l["sends_per_s"] = static_cast<double>(h.ack_us_.count()) / secs;
  l["ack_latency"] = latency_json(h.ack_us_);
  l["delivery_latency"] = latency_json(h.e2e_us_);
  l["op_latency"] = latency_json(h.op_us_);
  l["deliveries"] = rep.delivered;
  l["verified"] = clean;
  h.emit(l);
  return clean ? 0 : 1;
}

// Password logins over HTTP, `concurrency` at a time: reported apart from connects, since their
// cost is the scrypt work factor (auth.scrypt_log2_n), slow on purpose.
// One pair's calls, one after another. The caller's side runs on the caller's worker, the
// callee's on the callee's; what both touch is atomic. A call: the caller invites; the callee
// accepts on call_incoming and sends its S signals; the caller, once call_update says active,
// sends its S; when the caller has every signal of the callee and every reply to its own, it hangs
// up; when both sides saw call_ended, the caller places the next call. Each side checks that the
// other's signals arrive once, in order, at its own session.
struct call_pair : std::enable_shared_from_this<call_pair> {
  std::shared_ptr<client> caller, callee;
  std::string conv;
  int calls = 0, signals = 0;
  std::atomic<int>* pairs_done = nullptr;
  std::atomic<std::uint64_t>* completed = nullptr;
  std::atomic<std::uint64_t>* relayed = nullptr;
  // Caller's side.
  int placed = 0, caller_got = 0, caller_acked = 0;
  bool active = false, hung = false;
  std::int64_t invited_ns = 0;
  std::string call_id;
  // Callee's side.
  int callee_got = 0;
  std::string callee_call;
  std::atomic<int> ended{0};
  std::atomic<bool> failed{false};

  void fail(worker& w, const std::string& what) {
    ++w.errors[what];
    if (!failed.exchange(true)) pairs_done->fetch_add(1);
  }
  json::object signal(const std::string& call, const std::string& to, int i, const char* kind) {
    return {{"call", call},
            {"to", to},
            {"kind", kind},
            {"payload", json::object{{"t", now_ns()},
                                     {"i", i},
                                     {"candidate",
                                      "candidate:1 1 udp 2122260223 "
                                      "192.0.2.10 54321 typ host"}}}};
  }
  // The signal's order and latency, on the receiving side's worker.
  bool received(worker& w, const json::object& d, int& got, const std::string& call) {
    if (std::string(d.at("call").as_string()) != call || d.at("payload").at("i").as_int64() != got)
      return false;
    w.e2e_us.record(static_cast<std::uint64_t>((now_ns() - d.at("payload").at("t").as_int64()) / 1000));
    ++got;
    relayed->fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  void start() {
    auto self = shared_from_this();
    caller->on_event = [self](const std::string& ev, const json::object& d) { self->caller_event(ev, d); };
    callee->on_event = [self](const std::string& ev, const json::object& d) { self->callee_event(ev, d); };
    place();
  }
  void place() {  // caller's worker
    if (failed) return;
    if (placed == calls) {
      pairs_done->fetch_add(1);
      return;
    }
    ++placed;
    caller_got = caller_acked = 0;
    active = hung = false;
    call_id.clear();
    ended = 0;
    invited_ns = now_ns();
    auto self = shared_from_this();
    caller->call(
        "call_invite",
        {{"conv", conv}, {"media", "audio"}, {"client_call_id", run_nonce() + std::to_string(placed)}},
        [self](bool ok, const json::value& v) {
          if (!ok) return self->fail(self->caller->w, "call_invite " + json::serialize(v.at("code")));
          std::string id(v.at("call").at("call").as_string());
          if (!self->call_id.empty() && self->call_id != id)
            return self->fail(self->caller->w, "caller: a signal of another call");
          self->call_id = id;
          self->maybe_active();
        });
  }
  void caller_event(const std::string& ev, const json::object& d) {
    if (ev == "call_update" && std::string(d.at("state").as_string()) == "active") {
      if (!active && !call_id.empty() && std::string(d.at("call").as_string()) == call_id) {
        active = true;
        caller->w.ack_us.record(static_cast<std::uint64_t>((now_ns() - invited_ns) / 1000));
        send_signals();
      } else if (call_id.empty()) {
        pending_active = std::string(d.at("call").as_string());  // before the invite's reply
      }
    } else if (ev == "call_signal") {
      if (call_id.empty()) call_id = std::string(d.at("call").as_string());  // before the invite's reply
      if (!received(caller->w, d, caller_got, call_id)) return fail(caller->w, "caller: signal out of order");
      maybe_hang_up();
    } else if (ev == "call_ended") {
      if (std::string(d.at("reason").as_string()) != "hangup")
        return fail(caller->w, "caller: call ended early");
      side_ended();
    }
  }
  std::string pending_active;
  void maybe_active() {
    if (!pending_active.empty() && pending_active == call_id && !active) {
      active = true;
      caller->w.ack_us.record(static_cast<std::uint64_t>((now_ns() - invited_ns) / 1000));
      send_signals();
    }
    pending_active.clear();
  }
  void send_signals() {
    auto self = shared_from_this();
    for (int i = 0; i < signals; ++i)
      caller->call("call_signal", signal(call_id, callee->session_id, i, i == 0 ? "offer" : "ice"),
                   [self](bool ok, const json::value& v) {
                     if (!ok)
                       return self->fail(self->caller->w, "call_signal " + json::serialize(v.at("code")));
                     ++self->caller_acked;
                     self->maybe_hang_up();
                   });
    maybe_hang_up();
  }
  void maybe_hang_up() {
    if (hung || !active || caller_got < signals || caller_acked < signals) return;
    hung = true;
    auto self = shared_from_this();
    caller->call("call_hangup", {{"call", call_id}}, [self](bool ok, const json::value& v) {
      if (!ok) self->fail(self->caller->w, "call_hangup " + json::serialize(v.at("code")));
    });
  }
  void callee_event(const std::string& ev, const json::object& d) {
    if (ev == "call_incoming") {
      callee_call = std::string(d.at("call").as_string());
      callee_got = 0;
      auto self = shared_from_this();
      callee->call("call_accept", {{"call", callee_call}}, [self](bool ok, const json::value& v) {
        if (!ok) return self->fail(self->callee->w, "call_accept " + json::serialize(v.at("code")));
        for (int i = 0; i < self->signals; ++i)
          self->callee->call(
              "call_signal",
              self->signal(self->callee_call, self->caller->session_id, i, i == 0 ? "answer" : "ice"),
              [self](bool ok, const json::value& v) {
                if (!ok) self->fail(self->callee->w, "call_signal " + json::serialize(v.at("code")));
              });
      });
    } else if (ev == "call_signal") {
      if (!received(callee->w, d, callee_got, callee_call)) fail(callee->w, "callee: signal out of order");
    } else if (ev == "call_ended") {
      if (callee_got != signals) return fail(callee->w, "callee: call ended before every signal came");
      side_ended();
    }
  }
  void side_ended() {
    if (ended.fetch_add(1) + 1 != 2) return;
    completed->fetch_add(1);
    asio::post(caller->w.ioc, [self = shared_from_this()] { self->place(); });
  }
};

int scenario_calls(args& a) {
  harness h(a, "calls");
  auto pairs = static_cast<std::size_t>(a.integer("pairs", 10, 1, 100000));
  auto calls = static_cast<int>(a.integer("calls", 20, 1, 1000000));
  auto signals = static_cast<int>(a.integer("signals", 5, 0, 1000));
  a.check_all_used();
  auto replies = open_pairs(h, pairs);
  if (!replies) return 1;
  std::atomic<int> done{0};
  std::atomic<std::uint64_t> completed{0}, relayed{0};
  std::vector<std::shared_ptr<call_pair>> drivers;
  for (std::size_t k = 0; k < pairs; ++k) {
    auto d = std::make_shared<call_pair>();
    d->caller = h.clients_[2 * k];
    d->callee = h.clients_[2 * k + 1];
    d->conv = conv_id((*replies)[k]);
    d->calls = calls;
    d->signals = signals;
    d->pairs_done = &done;
    d->completed = &completed;
    d->relayed = &relayed;
    drivers.push_back(d);
  }
  auto started = now_ns();
  std::vector<std::size_t> callers;
  for (std::size_t k = 0; k < pairs; ++k) callers.push_back(2 * k);
  h.on_each(callers, [&](std::size_t i) { drivers[i / 2]->start(); });
  bool finished = h.wait_until([&] { return done.load() == static_cast<int>(pairs); }, h.timeout_);
  double secs = static_cast<double>(now_ns() - started) / 1e9;
  h.on_each(h.all(), [&](std::size_t i) { h.clients_[i]->on_event = nullptr; });  // the drivers' cycle
  h.close_all();
  h.stop_workers();
  bool all_failed_free =
      std::none_of(drivers.begin(), drivers.end(), [](const auto& d) { return d->failed.load(); });
  auto expected = static_cast<std::uint64_t>(pairs) * static_cast<std::uint64_t>(calls);
  bool clean = finished && all_failed_free && completed.load() == expected &&
               relayed.load() == expected * 2 * static_cast<std::uint64_t>(signals) && h.error_count() == 0 &&
               h.st_.closed_early.load() == 0;
  std::printf("calls: %zu pairs, %d calls each, %d signals each way per call, %d threads\n", pairs, calls,
              signals, h.threads_);
  std::printf("calls completed: %llu of %llu in %.2f s = %.1f call setups/s\n",
              static_cast<unsigned long long>(completed.load()), static_cast<unsigned long long>(expected),
              secs, static_cast<double>(completed.load()) / secs);
  std::printf("setup latency (invite to active at the caller): %s\n", latency_line(h.ack_us_).c_str());
  std::printf("signals relayed: %llu = %.0f/s\n", static_cast<unsigned long long>(relayed.load()),
              static_cast<double>(relayed.load()) / secs);
  std::printf("signal relay latency: %s\n", latency_line(h.e2e_us_).c_str());
  h.print_errors();
  std::printf("verified: %s\n",
              clean ? "every call set up, every signal once and in order, every call ended" : "NO");
  auto l = h.line({{"pairs", pairs}, {"calls_per_pair", calls}, {"signals_each_way", signals}});
  l["seconds"] = secs;
  l["calls_completed"] = completed.load();
  l["call_setups_per_s"] = static_cast<double>(completed.load()) / secs;
  l["setup_latency"] = latency_json(h.ack_us_);
  l["signals_relayed"] = relayed.load();
  l["signal_latency"] = latency_json(h.e2e_us_);
  l["verified"] = clean;
  h.emit(l);
  return clean ? 0 : 1;
}

int scenario_login(args& a) {
  auto host = a.str("host", "127.0.0.1");
  auto port = static_cast<int>(a.integer("port", 0, 1, 65535));
  auto org = a.str("org"), mobile = a.str("mobile"), password = a.str("password");
  auto count = static_cast<int>(a.integer("count", 100, 1, 10000000));
  auto conc = static_cast<int>(a.integer("concurrency", 4, 1, 1000));
  auto revision = a.str("revision", "unknown");
  auto results = a.str("results");
  a.check_all_used();
  if (!port || org.empty() || mobile.empty() || password.empty())
    throw usage_error("login needs --port, --org, --mobile and --password");
  std::atomic<int> next{0}, failed{0};
  std::vector<histogram> hs(static_cast<std::size_t>(conc));
  std::vector<std::thread> ts;
  auto t0 = now_ns();
  for (int t = 0; t < conc; ++t)
    ts.emplace_back([&, t] {
      while (next.fetch_add(1) < count) {
        auto s = now_ns();
        try {
          http_json(host, port, http::verb::post, "/v1/auth/login",
                    {{"org", org}, {"mobile", mobile}, {"password", password}});
          hs[static_cast<std::size_t>(t)].record(static_cast<std::uint64_t>((now_ns() - s) / 1000));
        } catch (const std::exception&) {
          ++failed;
        }
      }
    });
  for (auto& th : ts) th.join();
  double secs = static_cast<double>(now_ns() - t0) / 1e9;
  histogram all;
  for (auto& x : hs) all.merge(x);
  std::printf("login: %d password logins in %.2f s = %.0f/s at concurrency %d, %d failed\n", count, secs,
              count / secs, conc, failed.load());
  std::printf("login latency: %s\n", latency_line(all).c_str());
  json::object l{{"scenario", "login"},
                 {"revision", revision},
                 {"params", json::object{{"count", count}, {"concurrency", conc}}},
                 {"seconds", secs},
                 {"logins_per_s", count / secs},
                 {"latency", latency_json(all)},
                 {"failed", failed.load()},
                 {"verified", failed.load() == 0}};
  auto s = json::serialize(l);
  std::printf("%s\n", s.c_str());
  if (!results.empty()) std::ofstream(results, std::ios::app) << s << "\n";
  return failed.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    std::cout << usage;
    return argc < 2 ? 2 : 0;
  }
  std::string scenario = argv[1];
  try {
    args a(argc, argv, 2);
    if (scenario == "direct") return scenario_direct(a);
    if (scenario == "group") return scenario_group(a);
    if (scenario == "sync") return scenario_sync(a);
    if (scenario == "connect") return scenario_connections(a, false);
    if (scenario == "idle") return scenario_connections(a, true);
    if (scenario == "mixed") return scenario_mixed(a);
    if (scenario == "login") return scenario_login(a);
    if (scenario == "calls") return scenario_calls(a);
    throw usage_error("unknown scenario '" + scenario + "'");
  } catch (const usage_error& e) {
    std::cerr << "switchboard-load: " << e.what() << "\n\n" << usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "switchboard-load: " << e.what() << "\n";
    return 1;
  }
}
