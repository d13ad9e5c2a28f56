// Test harness for clusters: a real nats-server on a free port, and several `switchboard serve`
// nodes on one database and that bus. Everything is started and stopped by PID.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fixture.hpp"
#include "process.hpp"

namespace sbtest {

// nats-server on 127.0.0.1; `port` 0: one the server picks (restart it on the same port to
// bring the bus back after stop()).
class nats_server {
 public:
  explicit nats_server(int port = 0);
  int port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  void stop();     // SIGTERM, waits for the exit
  void restart();  // start again on the same port
  child_process& proc() { return *proc_; }

 private:
  void launch(int port);
  std::unique_ptr<child_process> proc_;
  int port_ = 0;
};

std::string nats_server_path();

// A port free right now on 127.0.0.1 (nats-server's own random choice is not printed in a form
// every version shares, and a restart must reuse the port; coturn takes one too).
int free_port();

// haproxy in front of some nodes, with deploy/cluster/haproxy.cfg (the shipped configuration) on a
// free port.
class haproxy_process {
 public:
  explicit haproxy_process(const std::vector<int>& node_ports);
  int port() const { return port_; }

 private:
  std::string dir_;
  std::unique_ptr<child_process> proc_;
  int port_ = 0;
};

// A cluster of `nodes` nodes on one fresh database and one nats-server; the first node is the
// org fixture's own server. node(i)'s port for clients; add_node() starts one more.
class cluster_fixture {
 public:
  explicit cluster_fixture(int nodes = 3, env extra = {});
  int port(std::size_t i) const { return i == 0 ? org.port() : extra_nodes_[i - 1]->port(); }
  server& node(std::size_t i) { return i == 0 ? *org.srv : *extra_nodes_[i - 1]; }
  std::size_t size() const { return 1 + extra_nodes_.size(); }
  std::size_t add_node(env more = {});
  // SIGKILL (no shutdown at all) and forget the node.
  void kill_node(std::size_t i);
  env node_env() const { return env_; }

  nats_server nats;
  org_fixture org;

 private:
  env env_;
  std::vector<std::unique_ptr<server>> extra_nodes_;
};

}  // namespace sbtest
