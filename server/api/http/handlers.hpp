// The HTTP handlers of accounts and sessions (account_handlers.cpp), of members, departments, the
// directory and the audit log (directory_handlers.cpp), and the operational endpoints
// (ops_handlers.cpp). Each answers its call exactly once; the route table (route_table.cpp) says
// which route runs which.
#pragma once

#include <cstdint>

#include "server/api/http/api_call.hpp"

namespace switchboard::server::api {

using call_ptr = std::shared_ptr<api_call>;

// Accounts and sessions.
void signup(services& ctx, const call_ptr& c);  // POST /v1/orgs
void login(services& ctx, const call_ptr& c);   // POST /v1/auth/login
void logout(services& ctx, const call_ptr& c);  // POST /v1/auth/logout
void get_me(services& ctx, const call_ptr& c);  // GET /v1/me

// Members, departments, the directory, the audit log (also /v1/app/*, as the app's bot).
void create_user(services& ctx, const call_ptr& c);
void get_user(services& ctx, const call_ptr& c, std::int64_t id);
void create_department(services& ctx, const call_ptr& c);
void update_department(services& ctx, const call_ptr& c, std::int64_t id);
void delete_department(services& ctx, const call_ptr& c, std::int64_t id);
void list_departments(services& ctx, const call_ptr& c);
void list_directory_users(services& ctx, const call_ptr& c);
void list_audit(services& ctx, const call_ptr& c);

// Calls: the organization's call records and call minutes (call_handlers.cpp).
void list_calls(services& ctx, const call_ptr& c);
void get_call_minutes(services& ctx, const call_ptr& c);

// Data governance (governance_handlers.cpp): deleting the organization, reports.
void delete_org(services& ctx, const call_ptr& c);
void create_report(services& ctx, const call_ptr& c);  // POST /v1/reports
void list_reports(services& ctx, const call_ptr& c);   // GET /v1/admin/reports
void resolve_report(services& ctx, const call_ptr& c,
                    std::int64_t id);  // POST /v1/admin/reports/{id}/resolve

// Exports (export_handlers.cpp).
void create_org_export(services& ctx, const call_ptr& c);                     // POST /v1/admin/exports
void list_org_exports(services& ctx, const call_ptr& c);                      // GET /v1/admin/exports
void get_org_export(services& ctx, const call_ptr& c, std::int64_t id);       // GET /v1/admin/exports/{id}
void download_org_export(services& ctx, const call_ptr& c, std::int64_t id);  // .../{id}/download
void create_own_export(services& ctx, const call_ptr& c);                     // POST /v1/me/export
void get_own_export(services& ctx, const call_ptr& c, std::int64_t id);       // GET /v1/me/exports/{id}
void download_own_export(services& ctx, const call_ptr& c, std::int64_t id);  // .../{id}/download

// Operational endpoints (GET and HEAD).
void healthz(services& ctx, const call_ptr& c, std::int64_t);
void readyz(services& ctx, const call_ptr& c, std::int64_t);
void metrics_text(services& ctx, const call_ptr& c, std::int64_t);

}  // namespace switchboard::server::api
