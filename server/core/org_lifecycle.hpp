// What a node does when an organization is deleted (DELETE /v1/admin/org, here or on another node):
// its cached tokens and app tokens go, and its sessions here are kicked.
#pragma once

#include <cstdint>

#include "server/core/services.hpp"

namespace switchboard::server {

// Thread-safe and idempotent: the change watch may apply one deletion several times.
void forget_deleted_org(services& ctx, std::int64_t org);

}  // namespace switchboard::server
