// switchboard-soak: the fault-and-soak test. It provisions a fresh database on a PostgreSQL it is
// given (with scripts to crash and start it), starts `switchboard serve` behind its own TCP fault
// proxy to that PostgreSQL, connects N users who chat in direct and group conversations with
// known client_msg_ids, and for the length of the run injects faults one after another:
// PostgreSQL crashes (`pg_ctl stop -m immediate`, then start), resets, stalls and added latency on
// the server's database connections, kill -9 and SIGTERM of the server (restarted at once), and
// dropped client connections. Then it lifts the faults, lets every unsettled send be resent until
// acked, and checks every conversation against the database: every acked message there exactly
// once at its acked seq, seqs gapless, nothing stored that no one sent, and every user's view
// (what it was told during the run, and a full sync at the end) equal to the database.
// With --nodes N > 1 it runs a cluster instead: a nats-server and N nodes on the same database, each
// node reaching the bus through a fault proxy of its own; users land on any node and move to the
// next one when their connection is lost; the faults add node kills (of any node), bus restarts
// and one node cut off from the bus.
// Exit status: 0 clean, 1 a violation, 2 usage or setup failure. Run with no arguments for usage.
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <pqxx/pqxx>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "tools/soak/fault_proxy.hpp"
#include "tools/soak/processes.hpp"
#include "tools/soak/soak_user.hpp"

using namespace switchboard;
using namespace switchboard::soak;
using namespace std::chrono_literals;
namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* usage = R"(usage: switchboard-soak [options]

Provisions a fresh database on the given PostgreSQL, runs the server behind a fault proxy, and
chats under faults for the given time; then checks every conversation against the database.

  --database-url URL   an existing PostgreSQL (a superuser URL; env SB_TEST_DATABASE_URL)
  --pg-crash CMD       shell command that crashes it: pg_ctl stop -m immediate (env SB_TEST_PG_CRASH)
  --pg-start CMD       shell command that starts it again (env SB_TEST_PG_START)
  --server BIN         the switchboard binary (default: the one built with this tool)
  --minutes M (2)      how long faults are injected
  --users N (40)       users; half chat in direct pairs, all are in groups of --group-size
  --group-size K (8)
  --rate R (2)         new messages per user per second
  --window W (4)       sends in flight per user
  --fault-every S (6)  seconds between faults (each fault then lasts 1-8 s)
  --faults LIST        comma-separated, default all: pg_restart,db_reset,db_stall,db_latency,
                       server_kill,server_term,client_drop (and with --nodes: bus_restart,
                       bus_partition). server_kill and server_term hit a random node.
  --nodes N (1)        nodes; more than one runs a cluster over NATS
  --nats-server BIN    the nats-server binary (default: nats-server on PATH, else /usr/sbin)
  --seed N             random seed (default: from the clock; printed)
  --workdir DIR        logs and the tokens file (default: a new /tmp/switchboard-soak.XXXXXX)
  --results FILE       append the summary JSON line to FILE
Exit status: 0 clean, 1 a violation, 2 usage or setup failure.
)";

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string env_or(const char* name, const std::string& def = "") {
  const char* v = std::getenv(name);
  return v ? v : def;
}

struct options {
  std::string database_url = env_or("SB_TEST_DATABASE_URL");
  std::string pg_crash = env_or("SB_TEST_PG_CRASH");
  std::string pg_start = env_or("SB_TEST_PG_START");
  std::string server = SWITCHBOARD_BINARY;
  double minutes = 2;
  int users = 40, group_size = 8, window = 4;
  double rate = 2, fault_every = 6;
  std::vector<std::string> faults{"pg_restart",  "db_reset",    "db_stall",   "db_latency",
                                  "server_kill", "server_term", "client_drop"};
  unsigned seed = static_cast<unsigned>(clock_type::now().time_since_epoch().count());
  std::string workdir, results;
  int nodes = 1;
  std::string nats_server;
  bool faults_given = false;
};

