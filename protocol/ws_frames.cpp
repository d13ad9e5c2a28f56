// WebSocket framing and per-message compression (protocol/ws_frames.hpp).
#include "protocol/ws_frames.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace switchboard::protocol {

namespace {

constexpr unsigned op_continuation = 0x0, op_text = 0x1, op_binary = 0x2, op_close = 0x8, op_ping = 0x9,
                   op_pong = 0xA;

bool is_control(unsigned op) {
  return (op & 0x8) != 0;
}

void unmask(char* p, std::size_t n, const std::array<unsigned char, 4>& key, std::size_t offset) {
  // Eight bytes at a time with the key repeated, then the tail.
  unsigned char k[8];
  for (std::size_t i = 0; i < 8; ++i) k[i] = key[(offset + i) & 3];
  std::uint64_t k64;
  std::memcpy(&k64, k, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= k64;
    std::memcpy(p + i, &w, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<char>(static_cast<unsigned char>(p[i]) ^ k[i & 7]);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A window size parameter's value (8-15); 0 when absent-valued, -1 when malformed.
int window_value(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty()) return 0;
  if (v.size() > 2 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  int n = std::stoi(std::string(v));
  return n >= 8 && n <= 15 ? n : -1;
}

// zlib streams kept per thread, reset for every message (no context takeover).
struct deflater {
  explicit deflater(int bits) {
    // Level 1: these are small JSON messages; the higher levels cost CPU for a few bytes.
    ok = deflateInit2(&z, 1, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~deflater() {
    if (ok) deflateEnd(&z);
  }
  z_stream z{};
  bool ok = false;
};
struct inflater {
  inflater() { ok = inflateInit2(&z, -15) == Z_OK; }
  ~inflater() {
    if (ok) inflateEnd(&z);
  }
  z_stream z{};
  bool ok = false;
};

}  // namespace

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // ASCII eight bytes at a time.
    if (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    // Unicode 15, table 3-7: the well-formed byte sequences.
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) < len) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t i = 2; i < len; ++i)
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    p += len;
  }
  return true;
}

bool valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

void ws_decoder::fail(events& e, std::uint16_t code, std::string_view reason) {
  done_ = true;
  std::string().swap(message_);
  std::string().swap(control_);
  e.on_error(code, reason);
}

void ws_decoder::feed(char* data, std::size_t n, events& e) {
  while (!done_) {
    if (!in_payload_) {
      if (n == 0) return;
      // The two fixed bytes, then as many more as they say (length and masking key).
      if (header_have_ < 2) {
        std::size_t take = std::min<std::size_t>(2 - header_have_, n);
        std::memcpy(header_.data() + header_have_, data, take);
        header_have_ += take;
        data += take;
        n -= take;
        if (header_have_ < 2) return;
      }
      const unsigned len7 = header_[1] & 0x7f;
      const std::size_t need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((header_[1] & 0x80) ? 4 : 0);
      std::size_t take = std::min(need - header_have_, n);
      std::memcpy(header_.data() + header_have_, data, take);
      header_have_ += take;
      data += take;
      n -= take;
      if (header_have_ < need) return;  // the rest comes with the next read
      parse_header(e);
      if (done_) return;
      if (remaining_ == 0) frame_done(e);
      continue;
    }
    if (n == 0) return;
    auto m = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n));
    payload(data, m, e);
    data += m;
    n -= m;
  }
}

