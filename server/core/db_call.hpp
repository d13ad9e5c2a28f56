// Runs storage work on a storage thread and hands its result back on the caller's executor.
#pragma once

#include <spdlog/spdlog.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <pqxx/connection>

#include "protocol/errors.hpp"
#include "server/core/services.hpp"
#include "server/ops/correlation.hpp"
#include "storage/db_pool.hpp"

namespace switchboard::server {

// Outages and unknown commit outcomes are `unavailable` (never `ok`); anything else is `internal`.
inline protocol::error to_error(const storage::db_failure& f, spdlog::logger& log) {
  if (f.what == storage::db_failure::kind::internal) return internal_error(log, "storage", f.detail);
  log.debug("storage unavailable: {}", f.detail);
  return protocol::error{protocol::error_code::unavailable, "the database is unavailable; retry later"};
}

namespace detail {
template <class T, class Submit, class Work, class Done>
void call_and_post_back(Submit&& submit, std::shared_ptr<spdlog::logger> log, boost::asio::any_io_executor ex,
                        Work work, Done done) {
  submit(
      [ex, work = std::move(work), done](pqxx::connection& c) mutable {
        protocol::result<T> r = work(c);
        boost::asio::post(ex, [done, r = std::move(r)]() mutable { done(std::move(r)); });
      },
      [ex, done, log](const storage::db_failure& f) mutable {
        auto e = to_error(f, *log);
        boost::asio::post(ex, [done, e]() mutable { done(protocol::result<T>(e)); });
      });
}
}  // namespace detail

// `work(pqxx::connection&) -> protocol::result<T>` runs on a storage thread (it may throw);
// `done(protocol::result<T>)` runs on `ex`.
template <class T, class Work, class Done>
void db_call(services& ctx, boost::asio::any_io_executor ex, Work work, Done done) {
  detail::call_and_post_back<T>([&](auto w, auto f) { ctx.db.submit(std::move(w), std::move(f)); }, ctx.log,
                                ex, std::move(work), std::move(done));
}

// The same through the conversation's ordered writer, for work that assigns seqs (membership
// changes). `work` runs on that writer's thread after the conversation's earlier sends committed;
// when it succeeds, `publish(const T&)` runs there too, so its fan-out keeps seq order. What
// publish throws is logged: it never turns a committed change into a failure for the caller.
template <class T, class Work, class Publish, class Done>
void ordered_call(services& ctx, std::int64_t conv, boost::asio::any_io_executor ex, Work work,
                  Publish publish, Done done) {
  auto then_publish = [conv, work = std::move(work), publish = std::move(publish),
                       log = ctx.log](pqxx::connection& c) mutable -> protocol::result<T> {
    protocol::result<T> r = work(c);
    if (!r) return r;
    try {
      publish(r.value());
    } catch (const std::exception& e) {
      log->error("the fan-out of conversation {}'s committed change failed: {}", conv, e.what());
    }
    return r;
  };
  detail::call_and_post_back<T>(
      [&](auto w, auto f) { ctx.writer.submit_job(conv, std::move(w), std::move(f)); }, ctx.log, ex,
      std::move(then_publish), std::move(done));
}

}  // namespace switchboard::server
