// /v1 routes for running an organization (admin_handlers.cpp); the route table (route_table.cpp) runs them.
#pragma once

#include <cstdint>

#include <optional>
#include <string>
#include <vector>

#include "protocol/fields.hpp"
#include "server/api/http/api_common.hpp"

namespace switchboard::server::api {

void update_user(services& ctx, const call_ptr& c, std::int64_t id);  // PATCH /v1/admin/users/{id}
void delete_user(services& ctx, const call_ptr& c, std::int64_t id);  // DELETE /v1/admin/users/{id}
void suspend_user(services& ctx, const call_ptr& c, std::int64_t id);
void restore_user(services& ctx, const call_ptr& c, std::int64_t id);
void restrict_user(services& ctx, const call_ptr& c, std::int64_t id);
void import_users(services& ctx, const call_ptr& c);  // POST /v1/admin/users/import
void patch_me(services& ctx, const call_ptr& c);
void get_policy(services& ctx, const call_ptr& c);
void put_policy(services& ctx, const call_ptr& c);
void create_notice(services& ctx, const call_ptr& c);  // POST /v1/admin/notices
void list_notices(services& ctx, const call_ptr& c);   // GET /v1/notices

// `until` of a suspension or restriction: absent or null, or a time in the future.
result<std::optional<std::int64_t>> read_until(protocol::fields& f, const json::object& body);
// `features` of a restriction: a subset of send, call and create_group (sorted, without repeats).
std::vector<std::string> read_features(protocol::fields& f);

}  // namespace switchboard::server::api
