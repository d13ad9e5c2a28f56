// Outbound HTTP(S) POSTs.
#include "server/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <optional>

namespace switchboard::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t max_response_body = 64 * 1024;

// Connects to the first resolved address that `allow` accepts.
asio::awaitable<void> connect(beast::tcp_stream& s, const tcp::resolver::results_type& addrs,
                              const outbound_request& req) {
  std::vector<tcp::endpoint> eps;
  for (const auto& e : addrs)
    if (!req.allow_address || req.allow_address(e.endpoint().address())) eps.push_back(e.endpoint());
  if (eps.empty()) throw std::runtime_error("the host's addresses are not allowed");
  s.expires_after(req.connect_timeout);
  co_await s.async_connect(eps, asio::use_awaitable);
}

template <class Stream>
asio::awaitable<outbound_result> exchange(Stream& s, beast::tcp_stream& lowest, const url_parts& u,
                                          const outbound_request& req,
                                          std::chrono::steady_clock::time_point deadline) {
  http::request<http::string_body> r{http::verb::post, u.target, 11};
  r.set(http::field::host, u.host);
  r.set(http::field::user_agent, "switchboard");
  r.set(http::field::content_type, req.content_type);
  for (const auto& [k, v] : req.headers) r.set(k, v);
  r.body() = req.body;
  r.prepare_payload();
  lowest.expires_at(deadline);
  co_await http::async_write(s, r, asio::use_awaitable);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_response_body);
  lowest.expires_at(deadline);
  co_await http::async_read(s, buf, parser, asio::use_awaitable);
  outbound_result out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  co_return out;
}

asio::awaitable<outbound_result> run(std::shared_ptr<asio::ssl::context> tls, outbound_request req) {
  auto deadline = std::chrono::steady_clock::now() + req.total_timeout;
  auto u = parse_url(req.url);
  if (!u) co_return outbound_result{0, {}, "not an http:// or https:// URL"};
  auto ex = co_await asio::this_coro::executor;
  try {
    tcp::resolver resolver(ex);
    auto addrs = co_await resolver.async_resolve(u->host, u->port, asio::use_awaitable);
    if (!u->tls) {
      beast::tcp_stream s(ex);
      co_await connect(s, addrs, req);
      auto out = co_await exchange(s, s, *u, req, deadline);
      beast::error_code ignored;
      s.socket().shutdown(tcp::socket::shutdown_both, ignored);
      co_return out;
    }
    if (!tls) co_return outbound_result{0, {}, "TLS is not available"};
    beast::ssl_stream<beast::tcp_stream> s(ex, *tls);
    if (!SSL_set_tlsext_host_name(s.native_handle(), u->host.c_str()))
      co_return outbound_result{0, {}, "cannot set the TLS server name"};
    s.set_verify_callback(asio::ssl::host_name_verification(u->host));
    co_await connect(beast::get_lowest_layer(s), addrs, req);
    beast::get_lowest_layer(s).expires_at(deadline);
    co_await s.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    co_return co_await exchange(s, beast::get_lowest_layer(s), *u, req, deadline);
  } catch (const std::exception& e) {
    co_return outbound_result{0, {}, e.what()};
  }
}

}  // namespace

std::optional<url_parts> parse_url(const std::string& url) {
  url_parts p;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    p.tls = true;
    rest = url.substr(8);
  } else {
    return std::nullopt;
  }
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  p.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string::npos) return std::nullopt;
  if (authority[0] == '[') {  // [v6]:port
    auto close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    p.host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') return std::nullopt;
    p.port = after.empty() ? "" : after.substr(1);
  } else {
    auto colon = authority.rfind(':');
    p.host = authority.substr(0, colon);
    p.port = colon == std::string::npos ? "" : authority.substr(colon + 1);
  }
  if (p.port.empty()) p.port = p.tls ? "443" : "80";
  if (p.host.empty() || p.port.find_first_not_of("0123456789") != std::string::npos || p.port.size() > 5)
    return std::nullopt;
  return p;
}

std::shared_ptr<asio::ssl::context> make_client_tls() {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_default_verify_paths();
  ctx->set_verify_mode(asio::ssl::verify_peer);
  ctx->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                   asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  return ctx;
}

void http_post(asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> tls, outbound_request req,
               std::function<void(outbound_result)> done) {
  asio::co_spawn(ex, run(std::move(tls), std::move(req)),
                 [done = std::move(done)](std::exception_ptr e, outbound_result r) {
                   if (e) r = outbound_result{0, {}, "unexpected failure"};
                   done(std::move(r));
                 });
}

}  // namespace switchboard::server