const std::set<std::string> cluster_faults{"bus_restart", "bus_partition"};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (i + 1 >= argc) throw usage_error("option " + k + " needs a value");
    std::string v = argv[i + 1];
    auto num = [&](double lo, double hi) {
      std::size_t used = 0;
      double d = 0;
      try {
        d = std::stod(v, &used);
      } catch (const std::exception&) {
      }
      if (used != v.size() || !(d >= lo && d <= hi))
        throw usage_error(k + " must be a number from " + std::to_string(lo) + " to " + std::to_string(hi));
      return d;
    };
    if (k == "--database-url")
      o.database_url = v;
    else if (k == "--pg-crash")
      o.pg_crash = v;
    else if (k == "--pg-start")
      o.pg_start = v;
    else if (k == "--server")
      o.server = v;
    else if (k == "--minutes")
      o.minutes = num(0.05, 24 * 60);
    else if (k == "--users")
      o.users = static_cast<int>(num(2, 5000));
    else if (k == "--group-size")
      o.group_size = static_cast<int>(num(3, 500));
    else if (k == "--rate")
      o.rate = num(0.01, 1000);
    else if (k == "--window")
      o.window = static_cast<int>(num(1, 1000));
    else if (k == "--fault-every")
      o.fault_every = num(0.5, 3600);
    else if (k == "--seed")
      o.seed = static_cast<unsigned>(num(0, 4294967295.0));
    else if (k == "--workdir")
      o.workdir = v;
    else if (k == "--results")
      o.results = v;
    else if (k == "--nodes")
      o.nodes = static_cast<int>(num(1, 8));
    else if (k == "--nats-server")
      o.nats_server = v;
    else if (k == "--faults") {
      static const std::set<std::string> known{"pg_restart",  "db_reset",    "db_stall",
                                               "db_latency",  "server_kill", "server_term",
                                               "client_drop", "bus_restart", "bus_partition"};
      o.faults.clear();
      o.faults_given = true;
      std::stringstream ss(v);
      std::string f;
      while (std::getline(ss, f, ','))
        if (!f.empty()) {
          if (!known.count(f)) throw usage_error("unknown fault " + f);
          o.faults.push_back(f);
        }
    } else {
      throw usage_error("unknown option " + k);
    }
  }
  if (o.database_url.empty()) throw usage_error("--database-url (or SB_TEST_DATABASE_URL) is required");
  if (o.nodes > 1 && !o.faults_given)
    o.faults.insert(o.faults.end(), cluster_faults.begin(), cluster_faults.end());
  for (const auto& f : o.faults)
    if (o.nodes == 1 && cluster_faults.count(f)) throw usage_error(f + " needs --nodes 2 or more");
  if (o.nodes > 1 && o.nats_server.empty())
    o.nats_server =
        std::filesystem::exists("/usr/bin/nats-server") ? "/usr/bin/nats-server" : "/usr/sbin/nats-server";
  bool wants_pg = std::find(o.faults.begin(), o.faults.end(), "pg_restart") != o.faults.end();
  if (wants_pg && (o.pg_crash.empty() || o.pg_start.empty()))
    throw usage_error(
        "pg_restart needs --pg-crash and --pg-start (or SB_TEST_PG_CRASH and SB_TEST_PG_START)");
  return o;
}