void ws_decoder::parse_header(events& e) {
  const unsigned b0 = header_[0], b1 = header_[1];
  fin_ = (b0 & 0x80) != 0;
  const bool rsv1 = (b0 & 0x40) != 0;
  opcode_ = b0 & 0x0f;
  std::size_t pos = 2;
  std::uint64_t len = b1 & 0x7f;
  if (len == 126) {
    len = (std::uint64_t{header_[2]} << 8) | header_[3];
    pos = 4;
  } else if (len == 127) {
    len = 0;
    for (std::size_t i = 0; i < 8; ++i) len = (len << 8) | header_[2 + i];
    pos = 10;
  }
  header_have_ = 0;
  if ((b0 & 0x30) != 0) return fail(e, close_code::protocol_error, "reserved bits set");
  if ((b1 & 0x80) == 0) return fail(e, close_code::protocol_error, "client frames must be masked");
  std::memcpy(mask_.data(), header_.data() + pos, 4);
  if (opcode_ == op_binary) return fail(e, close_code::unsupported_data, "binary frames are not accepted");
  if (is_control(opcode_)) {
    if (opcode_ != op_close && opcode_ != op_ping && opcode_ != op_pong)
      return fail(e, close_code::protocol_error, "unknown opcode");
    if (!fin_ || len > 125) return fail(e, close_code::protocol_error, "control frames are short and whole");
    if (rsv1) return fail(e, close_code::protocol_error, "reserved bits set");
  } else {
    if (opcode_ != op_text && opcode_ != op_continuation)
      return fail(e, close_code::protocol_error, "unknown opcode");
    if (opcode_ == op_continuation && !in_message_)
      return fail(e, close_code::protocol_error, "continuation frame without a message");
    if (opcode_ == op_text && in_message_)
      return fail(e, close_code::protocol_error, "new message before the last one ended");
    if (rsv1 && (!deflate_ || opcode_ == op_continuation))
      return fail(e, close_code::protocol_error, "reserved bits set");
    if (opcode_ == op_text) compressed_ = rsv1;
    if (len > max_message_ || message_.size() + len > max_message_)
      return fail(e, close_code::too_big, "message too big");
  }
  length_ = remaining_ = len;
  in_payload_ = true;
}

void ws_decoder::payload(char* p, std::size_t m, events& e) {
  unmask(p, m, mask_, static_cast<std::size_t>(length_ - remaining_));
  const bool whole = m == length_;  // the whole payload in this read: no copy
  remaining_ -= m;
  if (is_control(opcode_)) {
    if (whole) {
      in_payload_ = false;
      std::string_view v(p, m);
      if (opcode_ == op_ping) return e.on_ping(v);
      if (opcode_ == op_pong) return e.on_pong();
      control_.assign(v);
    } else {
      control_.append(p, m);
      if (remaining_ > 0) return;
    }
    return frame_done(e);
  }
  if (whole && fin_ && !in_message_) {
    in_payload_ = false;
    return deliver(std::string_view(p, m), compressed_, e);
  }
  message_.append(p, m);
  if (remaining_ == 0) frame_done(e);
}

void ws_decoder::frame_done(events& e) {
  in_payload_ = false;
  if (is_control(opcode_)) {
    std::string payload;
    payload.swap(control_);
    if (opcode_ == op_ping) return e.on_ping(payload);
    if (opcode_ == op_pong) return e.on_pong();
    // close
    done_ = true;
    if (payload.empty()) return e.on_close(close_code::no_status, {});
    if (payload.size() == 1)
      return fail(e, close_code::protocol_error, "close frame with a one-byte payload");
    auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                           static_cast<unsigned char>(payload[1]));
    std::string_view reason(payload.data() + 2, payload.size() - 2);
    if (!valid_close_code(code)) return fail(e, close_code::protocol_error, "invalid close code");
    if (!valid_utf8(reason)) return fail(e, close_code::invalid_payload, "close reason is not UTF-8");
    return e.on_close(code, reason);
  }
  if (!fin_) {
    in_message_ = true;
    return;
  }
  in_message_ = false;
  std::string whole;
  whole.swap(message_);  // the decoder keeps no buffer between messages
  deliver(whole, compressed_, e);
}

void ws_decoder::deliver(std::string_view payload, bool compressed, events& e) {
  if (compressed) {
    std::string text;
    bool too_big = false;
    if (!inflate_message(payload, max_message_, text, too_big))
      return fail(e, too_big ? close_code::too_big : close_code::invalid_payload,
                  too_big ? "message too big" : "corrupt compressed message");
    if (!valid_utf8(text)) return fail(e, close_code::invalid_payload, "text is not UTF-8");
    return e.on_text(text);
  }
  if (!valid_utf8(payload)) return fail(e, close_code::invalid_payload, "text is not UTF-8");
  e.on_text(payload);
}

void append_frame(std::string& out, unsigned opcode, std::string_view payload, bool rsv1) {
  const std::size_t n = payload.size();
  out.push_back(static_cast<char>(0x80 | (rsv1 ? 0x40 : 0) | (opcode & 0x0f)));  // FIN, unfragmented
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

void append_close_frame(std::string& out, std::uint16_t code, std::string_view reason) {
  if (code == close_code::no_status) return append_frame(out, op_close, {});
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xff));
  // At most 123 bytes of reason, cut at a character boundary.
  std::size_t cut = std::min<std::size_t>(reason.size(), 123);
  while (cut > 0 && cut < reason.size() && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) --cut;
  payload.append(reason.substr(0, cut));
  append_frame(out, op_close, payload);
}

