// The ordered writer with group commit.
#include "storage/message_writer.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <pqxx/pqxx>
#include <unordered_map>

#include "storage/body_cipher.hpp"
#include "storage/media_store.hpp"

namespace switchboard::storage {

message_writer::message_writer(options opt, std::shared_ptr<spdlog::logger> log)
    : opt_(std::move(opt)), log_(std::move(log)) {
  opt_.url = with_session_guards(with_connect_timeout(opt_.url, opt_.connect_timeout_s));
}

message_writer::~message_writer() {
  drain(std::chrono::steady_clock::now());
}

void message_writer::add_connect_hook(db_pool::connect_hook hook) {
  hooks_.push_back(std::move(hook));
}

void message_writer::start() {
  hooks_.push_back([this](pqxx::connection& c) { setup(c); });
  link_ = std::make_unique<db_link>(opt_.url, hooks_, opt_.deadline, log_, "message writer");
  thread_ = std::thread([this] { run(); });
}

void message_writer::submit(send_request req) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_ && queue_.size() < opt_.max_queue) {
      queue_.emplace_back(std::move(req));
      cv_.notify_one();
      return;
    }
  }
  req.fail(db_failure{db_failure::kind::unavailable, "writer queue closed or full"});
}

void message_writer::submit_job(db_pool::work_fn work, db_pool::fail_fn fail) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_ && queue_.size() < opt_.max_queue) {
      queue_.emplace_back(job{std::move(work), std::move(fail)});
      cv_.notify_one();
      return;
    }
  }
  fail(db_failure{db_failure::kind::unavailable, "writer queue closed or full"});
}

void message_writer::drain(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    deadline_ = deadline;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::deque<item> rest;
  {
    std::lock_guard lk(mu_);
    rest.swap(queue_);
  }
  db_failure f{db_failure::kind::unavailable, "server shutting down"};
  for (auto& it : rest) {
    if (auto* s = std::get_if<send_request>(&it))
      s->fail(f);
    else
      std::get<job>(it).fail(f);
  }
}

writer_stats message_writer::stats() const {
  writer_stats s;
  s.batches = batches_.load(std::memory_order_relaxed);
  s.messages = messages_.load(std::memory_order_relaxed);
  std::lock_guard lk(mu_);
  s.queued = queue_.size();
  return s;
}

bool message_writer::ensure_connected() {
  conn_ = link_->get();
  return conn_ != nullptr;
}

void message_writer::drop_connection() {
  link_->drop();
  conn_ = nullptr;
}

// The writer's own statements, and the server process behind the connection, on each new one.
void message_writer::setup(pqxx::connection& c) {
  c.prepare("append_messages",
            "SELECT ord, status, msg_id, seq, ts, duplicate FROM append_messages($1::jsonb)");
  c.prepare("writer_backend",
            "SELECT pid, backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()");
  c.prepare("writer_end_backend",
            "SELECT pg_terminate_backend(pid, $3) FROM pg_stat_activity "
            "WHERE pid = $1 AND backend_start::text = $2");
  c.prepare("writer_members",
            "SELECT m.conv_id, m.user_id FROM jsonb_to_recordset($1::jsonb) AS k(org bigint, conv bigint) "
            "JOIN conv_members m ON m.org_id = k.org AND m.conv_id = k.conv ORDER BY m.conv_id, m.user_id");
  c.prepare("writer_find_sent",
            "SELECT k.ord, m.id, m.seq, m.ts FROM jsonb_to_recordset($1::jsonb) "
            "AS k(ord int, org bigint, conv bigint, sender bigint, cmid text, ts bigint) "
            "JOIN messages m ON m.org_id = k.org AND m.sender_id = k.sender "
            "AND m.client_msg_id = k.cmid AND m.conv_id = k.conv AND m.ts = k.ts");
  {
    pqxx::nontransaction n(c);
    auto r = n.exec_prepared1("writer_backend");
    backend_pid_ = r[0].as<int>();
    backend_start_ = r[1].as<std::string>();
  }
}

void message_writer::fail_all(std::vector<send_request>& batch, const db_failure& f) {
  fail_batch(batch, f, *log_);
}

namespace {
// The batch as append_messages and writer_find_sent read it: {ord, org, conv, sender, cmid, ts},
// plus type and body when `with_content`.
// `skip[i]` leaves batch[i] out (its media was refused).
std::string batch_json(const std::vector<send_request>& batch, bool with_content,
                       const std::vector<bool>* skip = nullptr) {
  boost::json::array rows;
  rows.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (skip && (*skip)[i]) continue;
    const auto& r = batch[i];
    boost::json::object row{
        {"ord", i},  {"org", r.org}, {"conv", r.conv}, {"sender", r.sender}, {"cmid", r.client_msg_id},
        {"ts", r.ts}};
    if (with_content) {
      row["type"] = r.type;
      row["body"] = body_cipher::seal(r.body_json);  // at rest: sealed when storage.encryption_key is set
    }
    rows.emplace_back(std::move(row));
  }
  return boost::json::serialize(rows);
}
}  // namespace

