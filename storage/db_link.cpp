// One thread's connection to PostgreSQL.
#include "storage/db_link.hpp"

#include <spdlog/spdlog.h>

namespace switchboard::storage {

namespace {
// Reconnect attempts back off from 100 ms to 5 s so a down database is not hammered.
constexpr auto min_backoff = std::chrono::milliseconds(100);
constexpr auto max_backoff = std::chrono::milliseconds(5000);
}  // namespace

db_link::db_link(std::string url, const std::vector<hook>& hooks, query_deadline deadline,
                 std::shared_ptr<spdlog::logger> log, std::string name)
    : url_(std::move(url)),
      hooks_(hooks),
      deadline_(deadline),
      log_(std::move(log)),
      name_(std::move(name)),
      backoff_(min_backoff) {}

db_link::~db_link() = default;

bool db_link::open() const {
  return conn_ && conn_->is_open();
}

void db_link::drop() {
  conn_.reset();
  next_attempt_ = {};
}

pqxx::connection* db_link::get() {
  if (open()) return conn_.get();
  conn_.reset();
  auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) return nullptr;
  try {
    auto c = std::make_unique<pqxx::connection>(url_);
    {
      auto armed = arm(*c, deadline_);
      for (const auto& h : hooks_) h(*c);
    }
    conn_ = std::move(c);
    if (ever_opened_) {
      ++reopened_;
      log_->info("{} reconnected to PostgreSQL", name_);
    }
    ever_opened_ = true;
    backoff_ = min_backoff;
    return conn_.get();
  } catch (const std::exception& e) {
    next_attempt_ = now + backoff_;
    log_->warn("{} cannot connect to PostgreSQL (retry in {} ms): {}", name_, backoff_.count(), e.what());
    backoff_ = std::min(backoff_ * 2, max_backoff);
    return nullptr;
  }
}

}  // namespace switchboard::storage
