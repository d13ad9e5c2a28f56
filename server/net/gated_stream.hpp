// The layer beneath a WebSocket stream that lets its connection write many frames in one write.
//
// Beast writes one message per call, each its own system call. A connection with several frames
// queued instead encodes them itself (server frames are unmasked: a header and the payload) and
// hands them to this layer as one buffer: one `sendmsg` and one TCP segment for the lot. Beast
// keeps writing what it writes by itself: the handshake's answer, pings, the pongs its read loop
// answers, and close frames. Both writers go through here, and every write is written whole
// before the next one starts, so a pong can never land in the middle of a batch of frames; a
// write that comes while another is in flight waits its turn.
//
// Once Beast has written a close frame, a batch is refused with websocket::error::closed: nothing
// may follow a close frame.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace switchboard::server {

template <class Next>
class gated_stream {
 public:
  using executor_type = typename Next::executor_type;
  using next_layer_type = Next;

  explicit gated_stream(Next&& next) : next_(std::move(next)) {}
  gated_stream(gated_stream&&) = default;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  Next& next_layer() noexcept { return next_; }
  const Next& next_layer() const noexcept { return next_; }

  // The WebSocket handshake is done: from here on Beast's writes are frames, and a close frame
  // among them ends the batches.
  void frames_started() { frames_ = true; }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    return next_.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  // Beast's writes: written whole (a write_some that writes everything is a valid write_some).
  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return boost::asio::async_compose<WriteHandler, void(boost::beast::error_code, std::size_t)>(
        write_op<ConstBufferSequence>{*this, buffers, false}, handler, next_);
  }

  // The connection's batch of encoded frames, written whole.
  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_frames(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    return boost::asio::async_compose<WriteHandler, void(boost::beast::error_code, std::size_t)>(
        write_op<ConstBufferSequence>{*this, buffers, true}, handler, next_);
  }

 private:
  struct parked {
    virtual ~parked() = default;
    virtual void resume() = 0;
  };
  template <class Self>
  struct parked_op final : parked {
    explicit parked_op(Self&& s) : self(std::move(s)) {}
    void resume() override { self(resumed{}); }
    Self self;
  };
  struct resumed {};

  template <class Buffers>
  struct write_op {
    gated_stream& s;
    Buffers buffers;
    bool batch;

    template <class Self>
    void operator()(Self& self) {
      if (s.busy_) {
        // At most two writers exist (Beast, which writes one thing at a time, and the
        // connection, which has one batch in flight), so one parked write is all there can be.
        s.parked_ = std::make_unique<parked_op<Self>>(std::move(self));
        return;
      }
      s.busy_ = true;
      start(self);
    }
    // The write before finished and handed the gate to this one (busy_ stayed set): a write
    // initiated meanwhile parks behind it instead of overtaking it.
    template <class Self>
    void operator()(Self& self, resumed) {
      start(self);
    }
    template <class Self>
    void operator()(Self& self, boost::beast::error_code ec, std::size_t n) {
      if (auto p = std::move(s.parked_)) {
        boost::asio::post(s.next_.get_executor(), [p = std::move(p)]() mutable { p->resume(); });
      } else {
        s.busy_ = false;
      }
      self.complete(ec, n);
    }

    template <class Self>
    void start(Self& self) {
      if (batch && s.close_sent_) {
        // Completed through the executor, never inside the initiating call.
        return boost::asio::post(s.next_.get_executor(), [self = std::move(self)]() mutable {
          self(boost::beast::websocket::error::closed, std::size_t{0});
        });
      }
      if (!batch && s.frames_ && is_close(buffers)) s.close_sent_ = true;
      boost::asio::async_write(s.next_, buffers, std::move(self));
    }

    static bool is_close(const Buffers& b) {
      for (auto it = boost::asio::buffer_sequence_begin(b); it != boost::asio::buffer_sequence_end(b); ++it) {
        boost::asio::const_buffer cb(*it);
        if (cb.size() == 0) continue;
        return (static_cast<const unsigned char*>(cb.data())[0] & 0x0f) == 0x8;
      }
      return false;
    }
  };

  Next next_;
  std::unique_ptr<parked> parked_;
  bool busy_ = false;
  bool frames_ = false;
  bool close_sent_ = false;
};

// Beast's teardown of the WebSocket goes to the layer beneath (TCP, or TLS and TCP).
template <class Next>
void teardown(boost::beast::role_type role, gated_stream<Next>& s, boost::beast::error_code& ec) {
  using boost::beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

template <class Next, class TeardownHandler>
void async_teardown(boost::beast::role_type role, gated_stream<Next>& s, TeardownHandler&& handler) {
  using boost::beast::websocket::async_teardown;
  async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
}

// Appends one unmasked, unfragmented text frame (RFC 6455 §5.2) carrying `payload` to `out`.
inline void append_text_frame(std::string& out, std::string_view payload) {
  const std::size_t n = payload.size();
  out.push_back(static_cast<char>(0x81));  // FIN, text
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  out.append(payload);
}

}  // namespace switchboard::server
