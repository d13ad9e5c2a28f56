// HTTP routes of data governance: deleting the organization (PROTOCOL.md DELETE /v1/admin/org),
// and reports of messages with their resolution.
#include <boost/json.hpp>

#include "protocol/fields.hpp"
#include "server/api/http/admin_handlers.hpp"
#include "server/api/http/api_common.hpp"
#include "server/api/http/handlers.hpp"
#include "server/core/db_call.hpp"
#include "server/core/org_lifecycle.hpp"
#include "storage/governance_store.hpp"
#include "storage/report_store.hpp"

namespace switchboard::server::api {

void delete_org(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    if (t.role != protocol::role::owner)
      return fail(ctx, c, {error_code::forbidden, "only the organization's owner may delete it"});
    // `confirm` in the JSON body; a client that cannot send a body with DELETE may use the query.
    std::string confirm = query_param(c, "confirm");
    if (confirm.empty() || !c->req.body().empty()) {
      auto body = json_body(c);
      if (!body) return fail(ctx, c, body.err());
      protocol::fields f(body.value(), "");
      confirm = f.str("confirm", 1, 200);
      if (!f.ok()) return fail(ctx, c, f.err());
    }
    db_call<storage::org_deletion>(
        ctx, c->ex,
        [a = actor_of(ctx, c, t), confirm,
         delay = static_cast<std::int64_t>(ctx.cfg.governance.org_purge_delay_s)](pqxx::connection& conn) {
          return storage::governance_store::begin_deletion(conn, a, confirm, delay);
        },
        [&ctx, c](result<storage::org_deletion> r) {
          if (!r) return fail(ctx, c, r.err());
          const auto& d = r.value();
          ctx.log->warn("org {} deleted by its owner; purge after {}", d.org, d.purge_after_ms);
          ok(ctx, c, http::status::accepted,
             {{"org", protocol::id_string(d.org)}, {"state", "deleting"}, {"purge_after", d.purge_after_ms}});
          forget_deleted_org(ctx, d.org);
          ctx.cluster.changes_committed();  // every other node forgets it now too
        });
  });
}

namespace {
constexpr std::size_t max_report_reason_bytes = 1000;
constexpr std::size_t max_warning_bytes = 2000;
constexpr std::size_t max_suspend_reason_bytes = 500;

// POST /v1/admin/reports/{id}/resolve's body.
result<storage::resolution> read_resolution(const json::object& body) {
  protocol::fields f(body, "");
  storage::resolution r;
  r.action = f.str("action", 1, 32);
  if (!f.ok()) return f.err();
  if (r.action == "warn") {
    r.text = f.str("text", 1, max_warning_bytes);
  } else if (r.action == "suspend") {
    r.text = f.opt_str("text", 1, max_suspend_reason_bytes).value_or("");
    auto until = read_until(f, body);
    if (!until) return until.err();
    r.until_ms = until.value();
  } else if (r.action == "restrict") {
    r.features = read_features(f);
    if (f.ok() && r.features.empty()) f.fail(error_code::bad_request, "features: name at least one feature");
    auto until = read_until(f, body);
    if (!until) return until.err();
    r.until_ms = until.value();
  } else if (r.action != "dismiss" && r.action != "remove_message") {
    return error{error_code::bad_request,
                 "action must be dismiss, remove_message, warn, restrict or suspend"};
  }
  if (!f.ok()) return f.err();
  return r;
}
}  // namespace

void create_report(services& ctx, const call_ptr& c) {
  authenticate(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    if (auto e = inactive_account(t)) return fail(ctx, c, *e);
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    protocol::fields f(body.value(), "");
    auto conv = f.id("conv");
    auto seq = f.integer("seq", 1, INT64_MAX);
    auto reason = f.str("reason", 1, max_report_reason_bytes);
    if (!f.ok()) return fail(ctx, c, f.err());
    // Per member over the cluster (governance.reports_per_hour): reporting cannot flood the admins.
    std::int64_t retry_after = 0;
    auto key = protocol::id_string(t.user_id);
    if (!ctx.reports.take(key, retry_after)) {
      ctx.stats.hit(limit::reports);
      return fail(ctx, c, {error_code::rate_limited, "over the report rate limit", retry_after});
    }
    ctx.cluster.took(shared_limit::reports, key);
    db_call<storage::new_report>(
        ctx, c->ex,
        [org = t.org_id, user = t.user_id, conv, seq, reason](pqxx::connection& conn) {
          return storage::report_store::create(conn, org, user, conv, seq, reason);
        },
        [&ctx, c](result<storage::new_report> r) {
          if (!r) return fail(ctx, c, r.err());
          ok(ctx, c, r.value().created ? http::status::created : http::status::ok,
             storage::to_json(r.value().r, false));
        });
  });
}

void list_reports(services& ctx, const call_ptr& c) {
  authenticate_admin(ctx, c, [&ctx, c](const storage::token_info& t, const std::string&) {
    auto state = query_param(c, "state");
    if (!state.empty() && state != "open" && state != "resolved")
      return fail(ctx, c, {error_code::bad_request, "state must be open or resolved"});
    answer_page<storage::report>(
        ctx, c, 50, 200,
        [org = t.org_id, state](pqxx::connection& conn, std::int64_t before, int n) {
          return storage::report_store::list(conn, org, state, before, n);
        },
        [](const storage::report& r) { return storage::to_json(r, true); });
  });
}

void resolve_report(services& ctx, const call_ptr& c, std::int64_t id) {
  authenticate_admin(ctx, c, [&ctx, c, id](const storage::token_info& t, const std::string&) {
    auto body = json_body(c);
    if (!body) return fail(ctx, c, body.err());
    auto how = read_resolution(body.value());
    if (!how) return fail(ctx, c, how.err());
    db_call<storage::resolved_report>(
        ctx, c->ex,
        [a = actor_of(ctx, c, t), id, how = how.value()](pqxx::connection& conn) {
          return storage::report_store::resolve(conn, a, id, how);
        },
        [&ctx, c, admin = t.user_id, how = how.value()](result<storage::resolved_report> r) {
          if (!r) return fail(ctx, c, r.err());
          const auto& done = r.value();
          if (how.action == "remove_message")
            ctx.fan.to_users(done.members,
                             event_frame("recalled", {{"conv", protocol::id_string(done.r.conv)},
                                                      {"seq", done.r.seq},
                                                      {"by", protocol::id_string(admin)}}));
          if (how.action == "warn")
            ctx.fan.to_users(
                {done.author_id},
                event_frame("warning", {{"text", how.text}, {"report", storage::to_json(done.r, false)}}));
          if (done.author) apply_account_change(ctx, *done.author);
          ok(ctx, c, http::status::ok, storage::to_json(done.r, false));
        });
  });
}

}  // namespace switchboard::server::api
