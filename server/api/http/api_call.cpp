// A call's one answer.
#include <spdlog/spdlog.h>

#include "server/api/http/api_call.hpp"

namespace switchboard::server {

one_answer::one_answer(respond_fn respond, stream_fn stream, unsigned version, bool keep_alive,
                       std::shared_ptr<spdlog::logger> log)
    : respond_(std::move(respond)),
      stream_(std::move(stream)),
      version_(version),
      keep_alive_(keep_alive),
      log_(std::move(log)) {}

one_answer::one_answer(one_answer&& o) noexcept
    : respond_(std::move(o.respond_)),
      stream_(std::move(o.stream_)),
      version_(o.version_),
      keep_alive_(o.keep_alive_),
      log_(std::move(o.log_)),
      done_(o.done_.exchange(true)) {}

one_answer::~one_answer() {
  if (done_.exchange(true) || !respond_) return;
  if (log_) log_->error("an HTTP call was dropped without an answer; answering 500");
  http_request req;
  req.version(version_);
  req.keep_alive(keep_alive_);
  try {
    respond_(make_error_response(req, {protocol::error_code::internal, "the call was not answered"}));
  } catch (const std::exception&) {
  }
}

bool one_answer::first() {
  if (!done_.exchange(true)) return true;
  if (log_) log_->error("an HTTP call was answered twice; the second answer is dropped");
  return false;
}

bool one_answer::respond(http_response res) {
  if (!first()) return false;
  respond_(std::move(res));
  return true;
}

bool one_answer::stream(streamed_response res) {
  if (!first()) return false;
  stream_(std::move(res));
  return true;
}

}  // namespace switchboard::server
