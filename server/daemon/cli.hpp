// The command line: serve, migrate, check-config, version, org create.
#pragma once

#include <string>
#include <vector>

namespace switchboard::server {

// Runs the subcommand in `args` (without the program name); returns the exit code.
// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
int run_cli(const std::vector<std::string>& args);

}  // namespace switchboard::server