template <class Transaction>
void message_writer::attach_members(Transaction& t, const std::vector<send_request>& batch,
                                    std::vector<send_outcome>& outcomes) {
  struct known_members {
    member_list list;
    bool read = false;  // from the database, not the cache
  };
  std::unordered_map<std::int64_t, known_members> known;
  boost::json::array wanted;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& o = outcomes[i];
    if (o.st != send_outcome::status::ok || o.duplicate || known.count(batch[i].conv)) continue;
    member_list cached = opt_.cached_members ? opt_.cached_members(batch[i].conv) : nullptr;
    known.emplace(batch[i].conv, known_members{cached, !cached});
    if (!cached) wanted.emplace_back(boost::json::object{{"org", batch[i].org}, {"conv", batch[i].conv}});
  }
  if (!wanted.empty()) {
    std::unordered_map<std::int64_t, std::vector<std::int64_t>> read;
    for (const auto& row : t.exec_prepared("writer_members", boost::json::serialize(wanted)))
      read[row[0].template as<std::int64_t>()].push_back(row[1].template as<std::int64_t>());
    for (auto& [conv, k] : known)
      if (k.read) k.list = std::make_shared<const std::vector<std::int64_t>>(std::move(read[conv]));
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& o = outcomes[i];
    if (o.st != send_outcome::status::ok || o.duplicate) continue;
    const auto& k = known[batch[i].conv];
    o.members = k.list;
    o.members_read = k.read;
  }
}

// One round trip and one commit for the whole batch. Returns false with `failure` set when nothing
// may be acked; a failed transaction rolls back, so no seq it took is left behind.
bool message_writer::try_batch(std::vector<send_request>& batch, std::optional<db_failure>& failure) {
  std::vector<send_outcome> outcomes(batch.size());
  failure = run_classified(
      *conn_,
      [&] {
        pqxx::work w(*conn_);
        // Media first: a message whose media does not pass is refused alone and never written.
        std::vector<bool> refused(batch.size(), false);
        for (std::size_t i = 0; i < batch.size(); ++i) {
          const auto& r = batch[i];
          if (!r.media) continue;
          auto checked = media_store::attach_in(w, r.org, r.media->id, r.conv, r.sender, r.media->kind, r.ts);
          if (checked) continue;
          refused[i] = true;
          outcomes[i].st = send_outcome::status::refused;
          outcomes[i].refusal = checked.err();
        }
        pqxx::result res;
        if (std::find(refused.begin(), refused.end(), false) != refused.end())
          res = w.exec_prepared("append_messages", batch_json(batch, true, &refused));
        for (const auto& row : res) {
          auto ord = row[0].as<std::size_t>();
          auto status = row[1].as<std::string>();
          auto& o = outcomes.at(ord);
          if (status == "ok") {
            o.st = send_outcome::status::ok;
            o.msg_id = row[2].as<std::int64_t>();
            o.seq = row[3].as<std::int64_t>();
            o.ts = row[4].as<std::int64_t>();
            o.duplicate = row[5].as<bool>();
          } else {
            o.st = status == "forbidden" ? send_outcome::status::forbidden : send_outcome::status::not_found;
          }
        }
        attach_members(w, batch, outcomes);
        w.commit();
      },
      opt_.deadline);
  if (failure) {
    if (failure->what != db_failure::kind::internal) drop_connection();
    return false;
  }
  complete(batch, outcomes);
  return true;
}

void message_writer::complete(std::vector<send_request>& batch, const std::vector<send_outcome>& outcomes) {
  batches_.fetch_add(1, std::memory_order_relaxed);
  messages_.fetch_add(batch.size(), std::memory_order_relaxed);
  complete_batch(batch, outcomes, *log_);
}