void deflate_message(std::string_view payload, int window_bits, std::string& out) {
  thread_local std::array<std::unique_ptr<deflater>, 16> streams;
  auto& d = streams[static_cast<std::size_t>(window_bits)];
  if (!d) d = std::make_unique<deflater>(window_bits);
  z_stream& z = d->z;
  deflateReset(&z);
  const std::size_t start = out.size();
  out.resize(start + deflateBound(&z, payload.size()) + 8);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  z.avail_in = static_cast<uInt>(payload.size());
  std::size_t written = 0;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(out.data() + start + written);
    z.avail_out = static_cast<uInt>(out.size() - start - written);
    deflate(&z, Z_SYNC_FLUSH);
    written = out.size() - start - z.avail_out;
    if (z.avail_out > 0) break;
    out.resize(out.size() * 2);  // not expected (deflateBound), but never cut the output
  }
  // A sync flush ends with an empty stored block, 00 00 ff ff, which the sender takes off.
  if (written >= 4) written -= 4;
  out.resize(start + written);
}

bool inflate_message(std::string_view compressed, std::size_t max, std::string& out, bool& too_big) {
  thread_local inflater in;
  if (!in.ok) return false;
  z_stream& z = in.z;
  inflateReset(&z);
  static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
  std::string_view parts[2] = {compressed, std::string_view(reinterpret_cast<const char*>(tail), 4)};
  out.clear();
  char chunk[16384];
  for (auto part : parts) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(part.data()));
    z.avail_in = static_cast<uInt>(part.size());
    // Until this part is taken and no output is pending (a full chunk may leave some behind).
    do {
      z.next_out = reinterpret_cast<Bytef*>(chunk);
      z.avail_out = sizeof chunk;
      int rc = inflate(&z, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) return false;
      std::size_t got = sizeof chunk - z.avail_out;
      if (out.size() + got > max) {
        too_big = true;
        return false;
      }
      out.append(chunk, got);
      if (rc == Z_STREAM_END) return true;       // a final block: nothing after it is the message's
      if (got == 0 && rc == Z_BUF_ERROR) break;  // no progress possible with this input
    } while (z.avail_in > 0 || z.avail_out == 0);
  }
  return true;
}

deflate_agreement negotiate_deflate(std::string_view offers) {
  deflate_agreement a;
  while (!offers.empty()) {
    auto comma = offers.find(',');
    std::string_view offer = offers.substr(0, comma);
    offers = comma == std::string_view::npos ? std::string_view{} : offers.substr(comma + 1);
    auto semi = offer.find(';');
    if (!equals_nocase(trim(offer.substr(0, semi)), "permessage-deflate")) continue;
    // Its parameters: each known, each once, values in range; else this offer is passed over.
    bool ok = true, seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
    int server_bits = 15;
    std::string_view params = semi == std::string_view::npos ? std::string_view{} : offer.substr(semi + 1);
    while (ok && !params.empty()) {
      auto next = params.find(';');
      std::string_view param = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      auto eq = param.find('=');
      std::string_view name = trim(param.substr(0, eq));
      std::string_view value = eq == std::string_view::npos ? std::string_view{} : trim(param.substr(eq + 1));
      auto once = [&](bool& seen) {
        if (seen) ok = false;
        seen = true;
      };
      if (equals_nocase(name, "server_no_context_takeover") && eq == std::string_view::npos) {
        once(seen_snct);
      } else if (equals_nocase(name, "client_no_context_takeover") && eq == std::string_view::npos) {
        once(seen_cnct);
      } else if (equals_nocase(name, "server_max_window_bits")) {
        once(seen_smwb);
        // zlib takes 8 as 9 for raw deflate: an offer that insists on 8 is passed over.
        server_bits = window_value(value);
        if (server_bits < 9) ok = false;
      } else if (equals_nocase(name, "client_max_window_bits")) {
        once(seen_cmwb);
        if (window_value(value) < 0) ok = false;
      } else {
        ok = false;
      }
    }
    if (!ok) continue;
    a.agreed = true;
    a.window_bits = server_bits;
    a.response = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
    if (seen_smwb) a.response += "; server_max_window_bits=" + std::to_string(server_bits);
    return a;
  }
  return a;
}

}  // namespace switchboard::protocol
