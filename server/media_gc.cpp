// Garbage collection of media.
#include "server/media_gc.hpp"

#include <spdlog/spdlog.h>

#include "server/db_call.hpp"
#include "storage/media_store.hpp"

namespace switchboard::server {

void media_gc::start() {
  schedule(std::chrono::seconds(ctx_.cfg.media.gc_interval_s));
}

void media_gc::schedule(std::chrono::milliseconds after) {
  timer_.expires_after(after);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    collect();
  });
}

void media_gc::collect() {
  if (ctx_.draining.load()) return;
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
      ctx_, timer_.get_executor(),
      [grace = static_cast<std::int64_t>(ctx_.cfg.media.gc_grace_s),
       &backend](pqxx::connection& c) -> protocol::result<storage::gc_outcome> {
        return storage::media_store::collect(c, grace, batch,
                                             [&backend](const std::string& sha) { backend.remove(sha); });
      },
      [this](protocol::result<storage::gc_outcome> r) {
        if (stopped_) return;
        if (!r) {
          ctx_.log->warn("media: collection failed: {}", r.err().message);
          return schedule(std::chrono::seconds(ctx_.cfg.media.gc_interval_s));
        }
        const auto& o = r.value();
        if (o.rows > 0)
          ctx_.log->info("media: collected {} unsent uploads ({} bytes), deleted {} stored objects", o.rows,
                         o.bytes, o.objects);
        // A full batch: more may be waiting.
        schedule(o.rows >= batch ? std::chrono::milliseconds(0)
                                 : std::chrono::milliseconds(ctx_.cfg.media.gc_interval_s * 1000LL));
      });
}

}  // namespace switchboard::server
