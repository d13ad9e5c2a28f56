// Tokens seen for the first time, looked up in batches: during a connect storm each hello's token
// would otherwise be its own PostgreSQL round trip. The first lookup starts a job on a storage
// thread; lookups arriving while it runs wait for its next query, which takes them all (up to
// max_batch) in one statement (user_store::resolve_tokens_with_users).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/types.hpp"
#include "storage/db_pool.hpp"
#include "storage/user_store.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::server {

class token_lookup {
 public:
  using found = std::optional<std::pair<storage::token_info, protocol::user>>;
  // Called on a storage thread: with that thread's connection and the token (nullopt: unknown,
  // revoked or expired), or without a connection and the error (the database is unavailable).
  // It must not throw.
  using done_fn = std::function<void(pqxx::connection* c, protocol::result<found> r)>;

  static constexpr std::size_t max_batch = 500;

  token_lookup(storage::db_pool& db, std::shared_ptr<spdlog::logger> log) : db_(db), log_(std::move(log)) {}

  void resolve(std::string hash, done_fn done);

 private:
  struct item {
    std::string hash;
    done_fn done;
  };
  void start_job();

  storage::db_pool& db_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mu_;
  std::vector<item> pending_;
  bool running_ = false;
};

}  // namespace switchboard::server
