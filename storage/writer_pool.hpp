// Several ordered writers, each with its own thread and connection. A conversation always maps
// to the same writer, so its sends and membership changes stay in one order while different
// conversations commit in parallel.
#pragma once

#include <memory>
#include <vector>

#include "storage/message_writer.hpp"

namespace switchboard::storage {

class writer_pool {
 public:
  writer_pool(int count, const message_writer::options& opt, std::shared_ptr<spdlog::logger> log) {
    for (int i = 0; i < std::max(1, count); ++i)
      writers_.push_back(std::make_unique<message_writer>(opt, log));
  }
  void add_connect_hook(const db_pool::connect_hook& hook) {
    for (auto& w : writers_) w->add_connect_hook(hook);
  }
  void start() {
    for (auto& w : writers_) w->start();
  }
  void drain(std::chrono::steady_clock::time_point deadline) {
    for (auto& w : writers_) w->drain(deadline);
  }
  message_writer& for_conv(std::int64_t conv) {
    // Ids are not uniform (open_direct races burn identity values, so direct conversations tend to
    // get every other id): mix the bits before choosing a writer.
    auto h = static_cast<std::uint64_t>(conv) * 0x9E3779B97F4A7C15ull;
    return *writers_[(h >> 32) % writers_.size()];
  }
  void submit(send_request req) { for_conv(req.conv).submit(std::move(req)); }
  void submit_job(std::int64_t conv, db_pool::work_fn work, db_pool::fail_fn fail) {
    for_conv(conv).submit_job(std::move(work), std::move(fail));
  }
  writer_stats stats() const {
    writer_stats total;
    for (const auto& w : writers_) {
      auto s = w->stats();
      total.batches += s.batches;
      total.messages += s.messages;
      total.queued += s.queued;
    }
    return total;
  }

 private:
  std::vector<std::unique_ptr<message_writer>> writers_;
};

}  // namespace switchboard::storage
