// The /v1 HTTP API: JSON in, JSON out, the spec's error bodies.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "server/app_context.hpp"
#include "server/http_router.hpp"

namespace switchboard::server {

struct api_call {
  http_request req;
  std::string path;
  boost::asio::ip::address remote;
  boost::asio::any_io_executor ex;
  respond_fn respond;
  stream_fn stream;  // for routes that stream their body (may be empty elsewhere)
  std::string op;    // route name for metrics
  std::chrono::steady_clock::time_point started;
  // On /v1/app/* routes: the scope the call needs. The caller is then an app (its access token),
  // acting as its bot user with an admin's rights within that scope.
  std::string app_scope;
};

class api_handlers {
 public:
  explicit api_handlers(app_context& ctx) : ctx_(ctx) {}
  static std::vector<std::string> route_names();
  // True when the path is an API route (the call is then answered); false for unknown paths.
  bool handle(api_call call);
  // POST /v1/media's header (see http_router::begin_upload).
  void begin_upload(api_call call, upload_ready_fn ready);

 private:
  // One path's routes, one per method: the call runs the matching one (as an app within `scope`,
  // when set); another method is 405 with Allow listing them.
  struct method_route {
    boost::beast::http::verb verb;
    const char* name;
    std::function<void()> fn;
    const char* scope = nullptr;  // a /v1/app/* route: the app scope it needs
  };
  bool dispatch(const std::shared_ptr<api_call>& c, std::initializer_list<method_route> rs);
  bool handle_apps(const std::shared_ptr<api_call>& c);
  app_context& ctx_;
};

}  // namespace switchboard::server
