// What nodes say to each other over NATS: one header line of ASCII fields, then a body of bytes
// (an event frame, a token hash, a key). I/O-free, so tests feed it bytes; a message that does not
// parse is counted and dropped, never trusted.
//
//   E\n<frame>                       an event for the subject's user (or organization)
//   M <org> <conv> <seq>\n<frame>    a `message` event: delivered in seq order per conversation
//   K <code> <t|d> <reason>\n<value> kick the user's sessions whose token hash (t) or device (d) is <value>
//   S <session>\n<frame>             an event for one session of the subject's user
//   T <limit> \n<key>                a token of a shared limit taken for <key>
//   P <0|1> <last_seen|->\n          the subject's user went offline / came online over the cluster
//   C\n                              users or policies changed: read them now
//   V <conv>\n                       the conversation's members changed: forget what is cached
//   R\n                              "I may have lost events I published": resync your sessions
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::server::cluster {

struct bus_message {
  enum class kind : char {
    event = 'E',
    message = 'M',
    kick = 'K',
    tokens = 'T',
    presence = 'P',
    changes = 'C',
    resync = 'R',
    session = 'S',
    members = 'V',
  };
  kind k = kind::event;
  std::int64_t org = 0, conv = 0, seq = 0;   // message
  int code = 0;                              // kick: the close code
  bool by_device = false;                    // kick: match the device id (else the token hash)
  std::string reason;                        // kick
  std::string session;                       // session: its id
  int limit = 0;                             // tokens: which shared_limit
  bool online = false;                       // presence
  std::optional<std::int64_t> last_seen_ms;  // presence
  std::string_view body;                     // the frame, value or key (points into the parsed bytes)
};

std::string encode(const bus_message& m);
// nullopt for anything malformed (an unknown kind, a bad number, a missing header line).
std::optional<bus_message> parse_bus_message(std::string_view bytes);

}  // namespace switchboard::server::cluster
