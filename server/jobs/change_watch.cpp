// Changes made through other nodes.
#include "server/jobs/change_watch.hpp"

#include <spdlog/spdlog.h>

#include "server/core/db_call.hpp"
#include "server/core/org_lifecycle.hpp"
#include "storage/policy_store.hpp"
#include "storage/user_store.hpp"

namespace switchboard::server {

void change_watch::tick(periodic_job::done_fn done) {
  if (ctx_.draining.load()) return done({});
  db_call<storage::recent_changes>(
      ctx_, job_->strand(),
      [since = since_ms_](pqxx::connection& c) -> protocol::result<storage::recent_changes> {
        return storage::policy_store::changed_since(c, since, overlap_ms);
      },
      [this, done](protocol::result<storage::recent_changes> r) {
        if (!r) return done({});  // the database is away: the next tick tries again
        auto& ch = r.value();
        since_ms_ = std::max(since_ms_, ch.newest_ms);
        for (const auto& u : ch.users) {
          ctx_.tokens.erase_user(u.id);  // role and status are cached with each token
          for (auto& s : ctx_.sessions.sessions_of(u.id)) s->account_changed(u);
        }
        for (auto org : ch.deleted_orgs) forget_deleted_org(ctx_, org);
        for (const auto& [org, p] : ch.policies) {
          ctx_.policies.put(org, p);
          if (p.min_client_version)
            for (auto& s : ctx_.sessions.sessions_in_org(org)) s->enforce_min_version(*p.min_client_version);
        }
        done({});
      });
}

}  // namespace switchboard::server
