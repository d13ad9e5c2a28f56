// Loading, environment overrides and validation of the configuration.
#include "config/settings.hpp"

#include <arpa/inet.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>

#include "config/ini_parser.hpp"

extern char** environ;

namespace switchboard::config {

namespace {

using setter = std::function<std::optional<std::string>(settings&, const std::string&)>;

struct key_def {
  std::string section;
  std::string key;
  setter apply;
};

std::optional<std::string> parse_int(const std::string& v, long lo, long hi, int& out) {
  long n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || p != v.data() + v.size())
    return "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (n < lo || n > hi) return "must be from " + std::to_string(lo) + " to " + std::to_string(hi);
  out = static_cast<int>(n);
  return std::nullopt;
}

std::optional<std::string> parse_bool(const std::string& v, bool& out) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") {
    out = true;
    return std::nullopt;
  }
  if (v == "false" || v == "no" || v == "off" || v == "0") {
    out = false;
    return std::nullopt;
  }
  return "expected true or false";
}

std::optional<std::string> parse_listen(const std::string& v, listen_address& out) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) return "expected host:port, e.g. 127.0.0.1:8080";
  std::string host = v.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  if (parse_int(v.substr(colon + 1), 0, 65535, port)) return "port must be an integer from 0 to 65535";
  out = listen_address{host, static_cast<std::uint16_t>(port)};
  return std::nullopt;
}

template <class Section>
setter int_key(Section settings::*sec, int Section::*field, long lo, long hi) {
  return [=](settings& s, const std::string& v) { return parse_int(v, lo, hi, s.*sec.*field); };
}
template <class Section>
setter bool_key(Section settings::*sec, bool Section::*field) {
  return [=](settings& s, const std::string& v) { return parse_bool(v, s.*sec.*field); };
}
template <class Section>
setter string_key(Section settings::*sec, std::string Section::*field) {
  return [=](settings& s, const std::string& v) -> std::optional<std::string> {
    s.*sec.*field = v;
    return std::nullopt;
  };
}
template <class Section>
setter enum_key(Section settings::*sec, std::string Section::*field, std::vector<std::string> allowed) {
  return [=](settings& s, const std::string& v) -> std::optional<std::string> {
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string all;
      for (const auto& a : allowed) all += (all.empty() ? "" : ", ") + a;
      return "must be one of: " + all;
    }
    s.*sec.*field = v;
    return std::nullopt;
  };
}

