// Test harness: WebSocket client.
#include "ws_client.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <future>
#include <stdexcept>

namespace sbtest {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
namespace json = boost::json;

struct ws_client::impl {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buf;
  std::thread thread;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> frames;   // unread raw frames
  std::deque<json::object> events;  // events seen while waiting for a reply
  bool closed = false;
  int close_code = 0;
  std::string extensions;  // the server's Sec-WebSocket-Extensions
  std::atomic<bool> paused{false};
  bool reading = false;  // a read is in flight (io thread only)
  // Keeps the io thread running while no read is in flight (paused).
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};

  void read_loop() {
    reading = !paused;
    if (paused) return;
    ws.async_read(buf, [this](beast::error_code ec, std::size_t) {
      std::lock_guard lk(mu);
      if (ec) {
        reading = false;
        closed = true;
        close_code = ws.reason().code;
        cv.notify_all();
        return;
      }
      frames.push_back(beast::buffers_to_string(buf.data()));
      buf.consume(buf.size());
      cv.notify_all();
      read_loop();
    });
  }

  void write(const std::string& data, bool binary) {
    std::promise<beast::error_code> done;
    asio::post(ioc, [&] {
      ws.binary(binary);
      ws.async_write(asio::buffer(data), [&](beast::error_code ec, std::size_t) { done.set_value(ec); });
    });
    auto f = done.get_future();
    if (f.wait_for(10s) != std::future_status::ready) throw std::runtime_error("websocket write timed out");
    if (auto ec = f.get()) throw std::runtime_error("websocket write failed: " + ec.message());
  }
};

ws_client::ws_client(int port, const std::map<std::string, std::string>& headers, int receive_buffer_bytes,
                     bool offer_deflate)
    : impl_(std::make_unique<impl>()) {
  auto& i = *impl_;
  if (receive_buffer_bytes > 0) {
    auto& sock = beast::get_lowest_layer(i.ws).socket();
    sock.open(asio::ip::tcp::v4());
    sock.set_option(asio::socket_base::receive_buffer_size(receive_buffer_bytes));
  }
  beast::get_lowest_layer(i.ws).connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  i.ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [k, v] : headers) req.set(k, v);
  }));
  i.ws.read_message_max(64 * 1024 * 1024);
  if (offer_deflate) {
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    pmd.msg_size_threshold = 64;
    i.ws.set_option(pmd);
  }
  websocket::response_type res;
  i.ws.handshake(res, "127.0.0.1", "/v1/ws");
  i.extensions = std::string(res[beast::http::field::sec_websocket_extensions]);
  i.read_loop();
  i.thread = std::thread([&i] { i.ioc.run(); });
}

ws_client::~ws_client() {
  auto& i = *impl_;
  asio::post(i.ioc, [&i] {
    beast::error_code ec;
    beast::get_lowest_layer(i.ws).socket().close(ec);
  });
  i.work.reset();
  i.thread.join();
}

std::string ws_client::extensions() const {
  return impl_->extensions;
}

void ws_client::send_text(const std::string& text) {
  impl_->write(text, false);
}
void ws_client::send_binary(const std::string& bytes) {
  impl_->write(bytes, true);
}

void ws_client::send_ping() {
  auto& i = *impl_;
  std::promise<beast::error_code> done;
  asio::post(i.ioc, [&] { i.ws.async_ping({}, [&](beast::error_code ec) { done.set_value(ec); }); });
  auto f = done.get_future();
  if (f.wait_for(10s) != std::future_status::ready) throw std::runtime_error("websocket ping timed out");
  if (auto ec = f.get()) throw std::runtime_error("websocket ping failed: " + ec.message());
}

std::optional<std::string> ws_client::next_frame(std::chrono::milliseconds timeout) {
  auto& i = *impl_;
  std::unique_lock lk(i.mu);
  if (!i.cv.wait_for(lk, timeout, [&] { return !i.frames.empty() || i.closed; })) return std::nullopt;
  if (i.frames.empty()) return std::nullopt;
  auto f = std::move(i.frames.front());
  i.frames.pop_front();
  return f;
}

json::object ws_client::call(const std::string& op, const json::object& data,
                             std::chrono::milliseconds timeout) {
  std::string id = "r" + std::to_string(next_id_++);
  send_text(json::serialize(json::object{{"id", id}, {"op", op}, {"data", data}}));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("no reply to " + op + " within the timeout");
    auto f = next_frame(left);
    if (!f) {
      std::lock_guard lk(impl_->mu);
      if (impl_->closed)
        throw std::runtime_error("connection closed (" + std::to_string(impl_->close_code) + ") awaiting " +
                                 op);
      continue;
    }
    auto v = json::parse(*f).as_object();
    if (v.contains("ev")) {
      std::lock_guard lk(impl_->mu);
      impl_->events.push_back(std::move(v));
      continue;
    }
    if (v.contains("id") && v.at("id").is_string() && v.at("id").as_string() == id) return v;
  }
}

json::object ws_client::hello(const std::string& token, const std::string& device_id,
                              const std::string& version) {
  return call("hello",
              {{"token", token},
               {"device", json::object{{"id", device_id}, {"platform", "linux"}, {"version", version}}}});
}

std::optional<json::object> ws_client::wait_event(const std::string& ev, std::chrono::milliseconds timeout) {
  {
    std::lock_guard lk(impl_->mu);
    for (auto it = impl_->events.begin(); it != impl_->events.end(); ++it) {
      if (it->at("ev").as_string() == ev) {
        auto out = std::move(*it);
        impl_->events.erase(it);
        return out;
      }
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto f = next_frame(left);
    if (!f) {
      std::lock_guard lk(impl_->mu);
      if (impl_->closed) return std::nullopt;
      continue;
    }
    auto v = json::parse(*f).as_object();
    if (!v.contains("ev")) continue;  // a late reply
    if (v.at("ev").as_string() == ev) return v;
    std::lock_guard lk(impl_->mu);
    impl_->events.push_back(std::move(v));
  }
}

std::optional<int> ws_client::wait_closed(std::chrono::milliseconds timeout) {
  auto& i = *impl_;
  std::unique_lock lk(i.mu);
  if (!i.cv.wait_for(lk, timeout, [&] { return i.closed; })) return std::nullopt;
  return i.close_code;
}

void ws_client::pause_reading() {
  impl_->paused = true;
}

void ws_client::resume_reading() {
  auto& i = *impl_;
  i.paused = false;
  asio::post(i.ioc, [&i] {
    if (!i.reading) i.read_loop();
  });
}

void ws_client::drop() {
  auto& i = *impl_;
  std::promise<void> done;
  asio::post(i.ioc, [&] {
    beast::error_code ec;
    beast::get_lowest_layer(i.ws).socket().close(ec);
    done.set_value();
  });
  done.get_future().wait();
}

std::size_t ws_client::pending_events() const {
  std::lock_guard lk(impl_->mu);
  return impl_->events.size();
}

}  // namespace sbtest
