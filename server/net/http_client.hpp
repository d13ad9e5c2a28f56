// Outbound HTTP(S) POSTs on Beast over Asio: the SMS gateway now, integration callbacks later.
// Never blocks the calling thread; deadlines bound the connect and the whole exchange.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::server {

struct outbound_request {
  std::string url;  // http://host[:port]/path or https://...
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{10000};
  // When set, only addresses it accepts are connected to (SSRF protection for callback URLs).
  std::function<bool(const boost::asio::ip::address&)> allow_address;
};

struct outbound_result {
  int status = 0;     // the HTTP status; 0 when no response arrived
  std::string body;   // up to 64 KiB of the response body
  std::string error;  // why no response arrived (empty when one did)
};

struct url_parts {
  bool tls = false;
  std::string host, port, target;
};
// Splits an http:// or https:// URL; nullopt for anything else.
std::optional<url_parts> parse_url(const std::string& url);

// False for addresses a callback must not reach unless callbacks.allow_private: loopback,
// private (RFC 1918, unique-local), link-local (cloud metadata), carrier-grade NAT, unspecified,
// multicast, broadcast, documentation and benchmark ranges, and IPv6 forms of these (mapped,
// NAT64 with such a v4).
bool is_public_address(const boost::asio::ip::address& a);

// A client TLS context that verifies servers against the system's CA store.
std::shared_ptr<boost::asio::ssl::context> make_client_tls();

// A client connection that is kept open between requests to the same origin (HTTP/1.1
// keep-alive), for one request at a time: a callback receiver gets a burst of events over one
// connection (one TLS handshake) instead of one per event. Closed when destroyed.
class http_connection : public std::enable_shared_from_this<http_connection> {
 public:
  // `keep` false: every request on a new connection, closed after it.
  http_connection(boost::asio::any_io_executor ex, std::shared_ptr<boost::asio::ssl::context> tls,
                  bool keep = true);
  ~http_connection();
  // POSTs `req` and calls `done` once, on the executor. Not while another post is in flight.
  void post(outbound_request req, std::function<void(outbound_result)> done);

 private:
  struct state;
  boost::asio::awaitable<outbound_result> run(outbound_request req);
  boost::asio::awaitable<void> open(const url_parts& u, const outbound_request& req,
                                    std::chrono::steady_clock::time_point deadline);
  boost::asio::any_io_executor ex_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  bool keep_;
  std::unique_ptr<state> st_;
};

// POSTs `req` on a connection of its own and calls `done` once, on `ex`.
void http_post(boost::asio::any_io_executor ex, std::shared_ptr<boost::asio::ssl::context> tls,
               outbound_request req, std::function<void(outbound_result)> done);

}  // namespace switchboard::server
