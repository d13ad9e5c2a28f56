// /v1 routes for verification codes and invitations (invite_handlers.cpp).
#pragma once

#include <cstdint>

#include "server/api/http/api_common.hpp"

namespace switchboard::server::api {

void request_code(services& ctx, const call_ptr& c);                        // POST /v1/auth/code
void create_invitation(services& ctx, const call_ptr& c);                   // POST /v1/admin/invitations
void list_invitations(services& ctx, const call_ptr& c);                    // GET /v1/admin/invitations
void revoke_invitation(services& ctx, const call_ptr& c, std::int64_t id);  // DELETE .../{id}
void accept_invitation(services& ctx, const call_ptr& c);                   // POST /v1/invitations/accept

}  // namespace switchboard::server::api
