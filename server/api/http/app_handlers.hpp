// /v1 routes for integration apps (app_handlers.cpp): admins manage apps, apps get access tokens.
// The /v1/app/* calls on users and departments are the admin routes' own handlers, run with the
// call's app_scope set (route_table.cpp).
#pragma once

#include <cstdint>

#include "server/api/http/api_common.hpp"

namespace switchboard::server::api {

void create_app(services& ctx, const call_ptr& c);                   // POST /v1/admin/apps
void list_apps(services& ctx, const call_ptr& c);                    // GET /v1/admin/apps
void rotate_app(services& ctx, const call_ptr& c, std::int64_t id);  // POST /v1/admin/apps/{id}/rotate
void delete_app(services& ctx, const call_ptr& c, std::int64_t id);  // DELETE /v1/admin/apps/{id}
void set_app_callback(services& ctx, const call_ptr& c,
                      std::int64_t id);                   // PUT /v1/admin/apps/{id}/callback
void app_token(services& ctx, const call_ptr& c);         // POST /v1/app/token
void send_app_message(services& ctx, const call_ptr& c);  // POST /v1/app/messages
void read_app_conv(services& ctx, const call_ptr& c,
                   std::int64_t conv);  // GET /v1/app/convs/{conv}/messages

}  // namespace switchboard::server::api
