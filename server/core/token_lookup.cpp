// Batched token lookups for hello.
#include "server/core/token_lookup.hpp"

#include <spdlog/spdlog.h>

#include "server/core/db_call.hpp"

namespace switchboard::server {

void token_lookup::resolve(std::string hash, done_fn done) {
  {
    std::lock_guard lk(mu_);
    pending_.push_back(item{std::move(hash), std::move(done)});
    if (running_) return;
    running_ = true;
  }
  start_job();
}

void token_lookup::start_job() {
  // The batch being looked up lives outside the job: when a query throws on a reused connection
  // the pool runs the job again, and it retries the same batch.
  auto batch = std::make_shared<std::vector<item>>();
  db_.submit(
      [this, batch](pqxx::connection& c) {
        for (;;) {
          if (batch->empty()) {
            std::lock_guard lk(mu_);
            if (pending_.empty()) {
              running_ = false;
              return;
            }
            auto n = std::min(pending_.size(), max_batch);
            batch->assign(std::make_move_iterator(pending_.begin()),
                          std::make_move_iterator(pending_.begin() + static_cast<std::ptrdiff_t>(n)));
            pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
          }
          std::vector<std::string> hashes;
          hashes.reserve(batch->size());
          for (const auto& i : *batch) hashes.push_back(i.hash);
          auto live = storage::user_store::resolve_tokens_with_users(c, hashes);
          auto answered = std::move(*batch);
          batch->clear();
          for (auto& i : answered) {
            auto it = live.find(i.hash);
            i.done(&c, it == live.end() ? found{} : found{std::move(it->second)});
          }
        }
      },
      [this, batch](const storage::db_failure& f) {
        // The database failed this job (or the pool could not take it): everything waiting
        // fails with it, and the next lookup starts a new job.
        auto e = to_error(f, *log_);
        auto failed = std::move(*batch);
        batch->clear();
        {
          std::lock_guard lk(mu_);
          for (auto& i : pending_) failed.push_back(std::move(i));
          pending_.clear();
          running_ = false;
        }
        for (auto& i : failed) i.done(nullptr, e);
      });
}

}  // namespace switchboard::server
