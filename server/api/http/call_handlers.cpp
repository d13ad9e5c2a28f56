// HTTP routes of calls: an organization's call records and call minutes (PROTOCOL.md "Calls").
#include <boost/json.hpp>

#include "server/api/http/api_common.hpp"
#include "server/api/http/handlers.hpp"
#include "server/core/db_call.hpp"
#include "storage/call_store.hpp"

namespace switchboard::server::api {

void list_calls(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    answer_page<storage::call_record>(
        ctx, c, 50, 200,
        [org = t.org_id](pqxx::connection& conn, std::int64_t before, int n) {
          return storage::call_store::list(conn, org, before, n);
        },
        [](const storage::call_record& r) { return storage::to_admin_json(r); });
  });
}

void get_call_minutes(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    answer<json::object>(
        ctx, c, http::status::ok,
        [org = t.org_id](pqxx::connection& conn) -> protocol::result<json::object> {
          return storage::to_json(storage::call_store::minutes(conn, org));
        },
        [](const json::object& o) { return o; });
  });
}

}  // namespace switchboard::server::api
