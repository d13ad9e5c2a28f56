// Test harness for clusters.
#include "cluster.hpp"

#include "http_client.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace sbtest {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free port");
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

namespace {
env with_bus(env extra, const std::string& url) {
  extra["SWITCHBOARD_CLUSTER_NATS_URL"] = url;
  // Quick heartbeats so a dead node's presence goes in a second or two, not six.
  extra.try_emplace("SWITCHBOARD_CLUSTER_HEARTBEAT_MS", "300");
  extra.try_emplace("SWITCHBOARD_CLUSTER_NODE_TIMEOUT_MS", "1500");
  return extra;
}

}  // namespace

std::string nats_server_path() {
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server"})
    if (::access(p, X_OK) == 0) return p;
  throw std::runtime_error("nats-server is not installed (deploy/install-deps.sh installs it)");
}

nats_server::nats_server(int port) {
  launch(port == 0 ? free_port() : port);
}

void nats_server::launch(int port) {
  port_ = port;
  proc_ = std::make_unique<child_process>(
      nats_server_path(), std::vector<std::string>{"-a", "127.0.0.1", "-p", std::to_string(port)},
      std::map<std::string, std::string>{});
  if (!proc_->wait_for_line(std::regex("Server is ready"), 30s))
    throw std::runtime_error("nats-server did not start; output:\n" + proc_->output());
}

void nats_server::stop() {
  if (!proc_) return;
  proc_->signal(SIGTERM);
  proc_->wait_exit(10s);
  proc_.reset();
}

void nats_server::restart() {
  stop();
  launch(port_);
}

haproxy_process::haproxy_process(const std::vector<int>& node_ports)
    : dir_(make_temp_dir()), port_(free_port()) {
  std::ifstream in(SWITCHBOARD_SOURCE_DIR "/deploy/cluster/haproxy.cfg");
  if (!in) throw std::runtime_error("cannot read deploy/cluster/haproxy.cfg");
  std::ostringstream cfg;
  std::string line;
  bool in_nodes = false;
  while (std::getline(in, line)) {
    if (line == "    # nodes") {  // the shipped node list, between two markers: ours instead
      if (!in_nodes)
        for (std::size_t i = 0; i < node_ports.size(); ++i)
          cfg << "    server node" << i + 1 << " 127.0.0.1:" << node_ports[i] << " check\n";
      in_nodes = !in_nodes;
      continue;
    }
    if (in_nodes || line.rfind("    log stdout", 0) == 0 || line.find("option httplog") != std::string::npos)
      continue;
    if (line.rfind("    bind ", 0) == 0) line = "    bind 127.0.0.1:" + std::to_string(port_);
    cfg << line << "\n";
  }
  std::ofstream(dir_ + "/haproxy.cfg") << cfg.str();
  std::string bin = ::access("/usr/sbin/haproxy", X_OK) == 0 ? "/usr/sbin/haproxy" : "/usr/bin/haproxy";
  proc_ = std::make_unique<child_process>(bin, std::vector<std::string>{"-f", dir_ + "/haproxy.cfg", "-db"},
                                          std::map<std::string, std::string>{});
  // Ready once a node passed its health check: /readyz through the balancer answers 200.
  auto ready = [&] {
    try {
      return http_call(port_, "GET", "/readyz").status == 200;
    } catch (const std::exception&) {
      return false;  // not listening yet
    }
  };
  if (!eventually(ready, 30s))
    throw std::runtime_error("haproxy did not come up; output:\n" + proc_->output());
}

cluster_fixture::cluster_fixture(int nodes, env extra)
    : org(with_bus(extra, nats.url())), env_(with_bus(std::move(extra), nats.url())) {
  for (int i = 1; i < nodes; ++i) add_node();
}

std::size_t cluster_fixture::add_node(env more) {
  auto e = env_;
  for (auto& [k, v] : more) e[k] = v;
  extra_nodes_.push_back(std::make_unique<server>(org.db.url(), e));
  return extra_nodes_.size();
}

void cluster_fixture::kill_node(std::size_t i) {
  node(i).proc().signal(SIGKILL);
  node(i).proc().wait_exit(10s);
}

}  // namespace sbtest
