// Test harness: child processes of the real binary.
#include "process.hpp"

#include "tools/soak/processes.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace sbtest {

namespace {

// The soak tool's spawn (tools/soak/processes.hpp): one way to start a child everywhere.
pid_t spawn(const std::string& program, const std::vector<std::string>& args,
            const std::map<std::string, std::string>& env, int out_fd, int err_fd) {
  std::vector<std::string> argv{program};
  argv.insert(argv.end(), args.begin(), args.end());
  return switchboard::soak::spawn(argv, env, out_fd, err_fd);
}

int decode_status(int status) {
  return switchboard::soak::exit_status(status);
}

}  // namespace

std::string binary_path() {
  const char* p = std::getenv("SB_TEST_BINARY");
  return p ? p : SWITCHBOARD_BINARY;
}

namespace {
// Every temporary directory a test made, removed when the test process exits.
struct temp_dirs {
  std::mutex mu;
  std::vector<std::string> paths;
  ~temp_dirs() {
    std::error_code ec;
    for (const auto& p : paths) std::filesystem::remove_all(p, ec);
  }
};
temp_dirs& all_temp_dirs() {
  static temp_dirs dirs;
  return dirs;
}
}  // namespace

std::string make_temp_dir() {
  std::string tmpl = "/tmp/sbtest.XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  auto& dirs = all_temp_dirs();
  std::lock_guard lk(dirs.mu);
  dirs.paths.push_back(tmpl);
  return tmpl;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

command_result run_binary(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                          std::chrono::milliseconds timeout) {
  return run_program(binary_path(), args, env, timeout);
}

command_result run_program(const std::string& program, const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env, std::chrono::milliseconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  pid_t pid = spawn(program, args, env, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  command_result r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = decode_status(status);
  return r;
}

child_process::child_process(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env)
    : child_process(binary_path(), args, env) {}

child_process::child_process(const std::string& program, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) {
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_ = spawn(program, args, env, err_pipe[1], err_pipe[1]);
  close(err_pipe[1]);
  err_fd_ = err_pipe[0];
  reader_ = std::thread([this] { read_loop(); });
}

child_process::~child_process() {
  if (!exit_code_) {
    kill(pid_, SIGKILL);
    wait_exit(10s);
  }
  if (reader_.joinable()) reader_.join();
  if (err_fd_ >= 0) close(err_fd_);
}

void child_process::read_loop() {
  char buf[4096];
  for (;;) {
    ssize_t n = read(err_fd_, buf, sizeof buf);
    std::lock_guard lk(mu_);
    if (n <= 0) {
      if (!partial_.empty()) lines_.push_back(partial_);
      eof_ = true;
      cv_.notify_all();
      return;
    }
    partial_.append(buf, static_cast<std::size_t>(n));
    std::size_t pos;
    while ((pos = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, pos));
      partial_.erase(0, pos + 1);
    }
    cv_.notify_all();
  }
}

std::optional<std::vector<std::string>> child_process::wait_for_line(const std::regex& re,
                                                                     std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  std::size_t checked = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; checked < lines_.size(); ++checked) {
      std::smatch m;
      if (std::regex_search(lines_[checked], m, re)) return std::vector<std::string>(m.begin(), m.end());
    }
    if (eof_) return std::nullopt;
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && checked == lines_.size())
      return std::nullopt;
  }
}

std::string child_process::output() const {
  std::lock_guard lk(mu_);
  std::string all;
  for (const auto& l : lines_) all += l + "\n";
  return all + partial_;
}

void child_process::signal(int sig) {
  if (!exit_code_) kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = decode_status(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    // waitpid has no timeout; the child's stderr closing is the event we can block on.
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, 10ms, [&] { return eof_; });
  }
}

server::server(const std::string& database_url, std::map<std::string, std::string> extra_env,
               std::string config_text)
    : dir_(make_temp_dir()) {
  std::string config_path = dir_ + "/switchboard.ini";
  std::ofstream(config_path) << config_text;
  std::map<std::string, std::string> env{
      {"SWITCHBOARD_DATABASE_URL", database_url},
      {"SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0"},
      {"SWITCHBOARD_AUTH_SCRYPT_LOG2_N", "10"},  // cheap hashes keep the suite fast
      {"SWITCHBOARD_MEDIA_DIR", dir_ + "/media"},
      {"SWITCHBOARD_SERVER_THREADS", "2"},
      // Every test client logs in from 127.0.0.1, far faster than people: the login limit is
      // tested on its own (limits_test.cpp) and out of the way elsewhere.
      {"SWITCHBOARD_LIMITS_LOGINS_PER_MINUTE", "100000"},
  };
  for (auto& [k, v] : extra_env) env[k] = v;
  proc_ = std::make_unique<child_process>(std::vector<std::string>{"serve", "--config", config_path}, env);
  auto m = proc_->wait_for_line(std::regex(R"(\blistening on 127\.0\.0\.1:(\d+))"), 60s);
  if (!m) throw std::runtime_error("server did not start listening; output:\n" + proc_->output());
  port_ = std::stoi((*m)[1]);
}

}  // namespace sbtest