// postgresql://[user@]host:port/db[?params]: the parts the tool rewrites.
struct pg_url {
  std::string scheme_user, host, port, db, params;
  std::string with(const std::string& h, const std::string& p, const std::string& d) const {
    return scheme_user + h + ":" + p + "/" + d + params;
  }
};
pg_url parse_pg_url(const std::string& url) {
  static const std::regex re(R"(^(postgres(?:ql)?://(?:[^@/]*@)?)([^:/@]+):(\d+)/([^?]*)(\?.*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, re))
    throw usage_error("--database-url must look like postgresql://user@host:port/db: " + url);
  return {m[1], m[2], m[3], m[4], m[5]};
}

void say(const char* fmt, double t, const std::string& what) {
  std::fprintf(stderr, fmt, t, what.c_str());
}

// Runs `fn` on the worker's thread and waits for its result.
template <class F>
auto on_worker(load::worker& w, F fn) -> decltype(fn()) {
  std::packaged_task<decltype(fn())()> task(std::move(fn));
  auto fut = task.get_future();
  asio::post(w.ioc, [&task] { task(); });
  return fut.get();
}

// Polls `pred` (run on the worker) until it holds or `timeout` passes.
bool wait_worker(load::worker& w, const std::function<bool()>& pred, std::chrono::seconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (!on_worker(w, pred)) {
    if (clock_type::now() > deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

struct fault_log {
  std::map<std::string, int> count;
};

class soak_run {
 public:
  explicit soak_run(options o) : o_(std::move(o)), rng_(o_.seed) {}
  // A run that threw (its database unreachable at the end, say) still stops its proxy's thread;
  // the nodes are SIGKILLed by their server_process. Without this, the joinable thread ended the
  // tool in std::terminate and left the nodes running.
  ~soak_run() {
    proxy_ioc_.stop();
    if (proxy_thread_.joinable()) proxy_thread_.join();
  }
  int run();

 private:
  void provision();
  void start_services();
  env_map node_env(unsigned short port) const;
  void open_conversations();
  void inject(const std::string& fault);
  void restore();
  bool settle();
  void verify();
  double elapsed() const { return std::chrono::duration<double>(clock_type::now() - t0_).count(); }

  options o_;
  std::mt19937 rng_;
  clock_type::time_point t0_ = clock_type::now();
  std::string direct_url_, server_url_, dbname_, pg_log_;
  std::string org_;
  std::vector<std::pair<std::int64_t, std::string>> accounts_;  // user id, token
  asio::io_context proxy_ioc_;
  std::thread proxy_thread_;
  std::unique_ptr<fault_proxy> proxy_;
  std::vector<std::unique_ptr<server_process>> servers_;   // the nodes
  std::unique_ptr<server_process> nats_;                   // --nodes > 1
  std::vector<std::unique_ptr<fault_proxy>> bus_proxies_;  // node i -> NATS
  bool bus_down_ = false;
  int starts() const {
    int n = 0;
    for (const auto& s : servers_) n += s->starts();
    return n;
  }
  server_process& any_node() {
    std::uniform_int_distribution<std::size_t> pick(0, servers_.size() - 1);
    return *servers_[pick(rng_)];
  }
  load::worker worker_;
  load::run_state rs_;
  soak_stats st_;
  soak_settings settings_;
  std::vector<std::shared_ptr<soak_user>> users_;
  std::set<std::int64_t> convs_;
  fault_log faults_;
  bool pg_down_ = false;
  std::uint64_t checked_messages_ = 0;
  std::uint64_t tail_unseen_ = 0;
  bool made_workdir_ = false;
};

void soak_run::provision() {
  auto admin = parse_pg_url(o_.database_url);
  settings_.nonce = load::run_nonce();
  dbname_ = "soak_" + settings_.nonce.substr(0, settings_.nonce.size() - 1);
  {
    pqxx::connection c(o_.database_url);
    pqxx::nontransaction n(c);
    n.exec("CREATE DATABASE " + c.quote_name(dbname_));
  }
  direct_url_ = admin.with(admin.host, admin.port, dbname_);
  env_map env{{"SWITCHBOARD_DATABASE_URL", direct_url_}, {"SWITCHBOARD_AUTH_SCRYPT_LOG2_N", "10"}};
  auto mig = run_command({o_.server, "migrate"}, env);
  if (mig.status != 0) throw std::runtime_error("switchboard migrate failed");
  auto org = run_command({o_.server, "org", "create", "--name", "Soak", "--admin-name", "Soak Admin",
                          "--admin-mobile", "+15550000001", "--admin-password", "soak-admin-password"},
                         env);
  if (org.status != 0) throw std::runtime_error("switchboard org create failed");
  org_ = std::string(json::parse(org.out).at("org").as_string());
  auto tokens = o_.workdir + "/tokens";
  auto seed = run_command({o_.server, "org", "seed", "--org", org_, "--count", std::to_string(o_.users),
                           "--first-mobile", "+15551000000", "--tokens-out", tokens},
                          env);
  if (seed.status != 0) throw std::runtime_error("switchboard org seed failed");
  for (const auto& u : load::read_tokens_file(tokens)) accounts_.emplace_back(u.id, u.token);
}

void soak_run::start_services() {
  auto admin = parse_pg_url(o_.database_url);
  auto upstream = *tcp::resolver(proxy_ioc_).resolve(admin.host, admin.port).begin();
  proxy_ = std::make_unique<fault_proxy>(proxy_ioc_, upstream.endpoint());
  proxy_thread_ = std::thread([this] { proxy_ioc_.run(); });
  server_url_ = admin.with("127.0.0.1", std::to_string(proxy_->port()), dbname_);
  settings_.rate_per_user = o_.rate;
  settings_.window = o_.window;
  if (o_.nodes > 1) {
    auto nats_port = free_port();
    nats_ = std::make_unique<server_process>(
        o_.nats_server, env_map{}, nats_port, o_.workdir + "/nats.log",
        std::vector<std::string>{"-a", "127.0.0.1", "-p", std::to_string(nats_port)});
    nats_->start();
    auto bus = tcp::endpoint(asio::ip::make_address("127.0.0.1"), nats_port);
    for (int i = 0; i < o_.nodes; ++i) bus_proxies_.push_back(std::make_unique<fault_proxy>(proxy_ioc_, bus));
  }
  for (int i = 0; i < o_.nodes; ++i) {
    auto port = free_port();
    settings_.servers.emplace_back(asio::ip::make_address("127.0.0.1"), port);
    auto env = node_env(port);
    if (o_.nodes > 1) {
      env["SWITCHBOARD_CLUSTER_NATS_URL"] = "nats://127.0.0.1:" + std::to_string(bus_proxies_[i]->port());
      env["SWITCHBOARD_CLUSTER_HEARTBEAT_MS"] = "500";
      env["SWITCHBOARD_CLUSTER_NODE_TIMEOUT_MS"] = "3000";
    }
    servers_.push_back(std::make_unique<server_process>(o_.server, env, port,
                                                        o_.workdir + "/server" + std::to_string(i) + ".log"));
    servers_.back()->start();
  }
}

env_map soak_run::node_env(unsigned short port) const {
  return env_map{
      {"SWITCHBOARD_DATABASE_URL", server_url_},
      {"SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:" + std::to_string(port)},
      {"SWITCHBOARD_SERVER_SHUTDOWN_GRACE_MS", "5000"},
      // Stalls longer than this cut the connection: sends fail fast instead of waiting.
      {"SWITCHBOARD_DATABASE_QUERY_TIMEOUT_MS", "1500"},
      {"SWITCHBOARD_DATABASE_CONNECT_TIMEOUT_S", "2"},
      {"SWITCHBOARD_DATABASE_STARTUP_TIMEOUT_S", "100"},
      {"SWITCHBOARD_DATABASE_MIGRATE_ON_START", "false"},
      {"SWITCHBOARD_MEDIA_DIR", o_.workdir + "/media"},
  };
}

void soak_run::open_conversations() {
  for (std::size_t i = 0; i < accounts_.size(); ++i)
    users_.push_back(std::make_shared<soak_user>(worker_, rs_, st_, settings_, accounts_[i].first,
                                                 accounts_[i].second, o_.seed + static_cast<unsigned>(i)));
  on_worker(worker_, [&] {
    for (auto& u : users_) u->start();
    return 0;
  });
  if (!wait_worker(
          worker_,
          [&] { return std::all_of(users_.begin(), users_.end(), [](auto& u) { return u->connected(); }); },
          60s))
    throw std::runtime_error("not every user could connect");
  // Direct pairs (0,1), (2,3), ... among the first half; groups of group_size over everyone.
  std::atomic<int> pending{0}, failed{0};
  auto made = [&](std::vector<std::shared_ptr<soak_user>> members) {
    return [&, members](bool ok, const json::value& v) {
      if (!ok) {
        ++failed;
      } else {
        auto conv = std::stoll(std::string(v.at("conv").at("conv").as_string()));
        for (auto& m : members) m->add_conv(conv);
        convs_.insert(conv);
      }
      --pending;
    };
  };
  on_worker(worker_, [&] {
    std::size_t half = users_.size() / 2;
    for (std::size_t i = 0; i + 1 < half; i += 2) {
      ++pending;
      users_[i]->call("open_direct", {{"user", std::to_string(users_[i + 1]->id())}},
                      made({users_[i], users_[i + 1]}));
    }
    for (std::size_t g = 0; g < users_.size(); g += static_cast<std::size_t>(o_.group_size)) {
      std::vector<std::shared_ptr<soak_user>> members;
      json::array ids;
      for (std::size_t k = g; k < std::min(users_.size(), g + static_cast<std::size_t>(o_.group_size)); ++k) {
        members.push_back(users_[k]);
        if (k != g) ids.push_back(json::value(std::to_string(users_[k]->id())));
      }
      if (members.size() < 2) break;
      ++pending;
      users_[g]->call("create_group", {{"name", "soak group " + std::to_string(g)}, {"members", ids}},
                      made(members));
    }
    return 0;
  });
  if (!wait_worker(
          worker_, [&] { return pending.load() == 0; }, 60s) ||
      failed.load() > 0)
    throw std::runtime_error("could not create the conversations");
}

void soak_run::inject(const std::string& fault) {
  std::uniform_int_distribution<int> hold_ms(1000, 8000);
  ++faults_.count[fault];
  say("soak: %7.1fs fault %s\n", elapsed(), fault);
  if (fault == "pg_restart") {
    if (run_shell(o_.pg_crash, pg_log_) != 0) throw std::runtime_error("the PostgreSQL crash command failed");
    pg_down_ = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms(rng_) / 2));
    if (run_shell(o_.pg_start, pg_log_) != 0) throw std::runtime_error("the PostgreSQL start command failed");
    pg_down_ = false;
  } else if (fault == "db_reset") {
    proxy_->reset_all();
  } else if (fault == "db_stall") {
    proxy_->set_stalled(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms(rng_)));
    proxy_->set_stalled(false);
  } else if (fault == "db_latency") {
    std::uniform_int_distribution<int> lat(20, 400);
    proxy_->set_latency(std::chrono::milliseconds(lat(rng_)));
    std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms(rng_)));
    proxy_->set_latency(0ms);
  } else if (fault == "server_kill") {
    auto& node = any_node();
    node.kill9();
    node.start();
  } else if (fault == "server_term") {
    auto& node = any_node();
    int status = node.terminate(20s);
    if (status != 0)
      st_.violation("the server did not exit 0 on SIGTERM (status " + std::to_string(status) + ")");
    node.start();
  } else if (fault == "bus_restart") {
    nats_->kill9();
    bus_down_ = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms(rng_) / 2));
    nats_->start();
    bus_down_ = false;
  } else if (fault == "bus_partition") {
    std::uniform_int_distribution<std::size_t> pick(0, bus_proxies_.size() - 1);
    auto& p = *bus_proxies_[pick(rng_)];
    p.set_stalled(true);  // that node's bus traffic goes nowhere; its database and clients are fine
    std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms(rng_)));
    p.set_stalled(false);
  } else if (fault == "client_drop") {
    on_worker(worker_, [&] {
      std::bernoulli_distribution pick(0.25);
      for (auto& u : users_)
        if (pick(rng_)) u->drop();
      return 0;
    });
  }
}