// The connection broke during COMMIT: the batch may or may not be stored. Rather than answer
// `unavailable` for messages that may be stored (and whose events would then never go out), settle
// it: on a new connection, end the old server process if it still runs (a COMMIT stalled on the
// network cannot land later), then look the batch up. Stored messages are acked and fanned out as
// usual; the others are certainly not stored and fail `unavailable`. False when it cannot tell.
bool message_writer::resolve_in_doubt(std::vector<send_request>& batch) {
  int old_pid = backend_pid_;
  std::string old_start = backend_start_;
  if (!ensure_connected()) return false;
  auto keys = batch_json(batch, false);
  std::vector<std::optional<send_outcome>> found(batch.size());
  bool ended = false;
  auto failure = run_classified(
      *conn_,
      [&] {
        pqxx::nontransaction n(*conn_);
        auto end = n.exec_prepared("writer_end_backend", old_pid, old_start, std::int64_t{5000});
        // No row: that process is gone already. A row: true once it has ended, false on timeout.
        ended = end.empty() || end[0][0].as<bool>();
        if (!ended) return;
        for (const auto& row : n.exec_prepared("writer_find_sent", keys)) {
          send_outcome o;
          o.msg_id = row[1].as<std::int64_t>();
          o.seq = row[2].as<std::int64_t>();
          o.ts = row[3].as<std::int64_t>();
          found.at(row[0].as<std::size_t>()) = o;
        }
        // The members of the conversations that got messages, as after a normal commit.
        std::vector<send_outcome> with_members(batch.size());
        for (std::size_t i = 0; i < batch.size(); ++i)
          if (!found[i]) with_members[i].st = send_outcome::status::not_found;
        attach_members(n, batch, with_members);
        for (std::size_t i = 0; i < batch.size(); ++i)
          if (found[i]) {
            found[i]->members = with_members[i].members;
            found[i]->members_read = with_members[i].members_read;
          }
      },
      opt_.deadline);
  if (failure) {
    if (failure->what != db_failure::kind::internal) drop_connection();
    log_->warn("message writer: a batch of {} is in doubt and could not be settled: {}", batch.size(),
               failure->detail);
    return false;
  }
  if (!ended) return false;
  auto settled = settle_in_doubt(batch, found);
  log_->info("message writer: a batch left in doubt is settled: {} stored, {} not", settled.stored.size(),
             settled.absent.size());
  // Completions in seq order, as after a normal commit (fan-out leaves in seq order).
  complete(settled.stored, settled.outcomes);
  fail_all(settled.absent, {db_failure::kind::unavailable, "not stored (settled after a lost COMMIT)"});
  return true;
}

void message_writer::write_batch(std::vector<send_request>& batch) {
  bool reused = link_->open();
  if (!ensure_connected()) return fail_all(batch, {db_failure::kind::unavailable, "no database connection"});
  std::optional<db_failure> failure;
  if (try_batch(batch, failure)) return;
  if (reused && failure->retry_on_new_connection()) {
    // The connection had died while idle (a database restart): the batch rolled back with it,
    // so it goes once more on a new connection rather than failing sends that can succeed now.
    if (!ensure_connected())
      return fail_all(batch, {db_failure::kind::unavailable, "no database connection"});
    failure.reset();
    if (try_batch(batch, failure)) return;
  }
  if (failure->what == db_failure::kind::in_doubt && resolve_in_doubt(batch)) return;
  if (failure->what != db_failure::kind::internal || batch.size() == 1) return fail_all(batch, *failure);
  // An unexpected error in a batch: retry one by one so a single bad row fails alone.
  log_->warn("message batch of {} failed ({}); retrying one by one", batch.size(), failure->detail);
  for (auto& r : batch) {
    std::vector<send_request> one;
    one.push_back(std::move(r));
    failure.reset();
    if (!ensure_connected()) {
      fail_all(one, {db_failure::kind::unavailable, "no database connection"});
      continue;
    }
    if (!try_batch(one, failure)) fail_all(one, *failure);
  }
}

void message_writer::run_job(job& j) {
  if (!ensure_connected()) return j.fail({db_failure::kind::unavailable, "no database connection"});
  auto failure = run_classified(
      *conn_, [&] { j.work(*conn_); }, opt_.deadline);
  if (!failure) return;
  if (failure->what != db_failure::kind::internal) drop_connection();
  j.fail(*failure);
}

void message_writer::run() {
  ensure_connected();
  std::vector<send_request> batch;
  for (;;) {
    std::optional<job> next_job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;
      if (stopping_ && std::chrono::steady_clock::now() >= deadline_) break;
      if (std::holds_alternative<job>(queue_.front())) {
        next_job = std::move(std::get<job>(queue_.front()));
        queue_.pop_front();
      } else {
        // Gather sends: what is queued now, then up to batch_max_delay for more.
        auto until = std::chrono::steady_clock::now() + opt_.batch_max_delay;
        auto max = static_cast<std::size_t>(std::max(1, opt_.batch_max_messages));
        for (;;) {
          if (gather_sends(queue_, batch, max) || stopping_ || opt_.batch_max_delay.count() == 0) break;
          if (cv_.wait_until(lk, until) == std::cv_status::timeout) {
            gather_sends(queue_, batch, max);
            break;
          }
        }
      }
    }
    if (next_job) {
      run_job(*next_job);
    } else {
      write_batch(batch);
      batch.clear();
    }
  }
  if (link_) drop_connection();
}

}  // namespace switchboard::storage
