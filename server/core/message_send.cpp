// Sending one message.
#include "server/core/message_send.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "protocol/clock.hpp"
#include "protocol/types.hpp"
#include "server/core/db_call.hpp"

namespace switchboard::server {

using protocol::error;
using protocol::error_code;

void submit_message(services& ctx, new_message m, std::shared_ptr<client_session> except,
                    boost::asio::any_io_executor ex, std::function<void(protocol::result<send_ack>)> done) {
  storage::send_request sr;
  sr.org = m.org;
  sr.conv = m.conv;
  sr.sender = m.sender;
  sr.client_msg_id = std::move(m.client_msg_id);
  sr.type = std::move(m.type);
  sr.body_json = std::move(m.body.json);
  sr.ts = protocol::now_ms();
  if (m.body.media) sr.media = storage::media_attach{*m.body.media, m.body.kind};
  auto msg = protocol::message{sr.conv, 0, 0, sr.sender, sr.client_msg_id, sr.type, sr.body_json, 0, false};
  // On the writer thread in commit order: the fan-out, then (always) the outcome to the sender.
  sr.publish = [&ctx, except, msg, org = sr.org](const storage::send_outcome& o) mutable {
    if (o.st != storage::send_outcome::status::ok || o.duplicate || !o.members) return;
    if (o.members_read) ctx.members.put(msg.conv, o.members);
    msg.seq = o.seq;
    msg.msg_id = o.msg_id;
    msg.ts = o.ts;
    ctx.fan.message_to_users(org, *o.members, msg.conv, msg.seq,
                             event_frame("message", protocol::to_json(msg)), except);
  };
  sr.done = [ex, done, conv = sr.conv](const storage::send_outcome& o) {
    using status = storage::send_outcome::status;
    protocol::result<send_ack> r = send_ack{o.msg_id, o.seq, o.ts, o.duplicate};
    if (o.st == status::refused && o.refusal)
      r = *o.refusal;
    else if (o.st == status::forbidden)
      r = error{error_code::forbidden, "not a member of conversation " + protocol::id_string(conv)};
    else if (o.st != status::ok)
      r = error{error_code::not_found, "conversation " + protocol::id_string(conv) + " not found"};
    boost::asio::post(ex, [done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  sr.fail = [ex, done, log = ctx.log](const storage::db_failure& fl) {
    auto e = to_error(fl, *log);
    boost::asio::post(ex, [done, e] { done(e); });
  };
  ctx.writer.submit(std::move(sr));
}

void announce_created(services& ctx, const storage::conv_change& change) {
  auto fresh = change.conv;
  fresh.read_seq = 0;  // a new conversation: every member's cursor is 0, so one frame fits all
  ctx.members.put(change.conv.id, change.members);
  ctx.fan.to_users(change.members,
                   event_frame("conv_update", {{"conv", protocol::to_json(fresh)}, {"reason", "created"}}));
}

}  // namespace switchboard::server
