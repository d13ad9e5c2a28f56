// Integration apps' event callbacks as HTTP requests: the signed POST and the URL rules, shared by
// the callback registration (PUT /v1/admin/apps/{id}/callback) and the event dispatcher.
#pragma once

#include <optional>
#include <string>

#include "config/settings.hpp"
#include "server/net/http_client.hpp"

namespace switchboard::server {

// A signed callback POST of `body` to `url`: the headers of PROTOCOL.md ("Event callbacks"), the
// deadlines and the address policy of callbacks.*. `delivery_id` may be empty (verification).
outbound_request callback_request(const config::settings& cfg, const std::string& url, std::string body,
                                  const std::string& delivery_id, const std::string& secret);
// Why `url` cannot be a callback URL under `cfg` (scheme and form; addresses are judged when
// connecting), or nullopt.
std::optional<std::string> check_callback_url(const config::settings& cfg, const std::string& url);

}  // namespace switchboard::server
