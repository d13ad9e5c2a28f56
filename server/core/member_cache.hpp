// conversation -> member ids, for fan-out without a query per message. Membership changes made
// on this node replace the entry; entries also expire so changes from other nodes are picked up.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "server/base/ttl_cache.hpp"

namespace switchboard::server {

class member_cache {
 public:
  using members = std::shared_ptr<const std::vector<std::int64_t>>;
  // Entries older than this are reloaded: bounds staleness for changes made by another node.
  static constexpr auto max_age = std::chrono::seconds(5);
  static constexpr std::size_t max_entries = 100000;

  members get(std::int64_t conv) const;
  void put(std::int64_t conv, std::vector<std::int64_t> ids);
  void put(std::int64_t conv, members ids);
  void erase(std::int64_t conv);

 private:
  ttl_cache<std::int64_t, members> cache_{max_age, max_entries};
};

}  // namespace switchboard::server
