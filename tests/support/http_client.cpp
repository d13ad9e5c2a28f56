// Test harness: blocking HTTP client.
#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace sbtest {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

http_reply http_call(int port, const std::string& method, const std::string& target, const std::string& body,
                     const std::map<std::string, std::string>& headers) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.skip(method == "HEAD");
  http::read(stream, buf, parser);
  auto res = parser.release();
  http_reply r;
  r.status = res.result_int();
  r.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  beast::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return r;
}

long metric_value(int port, const std::string& series) {
  std::string body;
  try {
    body = http_get(port, "/metrics").body;
  } catch (const std::exception&) {
    return -2;
  }
  auto key = "\n" + series + " ";
  auto at = body.find(key);
  if (at == std::string::npos) return -1;
  return std::stol(body.substr(at + key.size()));
}

}  // namespace sbtest
