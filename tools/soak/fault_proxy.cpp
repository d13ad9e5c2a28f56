// The fault proxy: two pumps per connection, each read → (stall, latency) → write, in order.
#include "tools/soak/fault_proxy.hpp"

#include <array>
#include <functional>

namespace switchboard::soak {

struct fault_proxy::pair : std::enable_shared_from_this<pair> {
  struct pump {
    explicit pump(asio::io_context& ioc) : timer(ioc) {}
    std::array<char, 65536> buf{};
    asio::steady_timer timer;
  };

  pair(asio::io_context& ioc, tcp::socket client, std::shared_ptr<std::atomic<bool>> st,
       std::shared_ptr<std::atomic<std::int64_t>> lat)
      : down(std::move(client)),
        up(ioc),
        stalled(std::move(st)),
        latency_ms(std::move(lat)),
        d2u(ioc),
        u2d(ioc) {}

  void start(const tcp::endpoint& upstream, std::function<void(const std::shared_ptr<pair>&)> done) {
    on_done = std::move(done);
    up.async_connect(upstream, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return self->close(false);
      self->up.set_option(tcp::no_delay(true), ec);
      self->down.set_option(tcp::no_delay(true), ec);
      self->read(self->down, self->up, self->d2u);
      self->read(self->up, self->down, self->u2d);
    });
  }

  void read(tcp::socket& from, tcp::socket& to, pump& p) {
    from.async_read_some(asio::buffer(p.buf), [self = shared_from_this(), &from, &to, &p](
                                                  boost::system::error_code ec, std::size_t n) {
      if (ec) return self->close(false);
      self->deliver(from, to, p, n, std::chrono::steady_clock::now());
    });
  }

  // Holds the chunk while stalled or until its latency has passed, then writes it whole.
  void deliver(tcp::socket& from, tcp::socket& to, pump& p, std::size_t n,
               std::chrono::steady_clock::time_point arrived) {
    if (closed) return;
    auto due = arrived + std::chrono::milliseconds(latency_ms->load());
    auto now = std::chrono::steady_clock::now();
    if (stalled->load() || now < due) {
      p.timer.expires_after(stalled->load()
                                ? std::chrono::milliseconds(20)
                                : std::chrono::duration_cast<std::chrono::milliseconds>(due - now));
      p.timer.async_wait(
          [self = shared_from_this(), &from, &to, &p, n, arrived](boost::system::error_code ec) {
            if (ec) return;
            self->deliver(from, to, p, n, arrived);
          });
      return;
    }
    asio::async_write(to, asio::buffer(p.buf.data(), n),
                      [self = shared_from_this(), &from, &to, &p](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->close(false);
                        self->read(from, to, p);
                      });
  }

  // Closes both sides; `rst` makes each close a reset (linger 0) instead of an orderly FIN.
  void close(bool rst) {
    if (closed) return;
    closed = true;
    boost::system::error_code ec;
    for (auto* s : {&down, &up}) {
      if (rst && s->is_open()) s->set_option(asio::socket_base::linger(true, 0), ec);
      s->close(ec);
    }
    d2u.timer.cancel();
    u2d.timer.cancel();
    if (on_done) on_done(shared_from_this());
  }

  tcp::socket down, up;  // down: the server's side; up: PostgreSQL's
  std::shared_ptr<std::atomic<bool>> stalled;
  std::shared_ptr<std::atomic<std::int64_t>> latency_ms;
  pump d2u, u2d;
  bool closed = false;
  std::function<void(const std::shared_ptr<pair>&)> on_done;
};

fault_proxy::fault_proxy(asio::io_context& ioc, tcp::endpoint upstream)
    : ioc_(ioc),
      upstream_(std::move(upstream)),
      acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
      stalled_(std::make_shared<std::atomic<bool>>(false)),
      latency_ms_(std::make_shared<std::atomic<std::int64_t>>(0)) {
  port_ = acceptor_.local_endpoint().port();
  asio::post(ioc_, [this] { accept(); });
}

fault_proxy::~fault_proxy() = default;

void fault_proxy::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      accepted_.fetch_add(1);
      auto p = std::make_shared<pair>(ioc_, std::move(s), stalled_, latency_ms_);
      pairs_.insert(p);
      p->start(upstream_, [this](const std::shared_ptr<pair>& done) { pairs_.erase(done); });
    }
    accept();
  });
}

void fault_proxy::reset_all() {
  asio::post(ioc_, [this] {
    auto all = pairs_;
    for (const auto& p : all) p->close(true);
    resets_.fetch_add(all.size());
  });
}

void fault_proxy::set_stalled(bool stalled) {
  stalled_->store(stalled);
}

void fault_proxy::set_latency(std::chrono::milliseconds ms) {
  latency_ms_->store(ms.count());
}

void fault_proxy::close() {
  asio::post(ioc_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    auto all = pairs_;
    for (const auto& p : all) p->close(false);
  });
}

}  // namespace switchboard::soak