void soak_run::restore() {
  proxy_->set_stalled(false);
  proxy_->set_latency(0ms);
  if (pg_down_ && run_shell(o_.pg_start, pg_log_) != 0) throw std::runtime_error("PostgreSQL did not start");
  pg_down_ = false;
  for (auto& p : bus_proxies_) p->set_stalled(false);
  if (bus_down_) nats_->start();
  bus_down_ = false;
  for (auto& s : servers_)
    if (!s->running()) s->start();
}

// Stops new messages and waits until every one created is acked (resends keep going).
bool soak_run::settle() {
  on_worker(worker_, [&] {
    for (auto& u : users_) u->set_producing(false);
    return 0;
  });
  return wait_worker(
      worker_,
      [&] {
        std::size_t open = 0;
        for (auto& u : users_) open += u->unsettled();
        return open == 0 && std::all_of(users_.begin(), users_.end(), [](auto& u) { return u->connected(); });
      },
      180s);
}

void soak_run::verify() {
  // What the database holds, per conversation: seq → (msg_id, sender, client_msg_id).
  struct row {
    std::int64_t msg_id, sender;
    std::string cmid;
  };
  std::map<std::int64_t, std::map<std::int64_t, row>> db;
  {
    pqxx::connection c(direct_url_);
    pqxx::read_transaction t(c);
    for (const auto& r :
         t.exec("SELECT conv_id, seq, id, sender_id, client_msg_id FROM messages ORDER BY conv_id, seq"))
      db[r[0].as<std::int64_t>()][r[1].as<std::int64_t>()] =
          row{r[2].as<std::int64_t>(), r[3].as<std::int64_t>(), r[4].as<std::string>()};
  }
  auto v = [&](const std::string& s) { st_.violation(s); };
  // Gapless seqs, and each (sender, client_msg_id, conv) once.
  std::set<std::tuple<std::int64_t, std::string, std::int64_t>> keys;
  for (const auto& [conv, rows] : db) {
    std::int64_t expect = 1;
    for (const auto& [seq, r] : rows) {
      if (seq != expect)
        v("conv " + std::to_string(conv) + ": seq " + std::to_string(seq) + " follows " +
          std::to_string(expect - 1));
      expect = seq + 1;
      if (!keys.emplace(r.sender, r.cmid, conv).second)
        v("conv " + std::to_string(conv) + ": " + r.cmid + " stored twice");
      ++checked_messages_;
    }
  }
  // Every message sent: acked, and stored exactly where its ack said; nothing stored unsent.
  std::set<std::pair<std::int64_t, std::int64_t>> sent_at;  // (conv, seq)
  for (auto& u : users_) {
    for (const auto& m : u->sent()) {
      if (!m.acked) {
        v("user " + std::to_string(u->id()) + ": " + m.cmid + " never acked");
        continue;
      }
      sent_at.emplace(m.conv, m.seq);
      auto c = db.find(m.conv);
      const row* r = nullptr;
      if (c != db.end()) {
        auto it = c->second.find(m.seq);
        if (it != c->second.end()) r = &it->second;
      }
      if (!r || r->msg_id != m.msg_id || r->sender != u->id() || r->cmid != m.cmid)
        v("acked " + m.cmid + " (conv " + std::to_string(m.conv) + " seq " + std::to_string(m.seq) +
          ") is not in the database as acked");
    }
  }
  for (const auto& [conv, rows] : db)
    for (const auto& [seq, r] : rows)
      if (!sent_at.count({conv, seq}))
        v("conv " + std::to_string(conv) + " seq " + std::to_string(seq) + " (" + r.cmid +
          ") was never acked to anyone");
  // Each user's view during the run, then a full sync now, against the database.
  using view_t = std::map<std::int64_t, std::map<std::int64_t, std::int64_t>>;
  std::vector<std::shared_ptr<view_t>> synced(users_.size());
  std::atomic<int> left{static_cast<int>(users_.size())}, failed{0};
  on_worker(worker_, [&] {
    for (std::size_t i = 0; i < users_.size(); ++i) {
      synced[i] = std::make_shared<view_t>();
      users_[i]->full_sync(synced[i], [&](bool ok) {
        if (!ok) ++failed;
        --left;
      });
    }
    return 0;
  });
  if (!wait_worker(
          worker_, [&] { return left.load() == 0; }, 120s) ||
      failed.load() > 0) {
    v("the final sync did not complete for every user");
    return;
  }
  on_worker(worker_, [&] {
    for (std::size_t i = 0; i < users_.size(); ++i) {
      auto& u = *users_[i];
      for (auto conv : u.convs()) {
        auto want = db.count(conv) ? db.at(conv) : std::map<std::int64_t, row>{};
        const auto& got = (*synced[i])[conv];
        bool same = got.size() == want.size();
        for (const auto& [seq, id] : got) same = same && want.count(seq) && want.at(seq).msg_id == id;
        if (!same)
          v("user " + std::to_string(u.id()) + ": sync of conv " + std::to_string(conv) + " gives " +
            std::to_string(got.size()) + " messages, the database " + std::to_string(want.size()));
        auto seen = u.view().find(conv);
        if (seen == u.view().end()) continue;
        for (const auto& [seq, id] : seen->second)
          if (!want.count(seq) || want.at(seq).msg_id != id)
            v("user " + std::to_string(u.id()) + " was told conv " + std::to_string(conv) + " seq " +
              std::to_string(seq) + " is message " + std::to_string(id) + ", not what the database holds");
        // Live: below the highest seq a user learned, nothing may be missing (events, acks and the
        // syncs a client makes on reconnecting or on seeing a gap fill it). Past it, a message whose
        // COMMIT was in doubt is announced to no one, and a client learns of it at its next sync.
        auto highest = seen->second.empty() ? 0 : seen->second.rbegin()->first;
        auto held = static_cast<std::int64_t>(seen->second.size());
        if (held != highest)
          v("user " + std::to_string(u.id()) + " is missing " + std::to_string(highest - held) + " of conv " +
            std::to_string(conv) + "'s first " + std::to_string(highest) + " messages at the end of the run");
        tail_unseen_ += static_cast<std::uint64_t>(static_cast<std::int64_t>(want.size()) - highest);
      }
    }
    return 0;
  });
}

