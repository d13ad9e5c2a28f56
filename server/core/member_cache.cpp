// The conversation member cache.
#include "server/core/member_cache.hpp"

namespace switchboard::server {

member_cache::members member_cache::get(std::int64_t conv) const {
  return cache_.get(conv).value_or(nullptr);
}

void member_cache::put(std::int64_t conv, std::vector<std::int64_t> ids) {
  put(conv, std::make_shared<const std::vector<std::int64_t>>(std::move(ids)));
}

void member_cache::put(std::int64_t conv, members ids) {
  cache_.put(conv, std::move(ids));
}

void member_cache::erase(std::int64_t conv) {
  cache_.erase(conv);
}

}  // namespace switchboard::server
