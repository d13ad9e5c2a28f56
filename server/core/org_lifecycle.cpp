// An organization deleted: nothing of it stays usable on this node.
#include "server/core/org_lifecycle.hpp"

#include "protocol/close_codes.hpp"

namespace switchboard::server {

void forget_deleted_org(services& ctx, std::int64_t org) {
  ctx.tokens.erase_org(org);
  ctx.app_tokens.erase_org(org);
  // Every token of the organization is refused from now on: 4401, as for a revoked token.
  for (auto& s : ctx.sessions.sessions_in_org(org))
    s->kick("org_deleted", protocol::close_code::unauthorized);
}

}  // namespace switchboard::server
