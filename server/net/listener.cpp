// TCP accept loop.
#include "server/net/listener.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "server/net/http_session.hpp"

namespace switchboard::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
// Out of descriptors (EMFILE) or memory: back off briefly instead of spinning on accept.
constexpr auto accept_retry_delay = std::chrono::milliseconds(100);
}  // namespace

listener::listener(asio::io_context& ioc, transport& net, http_handler& handler, bool metrics_only,
                   tls_contexts* tls)
    : ioc_(ioc),
      acceptor_(asio::make_strand(ioc)),
      retry_timer_(acceptor_.get_executor()),
      net_(net),
      handler_(handler),
      metrics_only_(metrics_only),
      tls_(tls) {}

boost::system::error_code listener::open(const tcp::endpoint& ep) {
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (ec) return ec;
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return ec;
  acceptor_.bind(ep, ec);
  if (ec) return ec;
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

tcp::endpoint listener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void listener::run() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->retry_timer_.cancel();
    self->acceptor_.close(ec);
  });
}

void listener::do_accept() {
  if (!acceptor_.is_open()) return;
  acceptor_.async_accept(asio::make_strand(ioc_),
                         [self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
                           self->on_accept(ec, std::move(s));
                         });
}

void listener::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    net_.log->warn("accept failed: {}", ec.message());
    retry_timer_.expires_after(accept_retry_delay);
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e) self->do_accept();
    });
    return;
  }
  net_.stats.connections_accepted_total.fetch_add(1, std::memory_order_relaxed);
  auto open = net_.stats.http_connections.load(std::memory_order_relaxed) +
              net_.stats.ws_connections.load(std::memory_order_relaxed);
  std::shared_ptr<void> slot;
  bool refuse = net_.draining.load();
  if (!refuse && open >= net_.cfg.server.max_connections) {
    net_.stats.hit(limit::connections_total);
    refuse = true;
  }
  if (!refuse) {
    auto peer = socket.remote_endpoint(ec);
    // Trusted proxies carry many clients each: only direct peers are limited per IP.
    if (!ec && !is_trusted(peer.address(), net_.trusted_proxies)) {
      slot = net_.ip_connections->acquire(peer.address());
      if (!slot) {
        net_.stats.hit(limit::connections_per_ip);
        refuse = true;
      }
    }
  }
  if (refuse) {
    net_.stats.connections_rejected_total.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    socket.close(ignored);
  } else {
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<http_session>(std::move(socket), net_, handler_, metrics_only_, std::move(slot),
                                   tls_ ? tls_->current() : nullptr)
        ->run();
  }
  do_accept();
}

}  // namespace switchboard::server
