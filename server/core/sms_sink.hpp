// Where verification codes go (config [sms]): `log` writes them to the log (development), `file`
// appends one JSON line per message to a path (tests, quickstart), `http` POSTs that same JSON
// object to a gateway URL. Sends never block an io_context thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/settings.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::server {

struct sms_message {
  std::int64_t ts = 0;
  std::int64_t org = 0;
  std::string mobile, code, purpose;
};

// {"ts":ms,"org":"...","mobile":"+...","code":"123456","purpose":"login"|"invitation"}
std::string to_json_line(const sms_message& m);

class sms_sink {
 public:
  sms_sink(const config::settings::sms_section& cfg, std::shared_ptr<spdlog::logger> log,
           boost::asio::thread_pool& files);
  // Sends `m`; `done(true)` once it was handed on (written, logged, or accepted by the gateway with
  // a 2xx), `done(false)` when that failed. `done` runs on `ex`.
  void send(const sms_message& m, boost::asio::any_io_executor ex, std::function<void(bool)> done);

 private:
  const config::settings::sms_section& cfg_;
  std::shared_ptr<spdlog::logger> log_;
  boost::asio::thread_pool& files_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace switchboard::server
