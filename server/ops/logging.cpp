// Logger setup with a JSON-lines formatter and a reopenable file sink.
#include "server/ops/logging.hpp"

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace switchboard::server {

namespace {

// %* writes the message as the inside of a JSON string.
class json_escaped_message : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char hex[] = "0123456789abcdef";
    for (char ch : msg.payload) {
      auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\r':
          dest.append(std::string_view("\\r"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            dest.append(esc, esc + 6);
          } else {
            dest.push_back(ch);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_escaped_message>();
  }
};

class reopenable_file_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit reopenable_file_sink(std::string path) : path_(std::move(path)) { open(); }
  ~reopenable_file_sink() override {
    if (f_) std::fclose(f_);
  }
  void reopen() {
    std::lock_guard lk(mutex_);
    if (f_) std::fclose(f_);
    open();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    if (f_) std::fwrite(buf.data(), 1, buf.size(), f_);
  }
  void flush_() override {
    if (f_) std::fflush(f_);
  }

 private:
  void open() {
    f_ = std::fopen(path_.c_str(), "a");
    if (!f_) throw std::runtime_error("cannot open log file '" + path_ + "'");
  }
  std::string path_;
  std::FILE* f_ = nullptr;
};

std::mutex g_mu;
std::shared_ptr<reopenable_file_sink> g_file_sink;

}  // namespace

std::shared_ptr<spdlog::logger> make_logger(const config::settings::logging_section& cfg) {
  spdlog::sink_ptr sink;
  if (cfg.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    auto f = std::make_shared<reopenable_file_sink>(cfg.file);
    std::lock_guard lk(g_mu);
    g_file_sink = f;
    sink = f;
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (cfg.format == "json") {
    formatter->add_flag<json_escaped_message>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","thread":%t,"msg":"%*"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%t] %v");
  }
  sink->set_formatter(std::move(formatter));
  // Logging goes through a background thread so io_context threads never wait on a disk.
  if (!spdlog::thread_pool()) spdlog::init_thread_pool(8192, 1);
  auto logger = std::make_shared<spdlog::async_logger>("switchboard", sink, spdlog::thread_pool(),
                                                       spdlog::async_overflow_policy::block);
  logger->set_level(spdlog::level::from_str(cfg.level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
  return logger;
}

void reopen_log_files() {
  std::shared_ptr<reopenable_file_sink> f;
  {
    std::lock_guard lk(g_mu);
    f = g_file_sink;
  }
  if (f) f->reopen();
}

}  // namespace switchboard::server
