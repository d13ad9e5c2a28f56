// Subcommand dispatch for the switchboard binary.
#include "server/daemon/cli.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <pqxx/connection>
#include <thread>

#include "config/settings.hpp"
#include "protocol/clock.hpp"
#include "protocol/fields.hpp"
#include "protocol/json_util.hpp"
#include "protocol/validate.hpp"
#include "server/base/password_hasher.hpp"
#include "server/core/token_cache.hpp"
#include "server/daemon/node.hpp"
#include "server/jobs/governance.hpp"
#include "server/ops/logging.hpp"
#include "storage/call_store.hpp"
#include "storage/db_pool.hpp"
#include "storage/governance_store.hpp"
#include "storage/media_backend.hpp"
#include "storage/migrator.hpp"
#include "storage/org_store.hpp"
#include "storage/statements.hpp"
#include "storage/user_store.hpp"
#include "switchboard_version.hpp"

namespace switchboard::server {

namespace {

constexpr const char* usage =
    "usage: switchboard <command> [options]\n"
    "  serve        --config FILE   run the server\n"
    "  migrate      --config FILE   apply database migrations and exit\n"
    "  check-config --config FILE   validate the configuration and exit\n"
    "  version                      print the version\n"
    "  org create   --config FILE --name NAME --admin-name NAME --admin-mobile E164 --admin-password PW\n"
    "  org seed     --config FILE --org ID --count N --first-mobile E164 --tokens-out FILE [--name-prefix "
    "P]\n"
    "               adds N password-less members with consecutive mobile numbers and writes one\n"
    "               login token per member to FILE (mode 0600, lines: user_id mobile token);\n"
    "               for load tests and demos\n"
    "  org credit-minutes --config FILE --org ID --minutes N --ref TEXT\n"
    "               adds a package of N call minutes (an operator's billing system runs it after a\n"
    "               purchase; TEXT is its reference) and prints the package and the new balance\n"
    "  org purge    --config FILE --org ID\n"
    "               purges an organization its owner deleted now, rather than after\n"
    "               governance.org_purge_delay_s (chunked; run it again after an interruption)\n"
    "Every config key can be overridden with SWITCHBOARD_<SECTION>_<KEY>.\n";

struct parsed_args {
  std::map<std::string, std::string> opts;
  std::string error;
};

// "--key value" or "--key=value" pairs; `allowed` lists the accepted keys.
parsed_args parse_opts(const std::vector<std::string>& a, std::size_t from,
                       const std::vector<std::string>& allowed) {
  parsed_args out;
  for (std::size_t i = from; i < a.size(); ++i) {
    std::string k = a[i];
    if (k.rfind("--", 0) != 0) {
      out.error = "unexpected argument '" + k + "'";
      return out;
    }
    std::string v;
    auto eq = k.find('=');
    if (eq != std::string::npos) {
      v = k.substr(eq + 1);
      k = k.substr(0, eq);
    } else if (i + 1 < a.size()) {
      v = a[++i];
    } else {
      out.error = "option " + k + " needs a value";
      return out;
    }
    k = k.substr(2);
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      out.error = "unknown option --" + k;
      return out;
    }
    out.opts[k] = v;
  }
  return out;
}

std::optional<config::settings> load_config(const std::map<std::string, std::string>& opts) {
  auto it = opts.find("config");
  auto loaded = config::load_settings(it == opts.end() ? "" : it->second, config::process_environment());
  if (auto* err = std::get_if<config::config_error>(&loaded)) {
    std::cerr << "switchboard: " << err->to_string() << "\n";
    return std::nullopt;
  }
  return std::get<config::settings>(std::move(loaded));
}

// libpq's own parser judges the connection string, so check-config agrees with what serve will do.
std::optional<std::string> check_database_url(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (!opts) {
    std::string why = err ? err : "cannot parse";
    if (err) PQfreemem(err);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return why;
  }
  PQconninfoFree(opts);
  return std::nullopt;
}

int cmd_check_config(const std::map<std::string, std::string>& opts) {
  auto cfg = load_config(opts);
  if (!cfg) return 2;
  if (auto e = check_database_url(cfg->database.url)) {
    std::cerr << "switchboard: config error: database.url: " << *e << "\n";
    return 2;
  }
  std::cout << "configuration OK (" << (opts.count("config") ? opts.at("config") : std::string("defaults"))
            << ")\n";
  return 0;
}

int cmd_migrate(const std::map<std::string, std::string>& opts) {
  auto cfg = load_config(opts);
  if (!cfg) return 2;
  try {
    pqxx::connection conn(storage::with_connect_timeout(cfg->database.url, cfg->database.connect_timeout_s));
    storage::migrator m(conn, storage::builtin_migrations());
    auto rep = m.migrate();
    for (const auto& name : rep.applied) std::cout << "applied " << name << "\n";
    std::cout << "schema at version " << rep.to_version << " (was " << rep.from_version << ")\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "switchboard: migrate failed: " << e.what() << "\n";
    return 1;
  }
}

int cmd_serve(const std::map<std::string, std::string>& opts) {
  auto cfg = load_config(opts);
  if (!cfg) return 2;
  if (auto e = check_database_url(cfg->database.url)) {
    std::cerr << "switchboard: config error: database.url: " << *e << "\n";
    return 2;
  }
  std::shared_ptr<spdlog::logger> log;
  try {
    log = make_logger(cfg->logging);
  } catch (const std::exception& e) {
    std::cerr << "switchboard: config error: logging.file: " << e.what() << "\n";
    return 2;
  }
  int rc = node(*cfg, log).serve();
  spdlog::shutdown();
  return rc;
}

// Checks the schema version against the binary's; false (with a message) when they differ.
bool schema_is_current(pqxx::connection& conn) {
  storage::migrator m(conn, storage::builtin_migrations());
  int v = m.current_version();
  if (v == storage::latest_builtin_version()) return true;
  std::cerr << "switchboard: the schema is at version " << v << ", this binary needs "
            << storage::latest_builtin_version() << ": run `switchboard migrate` first\n";
  return false;
}

int cmd_org_create(const std::map<std::string, std::string>& opts) {
  for (const char* k : {"name", "admin-name", "admin-mobile", "admin-password"}) {
    if (!opts.count(k) || opts.at(k).empty()) {
      std::cerr << "switchboard: org create needs --" << k << "\n" << usage;
      return 2;
    }
  }
  auto cfg = load_config(opts);
  if (!cfg) return 2;
  const auto& name = opts.at("name");
  const auto& admin_name = opts.at("admin-name");
  const auto& mobile = opts.at("admin-mobile");
  const auto& password = opts.at("admin-password");
  if (name.size() > 200 || !protocol::is_valid_utf8(name)) {
    std::cerr << "switchboard: --name must be 1 to 200 bytes of UTF-8\n";
    return 2;
  }
  if (admin_name.size() > 200 || !protocol::is_valid_utf8(admin_name)) {
    std::cerr << "switchboard: --admin-name must be 1 to 200 bytes of UTF-8\n";
    return 2;
  }
  if (!protocol::is_e164(mobile)) {
    std::cerr << "switchboard: --admin-mobile must be E.164: '+', then 8 to 15 digits, the first not 0\n";
    return 2;
  }
  if (password.size() < 8 || password.size() > 256) {
    std::cerr << "switchboard: --admin-password must be 8 to 256 bytes\n";
    return 2;
  }
  try {
    pqxx::connection conn(storage::with_connect_timeout(cfg->database.url, cfg->database.connect_timeout_s));
    if (!schema_is_current(conn)) return 1;
    storage::prepare_all(conn);
    auto created = storage::org_store::create_with_owner(
        conn, name,
        storage::new_owner{admin_name, mobile, password_hasher::hash(password, cfg->auth.scrypt_log2_n)});
    boost::json::object out{{"org", std::to_string(created.org_id)},
                            {"user", std::to_string(created.user_id)}};
    std::cout << boost::json::serialize(out) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "switchboard: org create failed: " << e.what() << "\n";
    return 1;
  }
}

std::optional<std::int64_t> parse_positive(const std::string& s, std::int64_t max) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  auto v = std::stoll(s);
  if (v < 1 || v > max) return std::nullopt;
  return v;
}

