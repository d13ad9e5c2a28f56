// Child processes of the soak tool, each kept by its PID.
#include "tools/soak/processes.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace switchboard::soak {

namespace {

std::vector<std::string> merged_env(const env_map& extra) {
  env_map all;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string k = kv.substr(0, eq);
    // The server's settings come only from `extra`, never from the tool's own environment.
    if (k.rfind("SWITCHBOARD_", 0) == 0 || k == "NOTIFY_SOCKET" || k.rfind("WATCHDOG_", 0) == 0) continue;
    all[k] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) all[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

pid_t spawn(const std::vector<std::string>& argv_s, const env_map& env, int out_fd, int err_fd) {
  auto env_s = merged_env(env);
  std::vector<char*> argv, envp;
  for (const auto& a : argv_s) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    if (out_fd >= 0) dup2(out_fd, 1);
    if (err_fd >= 0) dup2(err_fd, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

int exit_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

command_output run_command(const std::vector<std::string>& argv, const env_map& env) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = spawn(argv, env, p[1], -1);
  close(p[1]);
  command_output r;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<std::size_t>(n));
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = exit_status(status);
  return r;
}

int run_shell(const std::string& command, const std::string& log_path) {
  int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_t pid = spawn({"/bin/sh", "-c", command}, {}, fd, fd);
  if (fd >= 0) close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  return exit_status(status);
}

server_process::server_process(std::string binary, env_map env, unsigned short port, std::string log_path,
                               std::vector<std::string> args)
    : binary_(std::move(binary)),
      env_(std::move(env)),
      port_(port),
      log_path_(std::move(log_path)),
      args_(std::move(args)) {}

server_process::~server_process() {
  if (pid_ > 0) kill9();
}

void server_process::start() {
  int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log_path_);
  std::vector<std::string> argv{binary_};
  argv.insert(argv.end(), args_.begin(), args_.end());
  pid_ = spawn(argv, env_, fd, fd);
  close(fd);
  ++starts_;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!port_accepts(port_)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("the server exited at start with status " +
                               std::to_string(exit_status(status)) + "; see " + log_path_);
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the server did not listen within 120 s; see " + log_path_);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void server_process::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int server_process::terminate(std::chrono::seconds grace) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill9();
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  return exit_status(status);
}

unsigned short free_port() {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("cannot find a free port");
  close(s);
  return ntohs(a.sin_port);
}

bool port_accepts(unsigned short port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

}  // namespace switchboard::soak
