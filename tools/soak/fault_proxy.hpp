// A TCP proxy that injects network faults between the server and PostgreSQL: it forwards every
// connection made to it to one upstream address and can, on command, reset every open connection
// (RST both ways), stall them (hold every byte, new connections included, until released: a
// black hole as the server sees it), or delay every chunk by a fixed latency. Everything runs on
// the io_context given; the control calls are safe from any thread.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>

namespace switchboard::soak {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class fault_proxy {
 public:
  // Listens on 127.0.0.1 on a free port.
  fault_proxy(asio::io_context& ioc, tcp::endpoint upstream);
  ~fault_proxy();
  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  unsigned short port() const { return port_; }
  void reset_all();                             // RST every open connection, both sides
  void set_stalled(bool stalled);               // while true no byte moves, in either direction
  void set_latency(std::chrono::milliseconds);  // added to every chunk, each way
  void close();                                 // stop accepting and drop everything

  std::uint64_t accepted() const { return accepted_.load(); }
  std::uint64_t resets() const { return resets_.load(); }

  struct pair;  // one proxied connection (internal)

 private:
  void accept();

  asio::io_context& ioc_;
  tcp::endpoint upstream_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::set<std::shared_ptr<pair>> pairs_;  // on the io_context only
  std::shared_ptr<std::atomic<bool>> stalled_;
  std::shared_ptr<std::atomic<std::int64_t>> latency_ms_;
  std::atomic<std::uint64_t> accepted_{0}, resets_{0};
};

}  // namespace switchboard::soak
