// The generic pieces the background jobs and caches are made of: periodic_job and ttl_cache,
// driven by an io_context of the test's own (no sockets, no database).
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "server/base/periodic_job.hpp"
#include "server/base/ttl_cache.hpp"

using namespace switchboard::server;
using namespace std::chrono_literals;

namespace {
// Runs handlers until `done()` holds or 5 s pass.
template <class Pred>
bool run_until(boost::asio::io_context& ioc, Pred done) {
  ioc.restart();
  auto until = std::chrono::steady_clock::now() + 5s;
  while (!done() && std::chrono::steady_clock::now() < until) ioc.run_one_for(10ms);
  return done();
}
}  // namespace

TEST_CASE("a periodic job runs one run at a time, again after its interval or when asked, until stopped") {
  boost::asio::io_context ioc;
  int runs = 0;
  periodic_job::done_fn pending;  // the run in progress, finished by the test
  auto job = std::make_shared<periodic_job>(ioc, 20ms, [&](periodic_job::done_fn done) {
    ++runs;
    pending = std::move(done);
  });
  job->start(0ms);
  REQUIRE(run_until(ioc, [&] { return runs == 1; }));
  ioc.restart();
  ioc.run_for(50ms);
  CHECK(runs == 1);  // the first run has not called done: no second run, however long
  job->run_soon();   // asked during a run: it runs again right after this one
  ioc.restart();
  ioc.poll();
  CHECK(runs == 1);
  pending({});
  pending({});  // a second call of the same done is ignored
  ioc.restart();
  ioc.poll();
  CHECK(runs == 2);  // at once, not after the interval
  pending(1h);       // the run asks for a long pause...
  ioc.restart();
  ioc.run_for(50ms);
  CHECK(runs == 2);
  job->run_soon();  // ...which run_soon cuts short
  ioc.restart();
  ioc.poll();
  CHECK(runs == 3);
  pending({});  // then the interval
  CHECK(run_until(ioc, [&] { return runs == 4; }));
  job->stop();
  pending({});
  job->run_soon();
  ioc.restart();
  ioc.run_for(60ms);
  CHECK(runs == 4);
}

TEST_CASE("a ttl cache: fresh entries only, any age on request, groups dropped together, bounded") {
  struct token {
    std::int64_t user;
    int n;
  };
  ttl_cache<std::string, token> cache(50ms, 4, [](const token& t) { return t.user; });
  cache.put("a", {1, 1});
  cache.put("b", {1, 2});
  cache.put("c", {2, 3});
  REQUIRE(cache.get("a"));
  CHECK(cache.get("a")->n == 1);
  CHECK(cache.update("a", [](token& t) { t.n = 10; }));
  CHECK(cache.get("a")->n == 10);
  CHECK_FALSE(cache.update("zz", [](token&) {}));
  cache.erase_group(1);
  CHECK_FALSE(cache.get("a"));
  CHECK_FALSE(cache.get("b"));
  CHECK(cache.get("c"));
  std::this_thread::sleep_for(60ms);  // the clock is the cache's own: let it pass max_age
  CHECK_FALSE(cache.get("c"));
  CHECK(cache.get_any_age("c"));
  for (int i = 0; i < 10; ++i) cache.put("k" + std::to_string(i), {3, i});
  CHECK(cache.size() <= 4);
  cache.erase_group(3);
  CHECK(cache.size() == 0);
}
