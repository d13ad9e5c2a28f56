// The outbox of integration apps' event callbacks (migration 0008): events are queued in the
// transaction that makes the change, so a committed change always has its events, and leave the
// queue only once the app's receiver took them or they grew too old.
//
// Delivery is in order per app: only an app's oldest event (its head) is ever sent, and a node
// leases it while sending, so no two nodes send an app's events at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <pqxx/connection>
#include <pqxx/transaction_base>

namespace switchboard::storage {

// What the contact events carry, and who gets them: apps with a callback and contacts:read.
struct contact_event {
  std::string type;  // member.added | member.updated | member.removed | department.changed
  boost::json::object data;
};

// A claimed event, ready to send.
struct pending_event {
  std::int64_t id = 0, org = 0, app = 0;
  std::string delivery_id, type;
  std::int64_t ts_ms = 0;  // when it happened
  std::string body;        // {"delivery_id","type","ts","data"}: the same on every attempt
  int attempts = 0;        // this one included
  std::string url, sealed_secret_hex;
};

struct event_failure {
  std::string error;
  std::int64_t retry_in_ms = 0;
  std::int64_t max_age_ms = 0;  // older than this: dropped with the app's other events that old
};

class event_store {
 public:
  static void prepare(pqxx::connection& c);
  // Queues the events for every app of `org` that takes contact events, inside `w`.
  static void enqueue(pqxx::transaction_base& w, std::int64_t org, const std::vector<contact_event>& events);
  static void enqueue(pqxx::transaction_base& w, std::int64_t org, contact_event event) {
    enqueue(w, org, std::vector<contact_event>{std::move(event)});
  }

  // Whether any app of `org` takes contact events (to skip building events nobody takes).
  static bool wants_contact_events(pqxx::transaction_base& w, std::int64_t org);

  // Leases the due heads of up to `limit` apps (of `app` alone when it is not 0) for `lease_ms`.
  static std::vector<pending_event> claim(pqxx::connection& c, int limit, std::int64_t app,
                                          std::int64_t lease_ms);
  // Records how `e`'s attempt ended (nullopt: delivered), then claims the app's next head.
  // `dropped` counts the events given up on.
  static std::optional<pending_event> finish(pqxx::connection& c, const pending_event& e,
                                             const std::optional<event_failure>& failure,
                                             std::int64_t lease_ms, std::int64_t& dropped);
  // Events waiting, per app of `org`: (app, count, oldest event's age in ms, last error).
  struct backlog {
    std::int64_t app = 0, pending = 0, oldest_ms = 0;
    std::string last_error;
  };
  static std::vector<backlog> backlogs(pqxx::connection& c, std::int64_t org);
};

}  // namespace switchboard::storage
