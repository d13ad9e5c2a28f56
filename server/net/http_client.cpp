// Outbound HTTP(S) POSTs.
#include "server/net/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <algorithm>
#include <optional>

namespace switchboard::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t max_response_body = 64 * 1024;

// The host's addresses: an IP address as it is, a name through the resolver (within `deadline`).
asio::awaitable<std::vector<tcp::endpoint>> resolve(const url_parts& u,
                                                    std::chrono::steady_clock::time_point deadline) {
  auto port = static_cast<unsigned short>(std::stoi(u.port));
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(u.host, ec);
  if (!ec) co_return std::vector<tcp::endpoint>{tcp::endpoint(literal, port)};
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  asio::steady_timer guard(ex);
  guard.expires_at(deadline);
  guard.async_wait([&resolver](boost::system::error_code e) {
    if (!e) resolver.cancel();
  });
  auto addrs = co_await resolver.async_resolve(u.host, u.port, asio::use_awaitable);
  guard.cancel();
  std::vector<tcp::endpoint> out;
  for (const auto& e : addrs) out.push_back(e.endpoint());
  co_return out;
}

// Connects to the first of `addrs` that the request's allow_address accepts.
asio::awaitable<void> connect(beast::tcp_stream& s, const std::vector<tcp::endpoint>& addrs,
                              const outbound_request& req) {
  std::vector<tcp::endpoint> eps;
  for (const auto& e : addrs)
    if (!req.allow_address || req.allow_address(e.address())) eps.push_back(e);
  if (eps.empty()) throw std::runtime_error("the host's addresses are not allowed");
  s.expires_after(req.connect_timeout);
  co_await s.async_connect(eps, asio::use_awaitable);
}

template <class Stream>
asio::awaitable<outbound_result> exchange(Stream& s, beast::tcp_stream& lowest, beast::flat_buffer& buf,
                                          const url_parts& u, const outbound_request& req,
                                          std::chrono::steady_clock::time_point deadline, bool& keep_alive) {
  http::request<http::string_body> r{http::verb::post, u.target, 11};
  r.set(http::field::host, u.host);
  r.set(http::field::user_agent, "switchboard");
  r.set(http::field::content_type, req.content_type);
  for (const auto& [k, v] : req.headers) r.set(k, v);
  r.body() = req.body;
  r.keep_alive(keep_alive);
  r.prepare_payload();
  lowest.expires_at(deadline);
  co_await http::async_write(s, r, asio::use_awaitable);
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_response_body);
  lowest.expires_at(deadline);
  co_await http::async_read(s, buf, parser, asio::use_awaitable);
  keep_alive = keep_alive && parser.get().keep_alive();
  outbound_result out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  co_return out;
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
  if (p.host.empty() || p.port.find_first_not_of("0123456789") != std::string::npos || p.port.size() > 5 ||
      std::stoi(p.port) < 1 || std::stoi(p.port) > 65535)
    return std::nullopt;
  return p;
}

namespace {
bool public_v4(const asio::ip::address_v4& a) {
  auto v = a.to_uint();
  auto in = [v](std::uint32_t net, int bits) {
    return bits == 0 || (v >> (32 - bits)) == (net >> (32 - bits));
  };
  return !(in(0x00000000, 8) ||   // 0.0.0.0/8 "this network"
           in(0x0A000000, 8) ||   // 10/8
           in(0x64400000, 10) ||  // 100.64/10 carrier-grade NAT
           in(0x7F000000, 8) ||   // 127/8 loopback
           in(0xA9FE0000, 16) ||  // 169.254/16 link-local, cloud metadata
           in(0xAC100000, 12) ||  // 172.16/12
           in(0xC0000000, 24) ||  // 192.0.0/24 protocol assignments
           in(0xC0000200, 24) ||  // 192.0.2/24 documentation
           in(0xC0A80000, 16) ||  // 192.168/16
           in(0xC6120000, 15) ||  // 198.18/15 benchmarking
           in(0xC6336400, 24) ||  // 198.51.100/24 documentation
           in(0xCB007100, 24) ||  // 203.0.113/24 documentation
           in(0xE0000000, 4) ||   // 224/4 multicast
           in(0xF0000000, 4));    // 240/4 reserved, broadcast
}
}  // namespace

