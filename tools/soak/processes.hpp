// The soak tool's processes: the server it starts, kills and restarts by PID, and the commands it
// runs (the PostgreSQL crash and start scripts, the switchboard CLI).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace switchboard::soak {

using env_map = std::map<std::string, std::string>;

// fork + exec of argv[0] with stdin from /dev/null, stdout and stderr to the descriptors given
// (-1: this process's own) and this process's environment without SWITCHBOARD_*, NOTIFY_SOCKET
// and WATCHDOG_* (a child server's settings come only from `env`), plus `env`.
pid_t spawn(const std::vector<std::string>& argv, const env_map& env, int out_fd, int err_fd);
// A waitpid status as an exit code: the code, or 128 + the signal that ended the process.
int exit_status(int wait_status);

struct command_output {
  int status = -1;  // exit code, or 128 + signal
  std::string out;  // stdout (stderr goes to the tool's own stderr)
};
// Runs `argv` to completion with `env` added to the environment.
command_output run_command(const std::vector<std::string>& argv, const env_map& env);
// Runs a shell command line (the PostgreSQL scripts); its output goes to `log_path`, appended.
int run_shell(const std::string& command, const std::string& log_path);

// `switchboard serve` (or another server, given its arguments) on a fixed port, its output appended
// to a log file.
class server_process {
 public:
  server_process(std::string binary, env_map env, unsigned short port, std::string log_path,
                 std::vector<std::string> args = {"serve"});
  ~server_process();  // SIGKILLs a server still running
  void start();       // returns once the port accepts connections (throws after 120 s)
  void kill9();       // SIGKILL and reap
  // SIGTERM and reap; the exit status (128 + signal), or -1 when it had to be killed after `grace`.
  int terminate(std::chrono::seconds grace);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int starts() const { return starts_; }

 private:
  std::string binary_;
  env_map env_;
  unsigned short port_;
  std::string log_path_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  int starts_ = 0;
};

// A port on 127.0.0.1 that was free a moment ago.
unsigned short free_port();
// True once a TCP connection to 127.0.0.1:port succeeds.
bool port_accepts(unsigned short port);

}  // namespace switchboard::soak
