// Entry point: hands the command line to the CLI.
#include <string>
#include <vector>

#include "server/daemon/cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return switchboard::server::run_cli(args);
}
