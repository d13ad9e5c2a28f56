// Event callbacks as HTTP requests.
#include "server/core/callbacks.hpp"

#include "protocol/clock.hpp"
#include "server/base/secret_box.hpp"

namespace switchboard::server {

std::optional<std::string> check_callback_url(const config::settings& cfg, const std::string& url) {
  if (url.size() > 2048) return "url is longer than 2048 bytes";
  auto u = parse_url(url);
  if (!u) return "url must be an https:// URL";
  if (!u->tls && !cfg.callbacks.allow_http)
    return "url must be https:// (http:// needs callbacks.allow_http, for development)";
  for (char ch : url)
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f)
      return "url must not contain spaces or controls";
  return std::nullopt;
}

outbound_request callback_request(const config::settings& cfg, const std::string& url, std::string body,
                                  const std::string& delivery_id, const std::string& secret) {
  outbound_request req;
  req.url = url;
  auto ts = std::to_string(protocol::now_ms());
  req.headers.emplace_back("X-Switchboard-Timestamp", ts);
  req.headers.emplace_back("X-Switchboard-Signature", "sha256=" + hmac_sha256_hex(secret, ts + "." + body));
  if (!delivery_id.empty()) req.headers.emplace_back("X-Switchboard-Delivery", delivery_id);
  req.body = std::move(body);
  req.total_timeout = std::chrono::milliseconds(cfg.callbacks.timeout_ms);
  req.connect_timeout = std::min(req.total_timeout, std::chrono::milliseconds(5000));
  if (!cfg.callbacks.allow_private) req.allow_address = &is_public_address;
  return req;
}

}  // namespace switchboard::server
