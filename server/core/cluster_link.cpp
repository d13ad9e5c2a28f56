// A single node's cluster_link.
#include "server/core/cluster_link.hpp"

#include <boost/asio/post.hpp>

#include "server/ops/correlation.hpp"

namespace switchboard::server {

local_link::local_link(presence_tracker& presence) : presence_(presence), id_(new_correlation_id()) {}

void local_link::presence_of(std::vector<std::int64_t> users, boost::asio::any_io_executor ex,
                             std::function<void(presence_map)> done) {
  presence_map out;
  for (auto u : users) out[u] = presence_.get(u);
  boost::asio::post(ex, [done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
}

}  // namespace switchboard::server