int cmd_org_credit_minutes(const std::map<std::string, std::string>& opts) {
  for (const char* k : {"org", "minutes", "ref"}) {
    if (!opts.count(k) || opts.at(k).empty()) {
      std::cerr << "switchboard: org credit-minutes needs --" << k << "\n" << usage;
      return 2;
    }
  }
  auto org = protocol::parse_id(opts.at("org"));
  auto minutes = parse_positive(opts.at("minutes"), 1000000000);
  const auto& ref = opts.at("ref");
  if (org <= 0) {
    std::cerr << "switchboard: --org must be an organization id\n";
    return 2;
  }
  if (!minutes) {
    std::cerr << "switchboard: --minutes must be a whole number from 1 to 1000000000\n";
    return 2;
  }
  if (ref.size() > 200 || !protocol::is_valid_utf8(ref)) {
    std::cerr << "switchboard: --ref must be 1 to 200 bytes of UTF-8\n";
    return 2;
  }
  auto cfg = load_config(opts);
  if (!cfg) return 2;
  try {
    pqxx::connection conn(storage::with_connect_timeout(cfg->database.url, cfg->database.connect_timeout_s));
    if (!schema_is_current(conn)) return 1;
    storage::prepare_all(conn);
    if (!storage::org_store::exists(conn, org)) {
      std::cerr << "switchboard: organization " << org << " not found\n";
      return 1;
    }
    auto [package, balance] = storage::call_store::credit(conn, org, *minutes, ref, protocol::now_ms());
    boost::json::object out{{"package", std::to_string(package)}, {"balance_minutes", balance}};
    std::cout << boost::json::serialize(out) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "switchboard: org credit-minutes failed: " << e.what() << "\n";
    return 1;
  }
}

