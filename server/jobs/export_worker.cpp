// Export archives: JSON Lines files written page by page, then packed with the media bytes into a
// .tar.gz by libarchive.
#include "server/jobs/export_worker.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

#include "server/base/secret_box.hpp"

namespace switchboard::server {

namespace fs = std::filesystem;

namespace {

// Leftovers of an export a crash interrupted are deleted once this old.
constexpr auto leftover_age = std::chrono::hours(6);
constexpr int expire_batch = 100;

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return hex_of(raw);
}

// One JSON Lines file being written.
class jsonl_file {
 public:
  explicit jsonl_file(const fs::path& p) : f_(std::fopen(p.c_str(), "wb")) {
    if (!f_) throw std::runtime_error("cannot create " + p.string());
  }
  ~jsonl_file() {
    if (f_) std::fclose(f_);
  }
  void operator()(const boost::json::object& line) {
    auto s = boost::json::serialize(line);
    s.push_back('\n');
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size())
      throw std::runtime_error("writing an export failed");
  }
  void close() {
    if (std::fclose(f_) != 0) throw std::runtime_error("writing an export failed");
    f_ = nullptr;
  }

 private:
  std::FILE* f_;
};

// The archive: a gzip-compressed POSIX tar, written by libarchive to one file.
class tar_gz {
 public:
  explicit tar_gz(const fs::path& p) : a_(archive_write_new(), &archive_write_free) {
    if (!a_ || archive_write_add_filter_gzip(a_.get()) != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(a_.get()) != ARCHIVE_OK ||
        archive_write_open_filename(a_.get(), p.c_str()) != ARCHIVE_OK)
      fail("cannot create the archive");
  }
  // Adds `name` with `size` bytes, read through `read(offset, buf, n)`.
  template <class Read>
  void add(const std::string& name, std::uint64_t size, Read read) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), &archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_mtime(e.get(), std::time(nullptr), 0);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) fail("cannot add " + name);
    std::vector<char> buf(256 * 1024);
    for (std::uint64_t at = 0; at < size;) {
      auto n = read(at, buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), size - at)));
      if (n == 0) throw std::runtime_error(name + " ended early");
      if (archive_write_data(a_.get(), buf.data(), n) < 0) fail("cannot write " + name);
      at += n;
    }
  }
  void close() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) fail("cannot finish the archive");
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    const char* why = a_ ? archive_error_string(a_.get()) : nullptr;
    throw std::runtime_error(what + (why ? std::string(": ") + why : std::string()));
  }
  std::unique_ptr<archive, decltype(&archive_write_free)> a_;
};

}  // namespace

export_worker::export_worker(services& ctx, storage::query_deadline deadline)
    : ctx_(ctx),
      worker_(ctx, deadline, "export worker", poll, poll, [this](pqxx::connection& c) { tick(c); }) {}

void export_worker::tick(pqxx::connection& c) {
  if (std::chrono::steady_clock::now() >= next_expiry_) {
    expire(c);
    // Once a minute, or at the exports' own lifetime when that is shorter.
    next_expiry_ = std::chrono::steady_clock::now() +
                   std::min<std::chrono::seconds>(std::chrono::minutes(1),
                                                  std::chrono::seconds(ctx_.cfg.governance.export_ttl_s));
  }
  while (!stopping()) {
    auto e = storage::export_store::claim(c, lease_s);
    if (!e) return;
    write(c, *e);
  }
}

void export_worker::expire(pqxx::connection& c) {
  const fs::path root = fs::path(ctx_.cfg.media.dir);
  for (const auto& file : storage::export_store::expire(c, expire_batch)) {
    std::error_code ec;
    fs::remove(root / file, ec);
  }
  std::error_code ec;
  for (fs::directory_iterator it(root / "exports", ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.empty() || name[0] != '.') continue;
    std::error_code age_ec;
    auto mtime = fs::last_write_time(it->path(), age_ec);
    if (!age_ec && fs::file_time_type::clock::now() - mtime > leftover_age)
      fs::remove_all(it->path(), age_ec);
  }
}