// A 256-bit key as 64 hex digits.
bool is_key_hex(const std::string& v) {
  return v.size() == 64 && v.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

// "a.b.c.d", "a.b.c.d/n" or the IPv6 forms, with a prefix no longer than the address.
bool valid_cidr(const std::string& v) {
  auto slash = v.find('/');
  std::string addr = v.substr(0, slash);
  unsigned char buf[16];
  int bits = 0;
  if (::inet_pton(AF_INET, addr.c_str(), buf) == 1)
    bits = 32;
  else if (::inet_pton(AF_INET6, addr.c_str(), buf) == 1)
    bits = 128;
  else
    return false;
  if (slash == std::string::npos) return true;
  auto p = v.substr(slash + 1);
  if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  return std::stoi(p) <= bits;
}

const std::vector<key_def>& schema() {
  using S = settings;
  static const std::vector<key_def> defs{
      {"server", "listen", [](S& s, const std::string& v) { return parse_listen(v, s.server.listen); }},
      {"server", "allowed_origins",
       [](S& s, const std::string& v) -> std::optional<std::string> {
         s.server.allowed_origins = split_list(v);
         return std::nullopt;
       }},
      {"server", "max_connections_per_ip",
       int_key(&S::server, &S::server_section::max_connections_per_ip, 1, 10000000)},
      {"server", "trusted_proxies",
       [](S& s, const std::string& v) -> std::optional<std::string> {
         s.server.trusted_proxies = split_list(v);
         for (const auto& p : s.server.trusted_proxies)
           if (!valid_cidr(p)) return "'" + p + "' is not an IP address or CIDR block (10.0.0.0/8, fd00::/8)";
         return std::nullopt;
       }},
      {"server", "threads", int_key(&S::server, &S::server_section::threads, 0, 256)},
      {"server", "shutdown_grace_ms", int_key(&S::server, &S::server_section::shutdown_grace_ms, 0, 600000)},
      {"server", "http_idle_timeout_s",
       int_key(&S::server, &S::server_section::http_idle_timeout_s, 1, 3600)},
      {"server", "max_connections", int_key(&S::server, &S::server_section::max_connections, 1, 10000000)},
      {"server", "hello_timeout_ms", int_key(&S::server, &S::server_section::hello_timeout_ms, 100, 600000)},
      {"server", "heartbeat_s", int_key(&S::server, &S::server_section::heartbeat_s, 1, 3600)},
      {"server", "permessage_deflate", bool_key(&S::server, &S::server_section::permessage_deflate)},
      {"tls", "enabled", bool_key(&S::tls, &S::tls_section::enabled)},
      {"tls", "cert_file", string_key(&S::tls, &S::tls_section::cert_file)},
      {"tls", "key_file", string_key(&S::tls, &S::tls_section::key_file)},
      {"database", "url",
       [](S& s, const std::string& v) -> std::optional<std::string> {
         if (v.empty()) return "must not be empty";
         s.database.url = v;
         return std::nullopt;
       }},
      {"database", "pool_size", int_key(&S::database, &S::database_section::pool_size, 1, 256)},
      {"database", "connect_timeout_s",
       int_key(&S::database, &S::database_section::connect_timeout_s, 1, 300)},
      {"database", "migrate_on_start", bool_key(&S::database, &S::database_section::migrate_on_start)},
      {"database", "startup_timeout_s",
       int_key(&S::database, &S::database_section::startup_timeout_s, 0, 3600)},
      {"database", "health_interval_ms",
       int_key(&S::database, &S::database_section::health_interval_ms, 50, 600000)},
      {"database", "max_queue", int_key(&S::database, &S::database_section::max_queue, 1, 100000000)},
      {"database", "writers", int_key(&S::database, &S::database_section::writers, 1, 64)},
      {"database", "batch_max_messages",
       int_key(&S::database, &S::database_section::batch_max_messages, 1, 10000)},
      {"database", "batch_max_delay_us",
       int_key(&S::database, &S::database_section::batch_max_delay_us, 0, 1000000)},
      {"database", "query_timeout_ms",
       int_key(&S::database, &S::database_section::query_timeout_ms, 0, 3600000)},
      {"limits", "max_frame_bytes", int_key(&S::limits, &S::limits_section::max_frame_bytes, 1024, 16777216)},
      {"limits", "max_body_bytes", int_key(&S::limits, &S::limits_section::max_body_bytes, 1024, 1073741824)},
      {"limits", "max_import_bytes",
       int_key(&S::limits, &S::limits_section::max_import_bytes, 1024, 1073741824)},
      {"limits", "max_import_rows", int_key(&S::limits, &S::limits_section::max_import_rows, 1, 1000000)},
      {"limits", "requests_per_second",
       int_key(&S::limits, &S::limits_section::requests_per_second, 1, 1000000)},
      {"limits", "request_burst", int_key(&S::limits, &S::limits_section::request_burst, 1, 1000000)},
      {"limits", "sends_per_second", int_key(&S::limits, &S::limits_section::sends_per_second, 1, 1000000)},
      {"limits", "send_burst", int_key(&S::limits, &S::limits_section::send_burst, 1, 1000000)},
      {"limits", "logins_per_minute", int_key(&S::limits, &S::limits_section::logins_per_minute, 1, 1000000)},
      {"limits", "failed_logins_per_minute",
       int_key(&S::limits, &S::limits_section::failed_logins_per_minute, 1, 1000000)},
      {"limits", "max_group_members", int_key(&S::limits, &S::limits_section::max_group_members, 2, 1000000)},
      {"limits", "outbound_queue_bytes",
       int_key(&S::limits, &S::limits_section::outbound_queue_bytes, 65536, 1073741824)},
      {"logging", "level",
       enum_key(&S::logging, &S::logging_section::level,
                {"trace", "debug", "info", "warn", "error", "critical", "off"})},
      {"logging", "format", enum_key(&S::logging, &S::logging_section::format, {"text", "json"})},
      {"logging", "file", string_key(&S::logging, &S::logging_section::file)},
      {"metrics", "listen",
       [](S& s, const std::string& v) -> std::optional<std::string> {
         if (v.empty()) {
           s.metrics.listen.reset();
           return std::nullopt;
         }
         listen_address a;
         if (auto e = parse_listen(v, a)) return e;
         s.metrics.listen = a;
         return std::nullopt;
       }},
      {"auth", "scrypt_log2_n", int_key(&S::auth, &S::auth_section::scrypt_log2_n, 10, 22)},
      {"auth", "token_ttl_s", int_key(&S::auth, &S::auth_section::token_ttl_s, 60, 365 * 24 * 3600)},
      {"auth", "signup_enabled", bool_key(&S::auth, &S::auth_section::signup_enabled)},
      {"auth", "invitation_ttl_s",
       int_key(&S::auth, &S::auth_section::invitation_ttl_s, 300, 90 * 24 * 3600)},
      {"sms", "sink", enum_key(&S::sms, &S::sms_section::sink, {"log", "file", "http"})},
      {"sms", "path", string_key(&S::sms, &S::sms_section::path)},
      {"sms", "url", string_key(&S::sms, &S::sms_section::url)},
      {"sms", "code_ttl_s", int_key(&S::sms, &S::sms_section::code_ttl_s, 60, 3600)},
      {"callbacks", "allow_private", bool_key(&S::callbacks, &S::callbacks_section::allow_private)},
      {"callbacks", "allow_http", bool_key(&S::callbacks, &S::callbacks_section::allow_http)},
      {"callbacks", "timeout_ms", int_key(&S::callbacks, &S::callbacks_section::timeout_ms, 100, 120000)},
      {"callbacks", "retry_base_ms", int_key(&S::callbacks, &S::callbacks_section::retry_base_ms, 10, 10000)},
      {"callbacks", "retry_max_ms",
       int_key(&S::callbacks, &S::callbacks_section::retry_max_ms, 10, 24 * 3600 * 1000)},
      {"callbacks", "max_age_s", int_key(&S::callbacks, &S::callbacks_section::max_age_s, 1, 30 * 24 * 3600)},
      {"callbacks", "concurrency", int_key(&S::callbacks, &S::callbacks_section::concurrency, 1, 10000)},
      {"apps", "token_ttl_s", int_key(&S::apps, &S::apps_section::token_ttl_s, 1, 86400)},
      {"apps", "requests_per_minute", int_key(&S::apps, &S::apps_section::requests_per_minute, 1, 1000000)},
      {"apps", "requests_per_day", int_key(&S::apps, &S::apps_section::requests_per_day, 1, 1000000000)},
      {"apps", "secret_key",
       [](S& s, const std::string& v) -> std::optional<std::string> {
         if (!v.empty() && !is_key_hex(v))
           return "must be 64 hex digits (32 bytes; openssl rand -hex 32 makes one)";
         s.apps.secret_key = v;
         return std::nullopt;
       }},
      {"cluster", "nats_url",
       [](S& s, const std::string& v) -> std::optional<std::string> {
         std::size_t at = 0;
         while (at <= v.size() && !v.empty()) {
           auto comma = v.find(',', at);
           auto one = v.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
           if (one.rfind("nats://", 0) != 0 || one.size() <= 7)
             return "must be nats://host:port (several: comma-separated), or empty for a single node";
           if (comma == std::string::npos) break;
           at = comma + 1;
         }
         s.cluster.nats_url = v;
         return std::nullopt;
       }},
      {"cluster", "subject_prefix",
       [](S& s, const std::string& v) -> std::optional<std::string> {
         bool ok = !v.empty() && v.size() <= 64 &&
                   v.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
                       std::string::npos;
         if (!ok) return "must be 1 to 64 letters, digits, '_' or '-' (one NATS subject token)";
         s.cluster.subject_prefix = v;
         return std::nullopt;
       }},
      {"cluster", "gap_wait_ms", int_key(&S::cluster, &S::cluster_section::gap_wait_ms, 1, 10000)},
      {"cluster", "heartbeat_ms", int_key(&S::cluster, &S::cluster_section::heartbeat_ms, 100, 60000)},
      {"cluster", "node_timeout_ms", int_key(&S::cluster, &S::cluster_section::node_timeout_ms, 500, 600000)},
      {"calls", "ring_timeout_s", int_key(&S::calls, &S::calls_section::ring_timeout_s, 1, 3600)},
      {"calls", "reconnect_grace_s", int_key(&S::calls, &S::calls_section::reconnect_grace_s, 1, 3600)},
      {"calls", "max_parties", int_key(&S::calls, &S::calls_section::max_parties, 2, 64)},
      {"calls", "turn_uris",
       [](S& s, const std::string& v) -> std::optional<std::string> {
         for (const auto& one : split_list(v))
           if (one.rfind("turn:", 0) != 0 && one.rfind("turns:", 0) != 0 && one.rfind("stun:", 0) != 0)
             return "must be turn:, turns: or stun: URIs, comma-separated ('" + one + "' is not)";
         s.calls.turn_uris = split_list(v);
         return std::nullopt;
       }},
      {"calls", "turn_secret", string_key(&S::calls, &S::calls_section::turn_secret)},
      {"calls", "turn_ttl_s", int_key(&S::calls, &S::calls_section::turn_ttl_s, 60, 7 * 24 * 3600)},
      {"calls", "sweep_ms", int_key(&S::calls, &S::calls_section::sweep_ms, 20, 60000)},
      {"calls", "signals_per_second", int_key(&S::calls, &S::calls_section::signals_per_second, 1, 100000)},
      {"media", "dir", string_key(&S::media, &S::media_section::dir)},
      {"media", "max_image_bytes", int_key(&S::media, &S::media_section::max_image_bytes, 1, 2147483647)},
      {"media", "max_voice_bytes", int_key(&S::media, &S::media_section::max_voice_bytes, 1, 2147483647)},
      {"media", "max_file_bytes", int_key(&S::media, &S::media_section::max_file_bytes, 1, 2147483647)},
      {"media", "gc_grace_s", int_key(&S::media, &S::media_section::gc_grace_s, 1, 365 * 24 * 3600)},
      {"media", "gc_interval_s", int_key(&S::media, &S::media_section::gc_interval_s, 1, 24 * 3600)},
      {"governance", "interval_s",
       int_key(&S::governance, &S::governance_section::interval_s, 1, 30 * 86400)},
      {"governance", "org_purge_delay_s",
       int_key(&S::governance, &S::governance_section::org_purge_delay_s, 0, 365 * 86400)},
      {"governance", "retention_chunk",
       int_key(&S::governance, &S::governance_section::retention_chunk, 1, 100000)},
      {"governance", "purge_chunk", int_key(&S::governance, &S::governance_section::purge_chunk, 1, 1000000)},
      {"governance", "chunk_pause_ms",
       int_key(&S::governance, &S::governance_section::chunk_pause_ms, 0, 10000)},
      {"governance", "export_ttl_s",
       int_key(&S::governance, &S::governance_section::export_ttl_s, 1, 365 * 86400)},
      {"governance", "reports_per_hour",
       int_key(&S::governance, &S::governance_section::reports_per_hour, 1, 100000)},
      {"storage", "encryption_key",
       [](S& s, const std::string& v)
           -> std::
               optional<std::string> {
                 if (!v.empty() && !is_key_hex(v))
                   return "must be 64 hex digits (32 bytes; openssl rand -hex 32 makes one)";
                 s.storage.encryption_key = v;
                 return std::nullopt;
               }},
      {"storage", "decryption_keys",
       [](S& s, const std::string& v) -> std::
                                          optional<std::string> {
                                            auto keys = split_list(v);
                                            for (const auto& k : keys)
                                              if (!is_key_hex(k))
                                                return "each key must be 64 hex digits (comma-separated)";
                                            s.storage.decryption_keys = std::move(keys);
                                            return std::nullopt;
                                          }},
      {"web", "enabled", bool_key(&S::web, &S::web_section::enabled)},
  };
  return defs;
}

std::string env_name(const key_def& d) {
  std::string n = "SWITCHBOARD_" + d.section + "_" + d.key;
  for (auto& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return n;
}

bool readable(const std::string& path) {
  return ::access(path.c_str(), R_OK) == 0;
}

std::optional<config_error> cross_check(const settings& s, const std::string& where) {
  if (s.tls.enabled) {
    if (s.tls.cert_file.empty())
      return config_error{"tls.cert_file", where, "required when tls.enabled is true"};
    if (s.tls.key_file.empty())
      return config_error{"tls.key_file", where, "required when tls.enabled is true"};
    if (!readable(s.tls.cert_file))
      return config_error{"tls.cert_file", where, "cannot read '" + s.tls.cert_file + "'"};
    if (!readable(s.tls.key_file))
      return config_error{"tls.key_file", where, "cannot read '" + s.tls.key_file + "'"};
  }
  if (s.sms.sink == "file" && s.sms.path.empty())
    return config_error{"sms.path", where, "required when sms.sink is file"};
  if (s.sms.sink == "http" && s.sms.url.rfind("http://", 0) != 0 && s.sms.url.rfind("https://", 0) != 0)
    return config_error{"sms.url", where, "an http:// or https:// URL is required when sms.sink is http"};
  if (s.limits.send_burst < s.limits.sends_per_second)
    return config_error{"limits.send_burst", where, "must be at least limits.sends_per_second"};
  if (s.limits.request_burst < s.limits.requests_per_second)
    return config_error{"limits.request_burst", where, "must be at least limits.requests_per_second"};
  if (s.callbacks.retry_max_ms < s.callbacks.retry_base_ms)
    return config_error{"callbacks.retry_max_ms", where, "must be at least callbacks.retry_base_ms"};
  if (!s.calls.turn_uris.empty() && s.calls.turn_secret.empty())
    return config_error{"calls.turn_secret", where,
                        "required when calls.turn_uris is set (the static-auth-secret of coturn)"};
  if (s.cluster.node_timeout_ms < 3 * s.cluster.heartbeat_ms)
    return config_error{"cluster.node_timeout_ms", where,
                        "must be at least 3 times cluster.heartbeat_ms (one late heartbeat is not a death)"};
  if (s.metrics.listen && s.metrics.listen->host == s.server.listen.host &&
      s.metrics.listen->port == s.server.listen.port && s.server.listen.port != 0)
    return config_error{"metrics.listen", where, "must differ from server.listen (leave it empty to share)"};
  return std::nullopt;
}

}  // namespace

std::string listen_address::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string config_error::to_string() const {
  std::string out = "config error";
  if (!where.empty()) out += " (" + where + ")";
  if (!key.empty()) out += ": " + key;
  return out + ": " + reason;
}

environment process_environment() {
  environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::vector<std::string> known_keys() {
  std::vector<std::string> out;
  for (const auto& d : schema()) out.push_back(d.section + "." + d.key);
  return out;
}

std::variant<settings, config_error> load_settings_from_text(const std::string& text,
                                                             const std::string& where,
                                                             const environment& env) {
  settings s;
  auto parsed = parse_ini(text);
  if (auto* err = std::get_if<ini_error>(&parsed))
    return config_error{"", where + ":" + std::to_string(err->line), err->message};
  const auto& doc = std::get<ini_document>(parsed);
  const auto& defs = schema();
  for (const auto& section_entry : doc) {
    // Named references, not structured bindings: clang 14 (the fuzz build) cannot capture those.
    const auto& section = section_entry.first;
    const auto& keys = section_entry.second;
    bool section_known =
        std::any_of(defs.begin(), defs.end(), [&](const key_def& d) { return d.section == section; });
    if (!section_known) {
      int line = keys.empty() ? 0 : keys.begin()->second.line;
      std::string loc = where;
      if (line) loc.append(":").append(std::to_string(line));
      return config_error{section, loc, "unknown section"};
    }
    for (const auto& key_entry : keys) {
      const auto& key = key_entry.first;
      const auto& entry = key_entry.second;
      auto it = std::find_if(defs.begin(), defs.end(),
                             [&](const key_def& d) { return d.section == section && d.key == key; });
      std::string loc = where + ":" + std::to_string(entry.line);
      if (it == defs.end()) return config_error{section + "." + key, loc, "unknown key"};
      if (auto e = it->apply(s, entry.value)) return config_error{section + "." + key, loc, *e};
    }
  }
  for (const auto& env_entry : env) {
    const auto& name = env_entry.first;
    const auto& value = env_entry.second;
    if (name.rfind("SWITCHBOARD_", 0) != 0) continue;
    auto it = std::find_if(defs.begin(), defs.end(), [&](const key_def& d) { return env_name(d) == name; });
    if (it == defs.end())
      return config_error{"", "env " + name, "unknown variable (no such configuration key)"};
    if (auto e = it->apply(s, value)) return config_error{it->section + "." + it->key, "env " + name, *e};
  }
  if (auto e = cross_check(s, where)) return *e;
  return s;
}

std::variant<settings, config_error> load_settings(const std::string& path, const environment& env) {
  std::string text;
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return config_error{"", path, "cannot open the configuration file"};
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  return load_settings_from_text(text, path.empty() ? "defaults" : path, env);
}

}  // namespace switchboard::config
