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
#include "server/core/services.hpp"
#include "storage/conv_store.hpp"
#include "storage/message_writer.hpp"

namespace switchboard::server {

struct send_ack {
  std::int64_t msg_id = 0, seq = 0, ts = 0;
  bool duplicate = false;
};

// `sr` without done/fail; `except` (may be null) is the sending session, kept out of the fan-out.
// For an image, voice or file message, `media` is the media its body names: it is checked (the
// org's, readable by the sender, fitting `kind`) and recorded as sent to the conversation first.
void submit_message(services& ctx, storage::send_request sr, std::optional<std::int64_t> media,
                    protocol::media_kind kind, std::shared_ptr<client_session> except,
                    boost::asio::any_io_executor ex, std::function<void(protocol::result<send_ack>)> done);

// A conversation just created (open_direct, create_group): its members' live sessions learn of it
// (conv_update, reason created), and the member cache gets its members.
void announce_created(services& ctx, const storage::conv_change& change);

}  // namespace switchboard::server
