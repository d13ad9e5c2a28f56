// Sending one message.
#include "server/message_send.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "protocol/types.hpp"
#include "server/db_call.hpp"
#include "storage/media_store.hpp"

namespace switchboard::server {

namespace {

using protocol::error;
using protocol::error_code;

frame_ptr event_frame(std::string_view name, boost::json::object data) {
  return std::make_shared<const std::string>(
      boost::json::serialize(boost::json::object{{"ev", name}, {"data", std::move(data)}}));
}

void write(app_context& ctx, std::shared_ptr<storage::send_request> sr,
           std::shared_ptr<client_session> except, boost::asio::any_io_executor ex,
           std::function<void(protocol::result<send_ack>)> done) {
  auto msg =
      protocol::message{sr->conv, 0, 0, sr->sender, sr->client_msg_id, sr->type, sr->body_json, 0, false};
  // Runs on the writer thread in commit order: fan-out first, then the outcome to the sender.
  sr->done = [&ctx, except, ex, done, msg, org = sr->org](const storage::send_outcome& o,
                                                          pqxx::connection& c) mutable {
    if (o.st != storage::send_outcome::status::ok) {
      bool forbidden = o.st == storage::send_outcome::status::forbidden;
      error e{forbidden ? error_code::forbidden : error_code::not_found,
              forbidden ? "not a member of conversation " + protocol::id_string(msg.conv)
                        : "conversation " + protocol::id_string(msg.conv) + " not found"};
      return boost::asio::post(ex, [done, e] { done(e); });
    }
    if (!o.duplicate) {
      auto members = ctx.members.get(msg.conv);
      if (!members) {
        ctx.members.put(msg.conv, storage::conv_store::members(c, org, msg.conv));
        members = ctx.members.get(msg.conv);
      }
      msg.seq = o.seq;
      msg.msg_id = o.msg_id;
      msg.ts = o.ts;
      if (members)
        ctx.sessions.to_users(*members, event_frame("message", protocol::to_json(msg)), except.get());
    }
    send_ack ack{o.msg_id, o.seq, o.ts, o.duplicate};
    boost::asio::post(ex, [done, ack] { done(ack); });
  };
  sr->fail = [ex, done, log = ctx.log](const storage::db_failure& fl) {
    auto e = to_error(fl, *log);
    boost::asio::post(ex, [done, e] { done(e); });
  };
  ctx.writer.submit(std::move(*sr));
}

}  // namespace

void submit_message(app_context& ctx, storage::send_request sr, std::optional<std::int64_t> media,
                    protocol::media_kind kind, std::shared_ptr<client_session> except,
                    boost::asio::any_io_executor ex, std::function<void(protocol::result<send_ack>)> done) {
  auto shared = std::make_shared<storage::send_request>(std::move(sr));
  if (!media) return write(ctx, shared, std::move(except), ex, std::move(done));
  db_call<bool>(
      ctx, ex,
      [org = shared->org, user = shared->sender, conv = shared->conv, m = *media,
       kind](pqxx::connection& c) -> protocol::result<bool> {
        auto r = storage::media_store::attach(c, org, m, conv, user, kind);
        if (!r) return r.err();
        return true;
      },
      [&ctx, shared, except, ex, done](protocol::result<bool> r) mutable {
        if (!r) return done(r.err());
        write(ctx, shared, std::move(except), ex, std::move(done));
      });
}

void announce_created(app_context& ctx, const storage::conv_change& change) {
  auto fresh = change.conv;
  fresh.read_seq = 0;  // a new conversation: every member's cursor is 0, so one frame fits all
  ctx.members.put(change.conv.id, change.members);
  ctx.sessions.to_users(change.members, event_frame("conv_update", {{"conv", protocol::to_json(fresh)},
                                                                    {"reason", "created"}}));
}

}  // namespace switchboard::server