bool is_public_address(const asio::ip::address& a) {
  if (a.is_v4()) return public_v4(a.to_v4());
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return public_v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
  auto b = v6.to_bytes();
  // 64:ff9b::/96 (NAT64): judged by the IPv4 address it carries.
  static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::equal(nat64, nat64 + 12, b.begin()))
    return public_v4(asio::ip::address_v4({b[12], b[13], b[14], b[15]}));
  if (v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_site_local() ||
      v6.is_multicast())
    return false;
  // ::/96, the deprecated IPv4-compatible form.
  if (std::all_of(b.begin(), b.begin() + 12, [](unsigned char x) { return x == 0; })) return false;
  if ((b[0] & 0xfe) == 0xfc) return false;                                         // fc00::/7 unique local
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;  // 2001:db8::/32
  return true;
}

std::shared_ptr<asio::ssl::context> make_client_tls() {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_default_verify_paths();
  ctx->set_verify_mode(asio::ssl::verify_peer);
  ctx->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                   asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  return ctx;
}

struct http_connection::state {
  std::string origin;  // "s|host|port" of the open stream; empty: none open
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buf;
  void close() {
    origin.clear();
    plain.reset();
    secure.reset();
    buf.clear();
  }
};

http_connection::http_connection(asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> tls, bool keep)
    : ex_(std::move(ex)), tls_(std::move(tls)), keep_(keep), st_(std::make_unique<state>()) {}

http_connection::~http_connection() = default;

// Opens a stream to `u` (closing any other), within `deadline`.
asio::awaitable<void> http_connection::open(const url_parts& u, const outbound_request& req,
                                            std::chrono::steady_clock::time_point deadline) {
  st_->close();
  auto addrs = co_await resolve(u, deadline);
  if (!u.tls) {
    st_->plain = std::make_unique<beast::tcp_stream>(ex_);
    co_await connect(*st_->plain, addrs, req);
  } else {
    if (!tls_) throw std::runtime_error("TLS is not available");
    st_->secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex_, *tls_);
    auto& s = *st_->secure;
    if (!SSL_set_tlsext_host_name(s.native_handle(), u.host.c_str()))
      throw std::runtime_error("cannot set the TLS server name");
    s.set_verify_callback(asio::ssl::host_name_verification(u.host));
    co_await connect(beast::get_lowest_layer(s), addrs, req);
    beast::get_lowest_layer(s).expires_at(deadline);
    co_await s.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  }
  st_->origin = (u.tls ? "s|" : "p|") + u.host + "|" + u.port;
}

asio::awaitable<outbound_result> http_connection::run(outbound_request req) {
  auto deadline = std::chrono::steady_clock::now() + req.total_timeout;
  auto u = parse_url(req.url);
  if (!u) co_return outbound_result{0, {}, "not an http:// or https:// URL"};
  auto origin = (u->tls ? "s|" : "p|") + u->host + "|" + u->port;
  // A kept stream may have been closed by the server since: when it fails, the request goes once
  // more on a new one (the receiver may then see it twice, as with any retry).
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = st_->origin == origin;
    try {
      if (!reused) co_await open(*u, req, deadline);
      bool keep = keep_;
      // (Two statements: GCC 12 miscompiles co_await inside a conditional expression.)
      outbound_result out;
      if (st_->plain)
        out = co_await exchange(*st_->plain, *st_->plain, st_->buf, *u, req, deadline, keep);
      else
        out = co_await exchange(*st_->secure, beast::get_lowest_layer(*st_->secure), st_->buf, *u, req,
                                deadline, keep);
      if (!keep) st_->close();
      co_return out;
    } catch (const boost::system::system_error& e) {
      st_->close();
      if (!reused || std::chrono::steady_clock::now() >= deadline)
        co_return outbound_result{0, {}, e.code().message()};
    } catch (const std::exception& e) {
      st_->close();
      if (!reused || std::chrono::steady_clock::now() >= deadline) co_return outbound_result{0, {}, e.what()};
    }
  }
  co_return outbound_result{0, {}, "unreachable"};
}

void http_connection::post(outbound_request req, std::function<void(outbound_result)> done) {
  asio::co_spawn(
      ex_, run(std::move(req)),
      [self = shared_from_this(), done = std::move(done)](std::exception_ptr e, outbound_result r) {
        if (e) r = outbound_result{0, {}, "unexpected failure"};
        done(std::move(r));
      });
}

void http_post(asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> tls, outbound_request req,
               std::function<void(outbound_result)> done) {
  std::make_shared<http_connection>(std::move(ex), std::move(tls), false)
      ->post(std::move(req), std::move(done));
}

}  // namespace switchboard::server
