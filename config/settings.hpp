// Every configuration key of Switchboard, loaded from one INI file plus SWITCHBOARD_<SECTION>_<KEY>.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace switchboard::config {

struct listen_address {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const;
};

struct settings {
  struct server_section {
    listen_address listen{"127.0.0.1", 8080};
    std::vector<std::string> allowed_origins;  // empty: any Origin (a request without one is always allowed)
    int threads = 0;                           // 0: one per CPU core
    int shutdown_grace_ms = 10000;             // SIGTERM: how long to drain before exiting anyway
    int http_idle_timeout_s = 60;              // keep-alive connections idle longer are closed
    int max_connections = 100000;
    int max_connections_per_ip = 5000;  // trusted proxies are exempt (they carry many clients)
    // Addresses or CIDR blocks of reverse proxies whose X-Forwarded-For is believed; empty: none.
    std::vector<std::string> trusted_proxies;
    int hello_timeout_ms = 10000;     // spec default: the first request must be hello within 10 s
    int heartbeat_s = 30;             // spec default: WebSocket ping period
    bool permessage_deflate = false;  // WebSocket compression: costs CPU per message
  } server;
  struct tls_section {
    bool enabled = false;
    std::string cert_file;
    std::string key_file;
  } tls;
  struct database_section {
    std::string url = "postgresql:///switchboard";  // local socket, database "switchboard"
    int pool_size = 4;                              // storage threads, each with its own connection
    int connect_timeout_s = 5;
    bool migrate_on_start = true;
    int startup_timeout_s = 30;  // serve waits this long for PostgreSQL at start before giving up
    int health_interval_ms = 1000;
    int max_queue = 100000;        // queued storage jobs beyond this fail fast with `unavailable`
    int writers = 2;               // ordered writer threads; a conversation always uses the same one
    int batch_max_messages = 256;  // group commit: messages per INSERT round trip and COMMIT
    int batch_max_delay_us = 100;  // group commit: how long a batch waits for more messages
    int query_timeout_ms = 5000;   // a round trip unanswered this long cuts its connection (0: never)
  } database;
  struct limits_section {
    int max_frame_bytes = 65536;
    int max_body_bytes = 1048576;
    int max_import_bytes = 8 * 1048576;  // POST /v1/admin/users/import
    int max_import_rows = 10000;
    int requests_per_second = 100;
    int request_burst = 200;
    int max_group_members = 2000;
    int outbound_queue_bytes = 1048576;
    int sends_per_second = 50;  // per user, over all of the user's sessions (on every node)
    int send_burst = 200;
    int logins_per_minute = 600;        // login attempts per client IP (behind trusted proxies: the client's)
    int failed_logins_per_minute = 10;  // failed login attempts per mobile number (in an org)
  } limits;
  struct logging_section {
    std::string level = "info";   // trace, debug, info, warn, error, critical, off
    std::string format = "text";  // text or json (one JSON object per line)
    std::string file;             // empty: standard error; SIGHUP reopens it
  } logging;
  struct metrics_section {
    std::optional<listen_address> listen;  // unset: /metrics on the main listener
  } metrics;
  struct auth_section {
    int scrypt_log2_n = 17;
    int token_ttl_s = 7 * 24 * 3600;
    bool signup_enabled = false;
    int invitation_ttl_s = 7 * 24 * 3600;
  } auth;
  struct sms_section {
    std::string sink = "log";
    std::string path;
    std::string url;
    int code_ttl_s = 300;
  } sms;
  struct callbacks_section {
    bool allow_private = false;  // callback URLs may name loopback and private addresses
    bool allow_http = false;     // callback URLs may be http:// (development); else https:// only
    int timeout_ms = 10000;      // one delivery: connect, send, and the receiver's answer
    int retry_base_ms = 2000;    // the first retry's delay; each later one doubles, up to retry_max_ms
    int retry_max_ms = 15 * 60 * 1000;
    int max_age_s = 24 * 3600;  // an event still undelivered this long after it happened is dropped
    int concurrency = 32;       // apps a node delivers to at once
  } callbacks;
  struct apps_section {
    int token_ttl_s = 7200;         // an access token's life (POST /v1/app/token's expires_in)
    int requests_per_minute = 600;  // per app, over its /v1/app/* calls (on every node)
    int requests_per_day = 200000;
    // 64 hex digits (32 bytes) that seal apps' secrets for signing callbacks; every node needs the
    // same one. Empty: apps work, but cannot register callbacks.
    std::string secret_key;
  } apps;
  // Several nodes as one service (docs/cluster.md). An empty nats_url: a single node, no bus.
  struct cluster_section {
    std::string nats_url;                        // nats://host:port (several: comma-separated)
    std::string subject_prefix = "switchboard";  // every subject this cluster uses starts with it
    // How long a node holds a conversation's message whose predecessor has not arrived before it
    // reads the missing ones from PostgreSQL: longer than the bus's usual reordering between two
    // publishers (well under a millisecond on one network), short enough to stay unnoticed.
    int gap_wait_ms = 100;
    // A node writes its heartbeat this often; one silent for node_timeout_ms is dead: its sessions'
    // presence goes down (any node sweeps it).
    int heartbeat_ms = 1000;
    int node_timeout_ms = 6000;
  } cluster;
  // Calls (PROTOCOL.md "Calls", docs/calls.md).
  struct calls_section {
    int ring_timeout_s = 45;             // a call nobody answers in this time ends `missed`
    int reconnect_grace_s = 20;          // a party whose session closed may come back (call_join) this long
    int max_parties = 8;                 // the largest mesh
    std::vector<std::string> turn_uris;  // TURN servers (turn:host:3478?transport=udp, ...)
    std::string turn_secret;             // coturn's static-auth-secret (use-auth-secret)
    int turn_ttl_s = 3600;               // how long issued TURN credentials last
    // How often each node looks for call timers that are due (ringing over, grace over, the next
    // minute); a timer fires at most this late.
    int sweep_ms = 500;
    int signals_per_second = 50;  // call_signal per session, with bursts of twice that
  } calls;
  struct media_section {
    std::string dir = "/var/lib/switchboard/media";
    // The largest upload by declared type: image/*, audio/* (voice notes), anything else.
    int max_image_bytes = 10 * 1024 * 1024;
    int max_voice_bytes = 5 * 1024 * 1024;
    int max_file_bytes = 100 * 1024 * 1024;
    // Media never sent in a message is deleted this long after its upload, by a job that runs
    // every gc_interval_s.
    int gc_grace_s = 24 * 3600;
    int gc_interval_s = 600;
  } media;
  // Data governance (PROTOCOL.md "Retention and reclamation", docs/admin.md).
  struct governance_section {
    int interval_s = 3600;                  // retention, reclamation and due purges run this often
    int org_purge_delay_s = 7 * 24 * 3600;  // a deleted organization's data waits this long for its purge
    // Messages deleted per transaction: each chunk holds its conversation's row only at its end.
    int retention_chunk = 1000;
    // Rows a purge deletes per transaction and table.
    int purge_chunk = 5000;
    // A pause between two chunks, which leaves the database to the sends (0: none).
    int chunk_pause_ms = 5;
    int export_ttl_s = 7 * 24 * 3600;  // a finished export is downloadable this long, then deleted
    int reports_per_hour = 30;         // POST /v1/reports per member (over the cluster)
  } governance;
  // Message bodies at rest (PROTOCOL.md "At rest", docs/security.md).
  struct storage_section {
    std::string encryption_key;                // 64 hex digits: bodies are sealed with AES-256-GCM
    std::vector<std::string> decryption_keys;  // earlier keys (64 hex digits each), still read
  } storage;
  // The web app (PROTOCOL.md "Web app"), built into the binary and served at / on the main listener.
  struct web_section {
    bool enabled = true;
  } web;
};

struct config_error {
  std::string key;    // "section.key", or empty for a file-level problem
  std::string where;  // "file.ini:12", "env SWITCHBOARD_X", or the file path
  std::string reason;
  std::string to_string() const;
};

using environment = std::map<std::string, std::string>;
environment process_environment();

// Loads `path` (may be empty: defaults only), then applies SWITCHBOARD_* overrides from `env`,
// then validates keys against each other. Unknown sections, keys and variables are errors.
std::variant<settings, config_error> load_settings(const std::string& path, const environment& env);

// The same from text already read (used by tests and by load_settings).
std::variant<settings, config_error> load_settings_from_text(const std::string& text,
                                                             const std::string& where,
                                                             const environment& env);

// Every key as "section.key", for documentation and tests.
std::vector<std::string> known_keys();

}  // namespace switchboard::config
