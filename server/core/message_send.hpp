// Sending one message, shared by the WebSocket `send` and POST /v1/app/messages: the write goes
// through the conversation's ordered writer (group commit); after COMMIT, on the writer thread
// and in commit order, the `message` event goes to every live session of every member (but the
// sending session), then the outcome is posted to the caller's executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>

#include "protocol/errors.hpp"
#include "protocol/media_types.hpp"
#include "protocol/message_body.hpp"
#include "server/core/services.hpp"
#include "storage/conv_store.hpp"
#include "storage/message_writer.hpp"

namespace switchboard::server {

struct send_ack {
  std::int64_t msg_id = 0, seq = 0, ts = 0;
  bool duplicate = false;
};

// One message to send, its body already checked (protocol::check_message_body).
struct new_message {
  std::int64_t org = 0, conv = 0, sender = 0;
  std::string client_msg_id, type;
  protocol::message_body body;
};

// Stamps the message and queues it on its conversation's writer. `except` (may be null) is the
// sending session, kept out of the fan-out. For an image, voice or file message, the media its
// body names is checked (the org's, readable by the sender, fitting the type) and recorded as
// sent to the conversation in the message's own transaction.
void submit_message(services& ctx, new_message m, std::shared_ptr<client_session> except,
                    boost::asio::any_io_executor ex, std::function<void(protocol::result<send_ack>)> done);

// A conversation just created (open_direct, create_group): its members' live sessions learn of it
// (conv_update, reason created), and the member cache gets its members.
void announce_created(services& ctx, const storage::conv_change& change);

}  // namespace switchboard::server
