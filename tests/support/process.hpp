// Test harness: runs the real switchboard binary as a child process and watches its output.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace sbtest {

using namespace std::chrono_literals;

std::string binary_path();  // the switchboard binary under test

struct command_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `program` to completion (bounded by `timeout`) with `env` added to the environment.
command_result run_program(const std::string& program, const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env,
                           std::chrono::milliseconds timeout = 60s);
// The same for the switchboard binary under test.
command_result run_binary(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                          std::chrono::milliseconds timeout = 60s);

// A long-running child (serve). Its stderr is collected line by line on a reader thread.
class child_process {
 public:
  child_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);
  // Another program, by its path; its stdout and stderr are both read.
  child_process(const std::string& program, const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env);
  ~child_process();  // SIGKILLs the child if it still runs
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  // Waits for a stderr line matching `re`; returns its match groups ([0] whole) or nullopt on timeout/exit.
  std::optional<std::vector<std::string>> wait_for_line(const std::regex& re,
                                                        std::chrono::milliseconds timeout);
  std::string output() const;  // everything read from stderr so far
  void signal(int sig);
  // Waits for the child to exit; returns its exit code (128+signal when killed) or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

 private:
  void read_loop();
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::string partial_;
  bool eof_ = false;
  std::optional<int> exit_code_;
};

// A running `switchboard serve` on 127.0.0.1 with port 0, pointed at `database_url`.
class server {
 public:
  server(const std::string& database_url, std::map<std::string, std::string> extra_env = {},
         std::string config_text = "");
  int port() const { return port_; }
  child_process& proc() { return *proc_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<child_process> proc_;
  int port_ = 0;
};

std::string make_temp_dir();

// Re-checks `pred` every 20 ms until it holds or `timeout` passes; for state only observable by asking.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

}  // namespace sbtest