int cmd_org_seed(const std::map<std::string, std::string>& opts) {
  for (const char* k : {"org", "count", "first-mobile", "tokens-out"}) {
    if (!opts.count(k) || opts.at(k).empty()) {
      std::cerr << "switchboard: org seed needs --" << k << "\n" << usage;
      return 2;
    }
  }
  constexpr std::int64_t max_count = 1000000;
  auto org = parse_positive(opts.at("org"), std::numeric_limits<std::int64_t>::max() / 10);
  auto count = parse_positive(opts.at("count"), max_count);
  if (!org) {
    std::cerr << "switchboard: --org must be an organization id\n";
    return 2;
  }
  if (!count) {
    std::cerr << "switchboard: --count must be 1 to " << max_count << "\n";
    return 2;
  }
  const auto& first = opts.at("first-mobile");
  if (!protocol::is_e164(first)) {
    std::cerr << "switchboard: --first-mobile must be E.164: '+', then 8 to 15 digits, the first not 0\n";
    return 2;
  }
  // Consecutive numbers of the same length: the last must not need another digit.
  std::string digits = first.substr(1);
  std::uint64_t start = std::stoull(digits);
  std::string last = std::to_string(start + static_cast<std::uint64_t>(*count) - 1);
  if (last.size() != digits.size()) {
    std::cerr << "switchboard: --first-mobile " << first << " leaves no room for " << *count
              << " consecutive numbers of the same length\n";
    return 2;
  }
  std::string prefix = opts.count("name-prefix") ? opts.at("name-prefix") : "Member";
  if (prefix.empty() || prefix.size() > 150 || !protocol::is_valid_utf8(prefix)) {
    std::cerr << "switchboard: --name-prefix must be 1 to 150 bytes of UTF-8\n";
    return 2;
  }
  auto cfg = load_config(opts);
  if (!cfg) return 2;
  const auto& path = opts.at("tokens-out");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::cerr << "switchboard: cannot write --tokens-out " << path << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  std::FILE* out = ::fdopen(fd, "w");
  try {
    pqxx::connection conn(storage::with_connect_timeout(cfg->database.url, cfg->database.connect_timeout_s));
    if (!schema_is_current(conn)) {
      std::fclose(out);
      return 1;
    }
    storage::prepare_all(conn);
    if (!storage::org_store::exists(conn, *org)) {
      std::fclose(out);
      std::cerr << "switchboard: no organization " << *org << "\n";
      return 1;
    }
    auto expires = protocol::now_ms() + static_cast<std::int64_t>(cfg->auth.token_ttl_s) * 1000;
    constexpr std::int64_t chunk = 5000;  // one transaction each: a few hundred ms, bounded memory
    std::int64_t done = 0;
    std::int64_t first_user = 0;
    while (done < *count) {
      std::vector<storage::seed_user> batch;
      std::vector<std::string> tokens;
      for (std::int64_t i = done; i < std::min(*count, done + chunk); ++i) {
        auto token = new_token();
        std::string name = prefix;
        name += ' ';
        name += std::to_string(i + 1);
        std::string mobile = "+";
        mobile += std::to_string(start + static_cast<std::uint64_t>(i));
        batch.push_back({std::move(name), std::move(mobile), token_hash(token)});
        tokens.push_back(std::move(token));
      }
      auto ids = storage::org_store::seed_members(conn, *org, batch, expires);
      if (!first_user && !ids.empty()) first_user = ids.front();
      for (std::size_t i = 0; i < ids.size(); ++i)
        std::fprintf(out, "%lld %s %s\n", static_cast<long long>(ids[i]), batch[i].mobile.c_str(),
                     tokens[i].c_str());
      done += static_cast<std::int64_t>(batch.size());
    }
    if (std::fclose(out) != 0) {
      std::cerr << "switchboard: writing " << path << " failed: " << std::strerror(errno) << "\n";
      return 1;
    }
    boost::json::object res{{"org", std::to_string(*org)},
                            {"created", done},
                            {"first_user", std::to_string(first_user)},
                            {"tokens_file", path}};
    std::cout << boost::json::serialize(res) << "\n";
    return 0;
  } catch (const pqxx::unique_violation&) {
    std::fclose(out);
    std::cerr << "switchboard: org seed failed: a mobile number in " << first << " .. +" << last
              << " is already a member of organization " << *org << " (nothing of that chunk was stored)\n";
    return 1;
  } catch (const std::exception& e) {
    std::fclose(out);
    std::cerr << "switchboard: org seed failed: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int cmd_org_purge(const std::map<std::string, std::string>& opts) {
  if (!opts.count("org") || opts.at("org").empty()) {
    std::cerr << "switchboard: org purge needs --org\n" << usage;
    return 2;
  }
  auto org = protocol::parse_id(opts.at("org"));
  if (org <= 0) {
    std::cerr << "switchboard: --org must be an organization id\n";
    return 2;
  }
  auto cfg = load_config(opts);
  if (!cfg) return 2;
  auto log = make_logger(cfg->logging);
  try {
    pqxx::connection conn(storage::with_session_guards(
        storage::with_connect_timeout(cfg->database.url, cfg->database.connect_timeout_s)));
    if (!schema_is_current(conn)) return 1;
    storage::prepare_all(conn);
    if (!storage::governance_store::deleting(conn, org)) {
      std::cerr << "switchboard: organization " << org
                << " is not being deleted (its owner deletes it with DELETE /v1/admin/org)\n";
      return 1;
    }
    auto media = storage::make_local_media_backend(cfg->media.dir);
    media->open();
    std::int64_t rows = 0;
    bool done = false;
    // The same pace as the server's purge: governance.chunk_pause_ms between chunks.
    auto pause = std::chrono::milliseconds(cfg->governance.chunk_pause_ms);
    purge_organization(
        conn, org, cfg->governance.purge_chunk, *media, cfg->media.dir, *log,
        [pause] {
          std::this_thread::sleep_for(pause);
          return false;
        },
        [&](const storage::purge_step& s) {
          rows += s.rows;
          done = s.finished;
        });
    boost::json::object out{{"org", std::to_string(org)}, {"purged", done}, {"rows", rows}};
    std::cout << boost::json::serialize(out) << "\n";
    return done ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "switchboard: org purge failed (run it again to resume): " << e.what() << "\n";
    return 1;
  }
}

int run_cli(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  const std::string& cmd = args[0];
  if (cmd == "version" || cmd == "--version") {
    std::cout << "switchboard " << SWITCHBOARD_VERSION << " (schema " << storage::latest_builtin_version()
              << ")\n";
    return 0;
  }
  std::size_t from = 1;
  std::vector<std::string> allowed{"config"};
  if (cmd == "org") {
    if (args.size() < 2 ||
        (args[1] != "create" && args[1] != "seed" && args[1] != "credit-minutes" && args[1] != "purge")) {
      std::cerr << "switchboard: unknown org subcommand\n" << usage;
      return 2;
    }
    from = 2;
    if (args[1] == "create")
      allowed = {"config", "name", "admin-name", "admin-mobile", "admin-password"};
    else if (args[1] == "credit-minutes")
      allowed = {"config", "org", "minutes", "ref"};
    else if (args[1] == "purge")
      allowed = {"config", "org"};
    else
      allowed = {"config", "org", "count", "first-mobile", "tokens-out", "name-prefix"};
  } else if (cmd != "serve" && cmd != "migrate" && cmd != "check-config") {
    std::cerr << "switchboard: unknown command '" << cmd << "'\n" << usage;
    return 2;
  }
  auto parsed = parse_opts(args, from, allowed);
  if (!parsed.error.empty()) {
    std::cerr << "switchboard: " << parsed.error << "\n" << usage;
    return 2;
  }
  if (cmd == "serve") return cmd_serve(parsed.opts);
  if (cmd == "migrate") return cmd_migrate(parsed.opts);
  if (cmd == "check-config") return cmd_check_config(parsed.opts);
  if (args[1] == "seed") return cmd_org_seed(parsed.opts);
  if (args[1] == "credit-minutes") return cmd_org_credit_minutes(parsed.opts);
  if (args[1] == "purge") return cmd_org_purge(parsed.opts);
  return cmd_org_create(parsed.opts);
}

}  // namespace switchboard::server
