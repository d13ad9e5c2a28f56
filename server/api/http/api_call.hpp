// One HTTP API call as its handler sees it, and its one answer.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "server/core/services.hpp"
#include "server/net/http_handler.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::server {

// A call's one answer. The first respond or stream goes out and any later one is refused; a call
// whose last owner lets go of it unanswered (a handler that lost track of it) is answered 500
// then, so a client never waits on a request nobody will answer.
class one_answer {
 public:
  one_answer(respond_fn respond, stream_fn stream, unsigned version, bool keep_alive,
             std::shared_ptr<spdlog::logger> log);
  one_answer(one_answer&& o) noexcept;
  one_answer& operator=(one_answer&&) = delete;
  ~one_answer();
  // False (and nothing sent) when the call was answered already.
  bool respond(http_response res);
  bool stream(streamed_response res);

 private:
  bool first();  // claims the answer; false (logged) when it was given already
  respond_fn respond_;
  stream_fn stream_;  // for routes that stream their body (may be empty elsewhere)
  unsigned version_;
  bool keep_alive_;
  std::shared_ptr<spdlog::logger> log_;
  std::atomic<bool> done_{false};
};

struct api_call {
  http_request req;
  std::string path;
  boost::asio::ip::address remote;
  boost::asio::any_io_executor ex;
  one_answer answer;
  std::string op;  // route name for metrics
  std::chrono::steady_clock::time_point started;
  // On /v1/app/* routes: the scope the call needs. The caller is then an app (its access token),
  // acting as its bot user with an admin's rights within that scope.
  std::string app_scope;
};

}  // namespace switchboard::server
