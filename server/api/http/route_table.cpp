// The route table: every HTTP route of the server, one row each.
#include <boost/beast/http/verb.hpp>

#include "server/api/http/admin_handlers.hpp"
#include "server/api/http/api_common.hpp"
#include "server/api/http/app_handlers.hpp"
#include "server/api/http/handlers.hpp"
#include "server/api/http/invite_handlers.hpp"
#include "server/api/http/media_handlers.hpp"
#include "server/api/http/routes.hpp"

namespace switchboard::server::api {

namespace {
// Uploads are streamed by the session (http_router::begin_upload); only a request that was not
// (none today) arrives here.
void upload_not_streamed(services& ctx, const call_ptr& c, std::int64_t) {
  fail(ctx, c, {error_code::internal, "uploads are streamed by the session"});
}

// GET /v1/ws without an upgrade.
void ws_without_upgrade(services& ctx, const call_ptr& c, std::int64_t) {
  fail(ctx, c, {error_code::not_found, "no route for /v1/ws"});
}

// The table's handlers all take the call's id; most routes have none.
template <void (*F)(services&, const call_ptr&)>
void no_id(services& ctx, const call_ptr& c, std::int64_t) {
  F(ctx, c);
}
}  // namespace

const std::vector<route>& route_table() {
  using v = http::verb;
  using enum caller;
  constexpr auto upload = body_kind::upload;
  static const std::vector<route> table{
      // Operational: also on the metrics listener (metrics.listen).
      {v::get, "/healthz", "GET /healthz", anyone, body_kind::json, nullptr, healthz, true},
      {v::head, "/healthz", "GET /healthz", anyone, body_kind::json, nullptr, healthz, true},
      {v::get, "/readyz", "GET /readyz", anyone, body_kind::json, nullptr, readyz, true},
      {v::head, "/readyz", "GET /readyz", anyone, body_kind::json, nullptr, readyz, true},
      {v::get, "/metrics", "GET /metrics", anyone, body_kind::json, nullptr, metrics_text, true},
      {v::head, "/metrics", "GET /metrics", anyone, body_kind::json, nullptr, metrics_text, true},
      // Accounts and sessions.
      {v::post, "/v1/orgs", "POST /v1/orgs", anyone, body_kind::json, nullptr, no_id<signup>},
      {v::post, "/v1/auth/login", "POST /v1/auth/login", anyone, body_kind::json, nullptr, no_id<login>},
      {v::post, "/v1/auth/logout", "POST /v1/auth/logout", member, body_kind::json, nullptr, no_id<logout>},
      {v::post, "/v1/auth/code", "POST /v1/auth/code", anyone, body_kind::json, nullptr, no_id<request_code>},
      {v::get, "/v1/me", "GET /v1/me", member, body_kind::json, nullptr, no_id<get_me>},
      {v::patch, "/v1/me", "PATCH /v1/me", member, body_kind::json, nullptr, no_id<patch_me>},
      {v::get, "/v1/ws", "GET /v1/ws", member, body_kind::websocket, nullptr, ws_without_upgrade},
      // Invitations and notices.
      {v::post, "/v1/invitations/accept", "POST /v1/invitations/accept", anyone, body_kind::json, nullptr,
       no_id<accept_invitation>},
      {v::post, "/v1/admin/invitations", "POST /v1/admin/invitations", admin, body_kind::json, nullptr,
       no_id<create_invitation>},
      {v::get, "/v1/admin/invitations", "GET /v1/admin/invitations", admin, body_kind::json, nullptr,
       no_id<list_invitations>},
      {v::delete_, "/v1/admin/invitations/{id}", "DELETE /v1/admin/invitations/{id}", admin, body_kind::json,
       nullptr, revoke_invitation},
      {v::get, "/v1/notices", "GET /v1/notices", member, body_kind::json, nullptr, no_id<list_notices>},
      {v::post, "/v1/admin/notices", "POST /v1/admin/notices", admin, body_kind::json, nullptr,
       no_id<create_notice>},
      {v::get, "/v1/admin/policy", "GET /v1/admin/policy", admin, body_kind::json, nullptr,
       no_id<get_policy>},
      {v::put, "/v1/admin/policy", "PUT /v1/admin/policy", admin, body_kind::json, nullptr,
       no_id<put_policy>},
      // Media.
      {v::post, "/v1/media", "POST /v1/media", member, upload, nullptr, upload_not_streamed},
      {v::get, "/v1/media/{id}", "GET /v1/media/{id}", member, body_kind::json, nullptr, download_media},
      {v::head, "/v1/media/{id}", "GET /v1/media/{id}", member, body_kind::json, nullptr, download_media},
      {v::get, "/v1/admin/usage", "GET /v1/admin/usage", admin, body_kind::json, nullptr, no_id<get_usage>},
      // Members and the directory.
      {v::post, "/v1/admin/users", "POST /v1/admin/users", admin, body_kind::json, nullptr,
       no_id<create_user>},
      {v::post, "/v1/admin/users/import", "POST /v1/admin/users/import", admin, body_kind::import, nullptr,
       no_id<import_users>},
      {v::get, "/v1/admin/users/{id}", "GET /v1/admin/users/{id}", admin, body_kind::json, nullptr, get_user},
      {v::patch, "/v1/admin/users/{id}", "PATCH /v1/admin/users/{id}", admin, body_kind::json, nullptr,
       update_user},
      {v::delete_, "/v1/admin/users/{id}", "DELETE /v1/admin/users/{id}", admin, body_kind::json, nullptr,
       delete_user},
      {v::post, "/v1/admin/users/{id}/suspend", "POST /v1/admin/users/{id}/suspend", admin, body_kind::json,
       nullptr, suspend_user},
      {v::post, "/v1/admin/users/{id}/restore", "POST /v1/admin/users/{id}/restore", admin, body_kind::json,
       nullptr, restore_user},
      {v::post, "/v1/admin/users/{id}/restrict", "POST /v1/admin/users/{id}/restrict", admin, body_kind::json,
       nullptr, restrict_user},
      {v::post, "/v1/admin/departments", "POST /v1/admin/departments", admin, body_kind::json, nullptr,
       no_id<create_department>},
      {v::patch, "/v1/admin/departments/{id}", "PATCH /v1/admin/departments/{id}", admin, body_kind::json,
       nullptr, update_department},
      {v::delete_, "/v1/admin/departments/{id}", "DELETE /v1/admin/departments/{id}", admin, body_kind::json,
       nullptr, delete_department},
      {v::get, "/v1/admin/audit", "GET /v1/admin/audit", admin, body_kind::json, nullptr, no_id<list_audit>},
      {v::get, "/v1/admin/calls", "GET /v1/admin/calls", admin, body_kind::json, nullptr, no_id<list_calls>},
      {v::get, "/v1/admin/call_minutes", "GET /v1/admin/call_minutes", admin, body_kind::json, nullptr,
       no_id<get_call_minutes>},
      // Data governance.
      {v::delete_, "/v1/admin/org", "DELETE /v1/admin/org", admin, body_kind::json, nullptr,
       no_id<delete_org>},
      {v::post, "/v1/reports", "POST /v1/reports", member, body_kind::json, nullptr, no_id<create_report>},
      {v::get, "/v1/admin/reports", "GET /v1/admin/reports", admin, body_kind::json, nullptr,
       no_id<list_reports>},
      {v::post, "/v1/admin/reports/{id}/resolve", "POST /v1/admin/reports/{id}/resolve", admin,
       body_kind::json, nullptr, resolve_report},
      {v::post, "/v1/admin/exports", "POST /v1/admin/exports", admin, body_kind::json, nullptr,
       no_id<create_org_export>},
      {v::get, "/v1/admin/exports", "GET /v1/admin/exports", admin, body_kind::json, nullptr,
       no_id<list_org_exports>},
      {v::get, "/v1/admin/exports/{id}", "GET /v1/admin/exports/{id}", admin, body_kind::json, nullptr,
       get_org_export},
      {v::get, "/v1/admin/exports/{id}/download", "GET /v1/admin/exports/{id}/download", admin,
       body_kind::json, nullptr, download_org_export},
      {v::post, "/v1/me/export", "POST /v1/me/export", member, body_kind::json, nullptr,
       no_id<create_own_export>},
      {v::get, "/v1/me/exports/{id}", "GET /v1/me/exports/{id}", member, body_kind::json, nullptr,
       get_own_export},
      {v::get, "/v1/me/exports/{id}/download", "GET /v1/me/exports/{id}/download", member, body_kind::json,
       nullptr, download_own_export},
      {v::get, "/v1/directory/users", "GET /v1/directory/users", member, body_kind::json, nullptr,
       no_id<list_directory_users>},
      {v::get, "/v1/directory/departments", "GET /v1/directory/departments", member, body_kind::json, nullptr,
       no_id<list_departments>},
      // Integration apps: their management, their tokens, and the /v1/app/* calls, which run the
      // admin routes' handlers as the app's bot user, within the scope each needs.
      {v::post, "/v1/admin/apps", "POST /v1/admin/apps", admin, body_kind::json, nullptr, no_id<create_app>},
      {v::get, "/v1/admin/apps", "GET /v1/admin/apps", admin, body_kind::json, nullptr, no_id<list_apps>},
      {v::delete_, "/v1/admin/apps/{id}", "DELETE /v1/admin/apps/{id}", admin, body_kind::json, nullptr,
       delete_app},
      {v::post, "/v1/admin/apps/{id}/rotate", "POST /v1/admin/apps/{id}/rotate", admin, body_kind::json,
       nullptr, rotate_app},
      {v::put, "/v1/admin/apps/{id}/callback", "PUT /v1/admin/apps/{id}/callback", admin, body_kind::json,
       nullptr, set_app_callback},
      {v::post, "/v1/app/token", "POST /v1/app/token", anyone, body_kind::json, nullptr, no_id<app_token>},
      {v::post, "/v1/app/messages", "POST /v1/app/messages", app, body_kind::json, "messages:send",
       no_id<send_app_message>},
      {v::post, "/v1/app/media", "POST /v1/app/media", app, upload, "messages:send", upload_not_streamed},
      {v::get, "/v1/app/convs/{conv}/messages", "GET /v1/app/convs/{conv}/messages", app, body_kind::json,
       "any", read_app_conv},
      {v::get, "/v1/app/users", "GET /v1/app/users", app, body_kind::json, "contacts:read",
       no_id<list_directory_users>},
      {v::post, "/v1/app/users", "POST /v1/app/users", app, body_kind::json, "contacts:write",
       no_id<create_user>},
      {v::get, "/v1/app/users/{id}", "GET /v1/app/users/{id}", app, body_kind::json, "contacts:read",
       get_user},
      {v::patch, "/v1/app/users/{id}", "PATCH /v1/app/users/{id}", app, body_kind::json, "contacts:write",
       update_user},
      {v::delete_, "/v1/app/users/{id}", "DELETE /v1/app/users/{id}", app, body_kind::json, "contacts:write",
       delete_user},
      {v::get, "/v1/app/departments", "GET /v1/app/departments", app, body_kind::json, "contacts:read",
       no_id<list_departments>},
      {v::post, "/v1/app/departments", "POST /v1/app/departments", app, body_kind::json, "contacts:write",
       no_id<create_department>},
      {v::patch, "/v1/app/departments/{id}", "PATCH /v1/app/departments/{id}", app, body_kind::json,
       "contacts:write", update_department},
      {v::delete_, "/v1/app/departments/{id}", "DELETE /v1/app/departments/{id}", app, body_kind::json,
       "contacts:write", delete_department},
  };
  return table;
}

}  // namespace switchboard::server::api