void export_worker::write(pqxx::connection& c, const storage::export_row& e) {
  using storage::export_store;
  const fs::path root = fs::path(ctx_.cfg.media.dir);
  const std::string tag = std::to_string(e.org) + "-" + std::to_string(e.id) + "-" + random_hex(8);
  const fs::path work = root / "exports" / (".work-" + tag);
  const fs::path partial = root / "exports" / (".partial-" + tag + ".tar.gz");
  const std::string file = "exports/" + tag + ".tar.gz";
  auto started = std::chrono::steady_clock::now();
  storage::export_scope scope{e.org, e.user};
  try {
    fs::create_directories(work);
    auto jsonl = [&](const char* name, auto&& fill) {
      jsonl_file f(work / name);
      fill([&f](const boost::json::object& line) { f(line); });
      f.close();
    };
    jsonl("org.json", [&](const storage::line_sink& out) { out(export_store::organization(c, scope)); });
    jsonl("departments.jsonl",
          [&](const storage::line_sink& out) { export_store::departments(c, scope, out); });
    jsonl("users.jsonl", [&](const storage::line_sink& out) { export_store::users(c, scope, out); });
    std::vector<std::int64_t> convs;
    jsonl("conversations.jsonl",
          [&](const storage::line_sink& out) { convs = export_store::conversations(c, scope, out); });
    jsonl("members.jsonl",
          [&](const storage::line_sink& out) { export_store::members(c, scope, convs, out); });
    // Messages: 5% done before them, 80% theirs, 15% the archive and the media.
    auto total = std::max<std::int64_t>(1, export_store::message_count(c, scope, convs));
    std::int64_t written = 0;
    jsonl("messages.jsonl", [&](const storage::line_sink& out) {
      auto counted = [&](const boost::json::object& m) {
        out(m);
        ++written;
      };
      for (auto conv : convs) {
        for (std::int64_t after = 0;;) {
          if (stopping()) throw std::runtime_error("the node is stopping");
          auto last = export_store::messages(c, e.org, conv, after, messages_per_page, counted);
          if (last == 0) break;
          after = last;
          export_store::progress(c, e, 0.05 + 0.8 * std::min(1.0, static_cast<double>(written) / total),
                                 lease_s);
        }
      }
    });
    auto media = export_store::media(c, scope);
    {
      tar_gz tar(partial);
      for (const char* name : {"org.json", "departments.jsonl", "users.jsonl", "conversations.jsonl",
                               "members.jsonl", "messages.jsonl"}) {
        auto reader = storage::open_file((work / name).string());
        if (!reader) throw std::runtime_error(std::string("cannot read back ") + name);
        tar.add(name, reader->size(),
                [&](std::uint64_t at, char* buf, std::size_t n) { return reader->read(at, buf, n); });
      }
      std::size_t done = 0;
      for (const auto& m : media) {
        if (stopping()) throw std::runtime_error("the node is stopping");
        auto reader = ctx_.media.open(m.sha256);
        if (!reader) {
          ctx_.log->warn("export {}: the bytes of media {} are missing; left out", e.id, m.id);
          continue;
        }
        tar.add("media/" + std::to_string(m.id), reader->size(),
                [&](std::uint64_t at, char* buf, std::size_t n) { return reader->read(at, buf, n); });
        if (++done % 100 == 0)
          export_store::progress(c, e, 0.85 + 0.15 * static_cast<double>(done) / media.size(), lease_s);
      }
      tar.close();
    }
    fs::rename(partial, root / file);
    auto size = static_cast<std::int64_t>(fs::file_size(root / file));
    export_store::finish(c, e, file, size, ctx_.cfg.governance.export_ttl_s);
    ctx_.stats.exports_ready_total.fetch_add(1, std::memory_order_relaxed);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    ctx_.log->info("export {} of org {} ready: {} messages, {} media, {} bytes in {} ms", e.id, e.org,
                   written, media.size(), size, ms.count());
  } catch (const std::exception& ex) {
    std::error_code ec;
    fs::remove(partial, ec);
    fs::remove_all(work, ec);
    if (stopping()) return;  // its lease passes and a node starts it over
    ctx_.stats.exports_failed_total.fetch_add(1, std::memory_order_relaxed);
    ctx_.log->error("export {} of org {} failed: {}", e.id, e.org, ex.what());
    export_store::fail(c, e, ex.what());
    return;
  }
  std::error_code ec;
  fs::remove_all(work, ec);
}

}  // namespace switchboard::server
