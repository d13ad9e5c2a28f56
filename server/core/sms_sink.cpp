// SMS sinks.
#include "server/core/sms_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "protocol/types.hpp"
#include "server/net/http_client.hpp"

namespace switchboard::server {

std::string to_json_line(const sms_message& m) {
  return boost::json::serialize(boost::json::object{{"ts", m.ts},
                                                    {"org", protocol::id_string(m.org)},
                                                    {"mobile", m.mobile},
                                                    {"code", m.code},
                                                    {"purpose", m.purpose}});
}

sms_sink::sms_sink(const config::settings::sms_section& cfg, std::shared_ptr<spdlog::logger> log,
                   boost::asio::thread_pool& files)
    : cfg_(cfg), log_(std::move(log)), files_(files) {
  if (cfg_.sink == "http") tls_ = make_client_tls();
}

void sms_sink::send(const sms_message& m, boost::asio::any_io_executor ex, std::function<void(bool)> done) {
  if (cfg_.sink == "log") {
    log_->info("sms to {} (org {}, {}): verification code {}", m.mobile, m.org, m.purpose, m.code);
    return boost::asio::post(ex, [done] { done(true); });
  }
  auto line = to_json_line(m);
  if (cfg_.sink == "file") {
    // One write(2) of the whole line to an O_APPEND file: lines from concurrent sends never mix.
    boost::asio::post(files_, [this, line = line + "\n", ex, done] {
      bool ok = false;
      int fd = ::open(cfg_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      if (fd >= 0) {
        ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
        if (!ok) log_->error("sms sink: cannot write {}: {}", cfg_.path, std::strerror(errno));
        ::close(fd);
      } else {
        log_->error("sms sink: cannot open {}: {}", cfg_.path, std::strerror(errno));
      }
      boost::asio::post(ex, [done, ok] { done(ok); });
    });
    return;
  }
  outbound_request req;
  req.url = cfg_.url;
  req.body = std::move(line);
  http_post(ex, tls_, std::move(req), [log = log_, done](outbound_result r) {
    bool ok = r.status >= 200 && r.status < 300;
    if (!ok)
      log->error("sms gateway refused or failed: status {} {}", r.status, r.error.empty() ? r.body : r.error);
    done(ok);
  });
}

}  // namespace switchboard::server
