// Accepts TCP connections on one address and starts an http_session for each, on its own strand.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "server/net/http_handler.hpp"
#include "server/net/tls.hpp"
#include "server/net/transport.hpp"

namespace switchboard::server {

class listener : public std::enable_shared_from_this<listener> {
 public:
  // With `tls`, every accepted connection speaks TLS with its current context.
  listener(boost::asio::io_context& ioc, transport& net, http_handler& handler, bool metrics_only,
           tls_contexts* tls = nullptr);

  // Binds and listens; the bound endpoint (port 0 resolved) is then local_endpoint().
  boost::system::error_code open(const boost::asio::ip::tcp::endpoint& ep);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void run();
  void stop();  // posts; safe from any thread

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  transport& net_;
  http_handler& handler_;
  bool metrics_only_;
  tls_contexts* tls_;
};

}  // namespace switchboard::server
