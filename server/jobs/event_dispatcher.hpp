// Delivers integration apps' events (storage/event_store.hpp) to their callback URLs.
//
// Every node runs one. It claims the due head event of each app with pending events, up to
// callbacks.concurrency apps at once, and POSTs it, signed with the app's current secret; when
// the receiver answers 2xx the event is deleted and the app's next one is claimed in the same
// transaction, so an app's events go one after another, in order. A failure (non-2xx, timeout,
// refused address) is retried after callbacks.retry_base_ms, doubling up to retry_max_ms, until
// the event is callbacks.max_age_s old.
//
// It wakes when an event is committed anywhere (LISTEN switchboard_app_events, on a thread of its
// own: libpqxx blocks), and every second for retries that came due. Deliveries are Beast/Asio
// HTTP(S) on the io_context; storage work runs on storage threads.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/base/periodic_job.hpp"
#include "server/core/callbacks.hpp"
#include "server/core/services.hpp"
#include "server/net/http_client.hpp"
#include "storage/event_store.hpp"

namespace switchboard::server {

class event_dispatcher {
 public:
  event_dispatcher(boost::asio::io_context& ioc, services& ctx);
  ~event_dispatcher();
  void start();
  // Thread-safe. Deliveries in flight finish; their events stay leased until the lease passes.
  void stop();
  // Thread-safe: look for due events now.
  void poke();

 private:
  void tick(periodic_job::done_fn done);
  void send(storage::pending_event e);
  void finish(storage::pending_event e, std::optional<storage::event_failure> failure);
  void listen_loop();

  std::shared_ptr<periodic_job> job_;  // claims due events every second, and when poked
  periodic_job::executor strand_;      // the job's: every step of the dispatcher runs here
  services& ctx_;
  std::set<std::int64_t> busy_apps_;  // apps with an event in flight from this node
  std::map<std::int64_t, std::shared_ptr<http_connection>> connections_;  // of the busy apps
  std::map<std::int64_t, storage::pending_event> parked_;                 // claimed by a tick for a busy app
  std::atomic<bool> stopped_{false};
  std::thread listener_;
};

}  // namespace switchboard::server
