// What the ordered writer sends and gets back, and the parts of its work that touch no database:
// gathering a batch from its queue, settling a batch whose COMMIT was lost, and completing a batch
// in commit order. Unit-tested by feeding them values (tests/unit/writer_parts_test.cpp).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/media_types.hpp"
#include "storage/db_pool.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::storage {

// A conversation's members as of a commit; shared by every completion that needs it, never copied.
using member_list = std::shared_ptr<const std::vector<std::int64_t>>;

struct send_outcome {
  enum class status { ok, forbidden, not_found, refused };
  status st = status::ok;
  std::int64_t msg_id = 0;
  std::int64_t seq = 0;
  std::int64_t ts = 0;
  bool duplicate = false;
  // ok and not a duplicate: the conversation's members, read in the batch's own transaction (or
  // the list the writer's `cached_members` gave for it).
  member_list members;
  bool members_read = false;               // `members` was read from the database, not given by the cache
  std::optional<protocol::error> refusal;  // refused: why (the message's media did not pass)
};

// An image, voice or file message's media: checked (the org's, readable by the sender, fitting the
// kind) and recorded as sent to the conversation in the message's own transaction.
struct media_attach {
  std::int64_t id = 0;
  protocol::media_kind kind = protocol::media_kind::file;
};

struct send_request {
  std::int64_t org = 0;
  std::int64_t conv = 0;
  std::int64_t sender = 0;
  std::string client_msg_id;
  std::string type;
  std::string body_json;
  std::int64_t ts = 0;
  std::optional<media_attach> media;
  // After COMMIT, on the writer thread, in commit order: first `publish` (the fan-out; what it
  // throws is logged), then `done`, always, so a sender is answered whatever the fan-out did.
  std::function<void(const send_outcome&)> publish;
  std::function<void(const send_outcome&)> done;
  // Nothing was stored (or it cannot be known): instead of publish and done.
  std::function<void(const db_failure&)> fail;
};

// Ordered work that is not a send (membership changes): runs alone, between batches.
struct writer_job {
  db_pool::work_fn work;
  db_pool::fail_fn fail;
};
using writer_item = std::variant<send_request, writer_job>;

// Moves sends from the front of `queue` into `batch` until the batch holds `max`, the queue is
// empty, or a job is next. True when waiting for more would not help: the batch is full or a job
// is next in line (it must not be held up).
bool gather_sends(std::deque<writer_item>& queue, std::vector<send_request>& batch, std::size_t max);

// A batch whose COMMIT was lost, looked up afterwards: `found[i]` is the stored row of batch[i]
// (msg_id, seq, ts) or nothing. Stored sends come back ordered by seq (the order they committed
// in); a key sent twice in the batch was stored once, by its first occurrence, so the later ones
// are duplicates. The sends that were not stored are in `absent`.
struct settled_batch {
  std::vector<send_request> stored;
  std::vector<send_outcome> outcomes;  // one per stored send
  std::vector<send_request> absent;
};
settled_batch settle_in_doubt(std::vector<send_request>& batch,
                              const std::vector<std::optional<send_outcome>>& found);

// Runs each send's publish then done, in batch order; a throwing publish or done is logged and
// never keeps the next one from running.
void complete_batch(std::vector<send_request>& batch, const std::vector<send_outcome>& outcomes,
                    spdlog::logger& log);
// Answers each send with `f`.
void fail_batch(std::vector<send_request>& batch, const db_failure& f, spdlog::logger& log);

}  // namespace switchboard::storage
