// The ordered writer's I/O-free parts.
#include "storage/send_batch.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <tuple>

namespace switchboard::storage {

bool gather_sends(std::deque<writer_item>& queue, std::vector<send_request>& batch, std::size_t max) {
  while (!queue.empty() && batch.size() < max && std::holds_alternative<send_request>(queue.front())) {
    batch.push_back(std::move(std::get<send_request>(queue.front())));
    queue.pop_front();
  }
  return batch.size() >= max || !queue.empty();
}

settled_batch settle_in_doubt(std::vector<send_request>& batch,
                              const std::vector<std::optional<send_outcome>>& found) {
  settled_batch out;
  std::vector<send_request> stored;
  std::vector<send_outcome> outcomes;
  std::set<std::tuple<std::int64_t, std::int64_t, std::string>> seen;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (i >= found.size() || !found[i]) {
      out.absent.push_back(std::move(batch[i]));
      continue;
    }
    auto o = *found[i];
    o.st = send_outcome::status::ok;
    o.duplicate = !seen.emplace(batch[i].conv, batch[i].sender, batch[i].client_msg_id).second;
    outcomes.push_back(std::move(o));
    stored.push_back(std::move(batch[i]));
  }
  std::vector<std::size_t> order(stored.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](auto a, auto b) { return outcomes[a].seq < outcomes[b].seq; });
  for (auto i : order) {
    out.stored.push_back(std::move(stored[i]));
    out.outcomes.push_back(std::move(outcomes[i]));
  }
  return out;
}

void complete_batch(std::vector<send_request>& batch, const std::vector<send_outcome>& outcomes,
                    spdlog::logger& log) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& r = batch[i];
    if (r.publish) {
      try {
        r.publish(outcomes[i]);
      } catch (const std::exception& e) {
        log.error("message writer: the fan-out of message {} in conversation {} failed: {}", outcomes[i].seq,
                  r.conv, e.what());
      }
    }
    try {
      if (r.done) r.done(outcomes[i]);
    } catch (const std::exception& e) {
      log.error("message writer: answering a send threw: {}", e.what());
    }
  }
}

void fail_batch(std::vector<send_request>& batch, const db_failure& f, spdlog::logger& log) {
  for (auto& r : batch) {
    try {
      if (r.fail) r.fail(f);
    } catch (const std::exception& e) {
      log.error("message writer: fail callback threw: {}", e.what());
    }
  }
}

}  // namespace switchboard::storage
