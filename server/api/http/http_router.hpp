// The http_handler the transport (server/net/http_session) calls for everything that depends on a
// path: it looks requests up in the route table (routes.hpp) and runs their handlers.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <memory>
#include <string>
#include <vector>

#include "server/core/services.hpp"
#include "server/net/http_handler.hpp"

namespace switchboard::server {

namespace api {
struct route;
}

class http_router final : public http_handler {
 public:
  explicit http_router(services& ctx) : ctx_(ctx) {}

  // The names of every route and WebSocket op, for metrics.
  static std::vector<std::string> route_names();

  body_plan plan_body(const http_request& head, bool metrics_only) const override;
  void route(http_request req, const boost::asio::ip::address& remote, bool metrics_only,
             boost::asio::any_io_executor ex, respond_fn respond, stream_fn stream) override;
  void begin_upload(http_request head, const boost::asio::ip::address& remote,
                    boost::asio::any_io_executor ex, respond_fn respond, upload_ready_fn ready) override;
  bool is_websocket_endpoint(const http_request& req, bool metrics_only) const override;
  void upgrade(http_request req, std::shared_ptr<ws_connection> conn) override;

 private:
  // The route `req` names (for its method) on this listener, or null.
  const api::route* find(const http_request& req, bool metrics_only) const;

  services& ctx_;
};

}  // namespace switchboard::server
