// Garbage collection of media.
#include "server/jobs/media_gc.hpp"

#include <spdlog/spdlog.h>

#include "server/core/db_call.hpp"
#include "storage/media_store.hpp"

namespace switchboard::server {

void media_gc::collect(periodic_job::done_fn done) {
  if (ctx_.draining.load()) return done({});
  boost::asio::post(ctx_.files, [&ctx = ctx_] {
    try {
      if (auto n = ctx.media.sweep_temporaries(temporary_age_s))
        ctx.log->info("media: swept {} abandoned temporaries", n);
    } catch (const std::exception& e) {
      ctx.log->warn("media: cannot sweep temporaries: {}", e.what());
    }
  });
  auto& backend = ctx_.media;
  db_call<storage::gc_outcome>(
      ctx_, job_->strand(),
      [grace = static_cast<std::int64_t>(ctx_.cfg.media.gc_grace_s),
       &backend](pqxx::connection& c) -> protocol::result<storage::gc_outcome> {
        return storage::media_store::collect(c, grace, batch,
                                             [&backend](const std::string& sha) { backend.remove(sha); });
      },
      [this, done](protocol::result<storage::gc_outcome> r) {
        if (!r) {
          ctx_.log->warn("media: collection failed: {}", r.err().message);
          return done({});
        }
        const auto& o = r.value();
        if (o.rows > 0)
          ctx_.log->info("media: collected {} unsent uploads ({} bytes), deleted {} stored objects", o.rows,
                         o.bytes, o.objects);
        // A full batch: more may be waiting.
        if (o.rows >= batch) return done(std::chrono::milliseconds(0));
        done({});
      });
}

}  // namespace switchboard::server
