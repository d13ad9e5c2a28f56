// `switchboard serve`: wires storage, listeners and signals together and runs until told to stop.
#pragma once

#include <memory>

#include "config/settings.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::server {

class node {
 public:
  node(config::settings cfg, std::shared_ptr<spdlog::logger> log);
  ~node();
  // Blocks until SIGTERM/SIGINT has been handled; returns the process exit code.
  int serve();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace switchboard::server