int soak_run::run() {
  if (o_.workdir.empty()) {
    std::string tmpl = "/tmp/switchboard-soak.XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    o_.workdir = tmpl;
    made_workdir_ = true;
  }
  pg_log_ = o_.workdir + "/pg-control.log";
  std::fprintf(stderr,
               "soak: seed %u, work dir %s, %d users on %d node(s), %.1f min of faults every %.1f s\n",
               o_.seed, o_.workdir.c_str(), o_.users, o_.nodes, o_.minutes, o_.fault_every);
  provision();
  start_services();
  worker_.start();
  open_conversations();
  say("soak: %7.1fs %s\n", elapsed(), std::to_string(convs_.size()) + " conversations; sending");
  on_worker(worker_, [&] {
    for (auto& u : users_) u->set_producing(true);
    return 0;
  });
  auto t_faults = clock_type::now();
  auto end = t_faults + std::chrono::milliseconds(static_cast<long>(o_.minutes * 60000));
  std::uniform_real_distribution<double> gap(0.5, 1.5);
  std::uniform_int_distribution<std::size_t> pick(0, o_.faults.size() - 1);
  auto next_report = clock_type::now() + 10s;
  while (clock_type::now() < end) {
    auto next =
        clock_type::now() + std::chrono::milliseconds(static_cast<long>(o_.fault_every * 1000 * gap(rng_)));
    while (clock_type::now() < std::min(next, end)) {
      std::this_thread::sleep_for(100ms);
      if (clock_type::now() >= next_report) {
        next_report += 10s;
        std::fprintf(stderr,
                     "soak: %7.1fs created %llu acked %llu unavailable %llu unknown %llu dedup %llu\n",
                     elapsed(), static_cast<unsigned long long>(st_.created.load()),
                     static_cast<unsigned long long>(st_.acked.load()),
                     static_cast<unsigned long long>(st_.unavailable.load()),
                     static_cast<unsigned long long>(st_.unknown.load()),
                     static_cast<unsigned long long>(st_.dedup_acks.load()));
      }
    }
    if (clock_type::now() >= end || o_.faults.empty()) break;
    inject(o_.faults[pick(rng_)]);
  }
  double fault_minutes = std::chrono::duration<double>(clock_type::now() - t_faults).count() / 60;
  say("soak: %7.1fs %s\n", elapsed(), "faults over; settling every send");
  restore();
  bool settled = settle();
  if (!settled) st_.violation("not every send was acked within 180 s of the faults ending");
  verify();
  on_worker(worker_, [&] {
    for (auto& u : users_) u->stop();
    return 0;
  });
  for (auto& s : servers_) {
    int term = s->terminate(30s);
    if (term != 0)
      st_.violation("a node did not exit 0 on the final SIGTERM (status " + std::to_string(term) + ")");
  }
  if (nats_) nats_->terminate(10s);
  worker_.stop();
  for (auto& p : bus_proxies_) p->close();
  proxy_->close();
  proxy_ioc_.stop();
  proxy_thread_.join();

  json::object faults;
  std::uint64_t total_faults = 0;
  for (const auto& [k, n] : faults_.count) {
    faults[k] = n;
    total_faults += static_cast<std::uint64_t>(n);
  }
  auto lost = st_.created.load() - st_.acked.load();
  json::object out{{"tool", "switchboard-soak"},
                   {"seed", o_.seed},
                   {"users", o_.users},
                   {"conversations", convs_.size()},
                   {"minutes", std::round(fault_minutes * 100) / 100},
                   {"messages_created", st_.created.load()},
                   {"messages_acked", st_.acked.load()},
                   {"send_attempts", st_.attempts.load()},
                   {"replies_unavailable", st_.unavailable.load()},
                   {"replies_rate_limited", st_.rate_limited.load()},
                   {"outcomes_unknown", st_.unknown.load()},
                   {"resends_deduplicated", st_.dedup_acks.load()},
                   {"gap_syncs", st_.gap_fills.load()},
                   {"tail_unseen", tail_unseen_},
                   {"reconnects", st_.connects.load()},
                   {"nodes", o_.nodes},
                   {"resyncs", st_.resyncs.load()},
                   {"server_starts", starts()},
                   {"faults", total_faults},
                   {"faults_by_kind", faults},
                   {"messages_in_database", checked_messages_},
                   {"lost", lost},
                   {"violations", st_.violations.load()}};
  auto line = json::serialize(out);
  std::cout << line << "\n";
  if (!o_.results.empty()) std::ofstream(o_.results, std::ios::app) << line << "\n";
  {
    std::lock_guard lk(st_.mu);
    for (const auto& s : st_.first_violations) std::fprintf(stderr, "soak: VIOLATION %s\n", s.c_str());
  }
  if (st_.violations.load() > 0) {
    std::fprintf(stderr, "soak: FAILED (logs in %s)\n", o_.workdir.c_str());
    return 1;
  }
  // A clean run leaves nothing behind but its database.
  try {
    pqxx::connection c(o_.database_url);
    pqxx::nontransaction n(c);
    n.exec("DROP DATABASE IF EXISTS " + c.quote_name(dbname_));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: could not drop %s: %s\n", dbname_.c_str(), e.what());
  }
  if (made_workdir_) {
    std::error_code ec;
    std::filesystem::remove_all(o_.workdir, ec);
  }
  std::fprintf(stderr, "soak: clean\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << usage;
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  try {
    soak_run run(parse(argc, argv));
    return run.run();
  } catch (const usage_error& e) {
    std::cerr << "switchboard-soak: " << e.what() << "\n" << usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "switchboard-soak: " << e.what() << "\n";
    return 2;
  }
}
