// The WebSocket operations of the spec: decode each request's data, run it, reply, fan out.
#pragma once

#include <boost/json/object.hpp>
#include <memory>

#include "server/api/ws/ws_client.hpp"

namespace switchboard::server::ws_ops {

// Every op name, for metrics.
std::vector<std::string> op_names();

void hello(std::shared_ptr<ws_client> s, ws_request req, const boost::json::object& data);
// Any op after hello; unknown ops answer bad_request.
void dispatch(std::shared_ptr<ws_client> s, ws_request req, const boost::json::object& data);

}  // namespace switchboard::server::ws_ops
