// Encoding and parsing of bus messages.
#include "server/cluster/bus_message.hpp"

#include <charconv>
#include <vector>

namespace switchboard::server::cluster {

namespace {

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at <= line.size()) {
    auto sp = line.find(' ', at);
    if (sp == std::string_view::npos) sp = line.size();
    out.push_back(line.substr(at, sp - at));
    at = sp + 1;
  }
  return out;
}

template <class T>
bool number(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool reason_ok(std::string_view r) {
  if (r.empty() || r.size() > 64) return false;
  for (char c : r)
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  return true;
}

}  // namespace

std::string encode(const bus_message& m) {
  std::string h(1, static_cast<char>(m.k));
  switch (m.k) {
    case bus_message::kind::message:
      h += ' ' + std::to_string(m.org) + ' ' + std::to_string(m.conv) + ' ' + std::to_string(m.seq);
      break;
    case bus_message::kind::kick:
      h += ' ' + std::to_string(m.code) + (m.by_device ? " d " : " t ") + m.reason;
      break;
    case bus_message::kind::tokens:
      h += ' ' + std::to_string(m.limit);
      break;
    case bus_message::kind::session:
      h += ' ' + m.session;
      break;
    case bus_message::kind::members:
      h += ' ' + std::to_string(m.conv);
      break;
    case bus_message::kind::presence:
      h += m.online ? " 1 " : " 0 ";
      h += m.last_seen_ms ? std::to_string(*m.last_seen_ms) : "-";
      break;
    default:
      break;
  }
  h += '\n';
  h.append(m.body.data(), m.body.size());
  return h;
}

std::optional<bus_message> parse_bus_message(std::string_view bytes) {
  auto nl = bytes.find('\n');
  if (nl == std::string_view::npos || nl == 0) return std::nullopt;
  auto f = split(bytes.substr(0, nl));
  bus_message m;
  m.body = bytes.substr(nl + 1);
  if (f[0].size() != 1) return std::nullopt;
  m.k = static_cast<bus_message::kind>(f[0][0]);
  switch (m.k) {
    case bus_message::kind::event:
    case bus_message::kind::changes:
    case bus_message::kind::resync:
      if (f.size() != 1) return std::nullopt;
      break;
    case bus_message::kind::message:
      if (f.size() != 4 || !number(f[1], m.org) || !number(f[2], m.conv) || !number(f[3], m.seq) || m.seq < 1)
        return std::nullopt;
      break;
    case bus_message::kind::kick:
      if (f.size() != 4 || !number(f[1], m.code) || m.code < 1000 || m.code > 4999 ||
          (f[2] != "d" && f[2] != "t") || !reason_ok(f[3]))
        return std::nullopt;
      m.by_device = f[2] == "d";
      m.reason = std::string(f[3]);
      break;
    case bus_message::kind::tokens:
      if (f.size() != 2 || !number(f[1], m.limit) || m.limit < 0 || m.body.empty()) return std::nullopt;
      break;
    case bus_message::kind::members:
      if (f.size() != 2 || !number(f[1], m.conv) || m.conv < 1) return std::nullopt;
      break;
    case bus_message::kind::session:
      if (f.size() != 2 || f[1].empty() || f[1].size() > 64) return std::nullopt;
      m.session = std::string(f[1]);
      break;
    case bus_message::kind::presence: {
      if (f.size() != 3 || (f[1] != "0" && f[1] != "1")) return std::nullopt;
      m.online = f[1] == "1";
      if (f[2] != "-") {
        std::int64_t v = 0;
        if (!number(f[2], v)) return std::nullopt;
        m.last_seen_ms = v;
      }
      break;
    }
    default:
      return std::nullopt;
  }
  return m;
}

}  // namespace switchboard::server::cluster
