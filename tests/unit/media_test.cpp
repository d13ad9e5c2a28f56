// Media: the signature checks behind "the bytes must match the declared type", and the local
// content-addressed store (atomic commit, dedup, ranges, no leftovers from abandoned uploads).
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include "protocol/http_range.hpp"
#include "protocol/media_types.hpp"
#include "storage/media_backend.hpp"

using namespace switchboard;

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/sb-media-test.XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}

int entries(const std::string& dir) {
  int n = 0;
  if (auto* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
    ::closedir(d);
  }
  return n;
}

void remove_tree(const std::string& dir) {
  std::string cmd = "rm -rf '" + dir + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

}  // namespace

TEST_CASE("media types: each accepted type's signature, and bytes that are not it") {
  using protocol::media_matches;
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  CHECK(media_matches("image/png", png));
  CHECK_FALSE(media_matches("image/png", "GIF89a......"));
  CHECK(media_matches("image/jpeg", "\xFF\xD8\xFF\xE0"));
  CHECK_FALSE(media_matches("image/jpeg", "\xFF\xD8"));
  CHECK(media_matches("image/gif", "GIF87a"));
  CHECK(media_matches("image/webp", std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)));
  CHECK_FALSE(media_matches("image/webp", std::string("RIFF\x10\0\0\0WAVEfmt ", 16)));
  CHECK(media_matches("audio/ogg", "OggS\0\x02"));
  CHECK(media_matches("audio/amr", "#!AMR\n"));
  CHECK(media_matches("audio/mpeg", "ID3\x04"));
  CHECK(media_matches("audio/mpeg", "\xFF\xFB\x90\x64"));
  CHECK(media_matches("audio/mp4", std::string("\0\0\0\x20"
                                               "ftypM4A ",
                                               12)));
  CHECK(media_matches("audio/mp4", "\xFF\xF1\x50\x80"));
  CHECK(media_matches("application/pdf", "%PDF-1.7"));
  CHECK_FALSE(media_matches("application/pdf", "<html>"));
  CHECK(media_matches("application/octet-stream", ""));
  CHECK_FALSE(media_matches("text/html", "<html>"));
  CHECK_FALSE(protocol::is_accepted_media_type("image/svg+xml"));
  CHECK(protocol::media_fits("image/png", protocol::media_kind::image));
  CHECK_FALSE(protocol::media_fits("application/pdf", protocol::media_kind::image));
  CHECK(protocol::media_fits("audio/ogg", protocol::media_kind::voice));
  CHECK(protocol::media_fits("image/png", protocol::media_kind::file));
}

TEST_CASE("local media store: committed by hash under a two-level fan-out, stored once, read in ranges") {
  auto dir = temp_dir();
  auto store = storage::make_local_media_backend(dir);
  store->open();
  const std::string hello_sha = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
  {
    auto w = store->begin();
    w->write("hel", 3);
    w->write("lo", 2);
    CHECK(w->size() == 5);
    CHECK(w->finish() == hello_sha);
    // Finished but not named yet: nothing under the hash.
    CHECK_FALSE(store->exists(hello_sha));
    w->commit();
  }
  struct stat st {};
  CHECK(::stat((dir + "/2c/f2/" + hello_sha).c_str(), &st) == 0);
  CHECK(store->exists(hello_sha));
  // The same bytes again: one object, no temporary left.
  {
    auto w = store->begin();
    w->write("hello", 5);
    CHECK(w->finish() == hello_sha);
    w->commit();
  }
  CHECK(entries(dir + "/2c/f2") == 1);
  CHECK(entries(dir + "/tmp") == 0);
  // Ranges.
  auto r = store->open(hello_sha);
  REQUIRE(r);
  CHECK(r->size() == 5);
  char buf[8] = {};
  CHECK(r->read(1, buf, 3) == 3);
  CHECK(std::string(buf, 3) == "ell");
  CHECK(r->read(5, buf, 3) == 0);
  // An abandoned upload leaves nothing behind.
  {
    auto w = store->begin();
    w->write("partial", 7);
    CHECK(entries(dir + "/tmp") == 1);
  }
  CHECK(entries(dir + "/tmp") == 0);
  // A finished upload dropped before commit leaves nothing either.
  {
    auto w = store->begin();
    w->write("finished", 8);
    w->finish();
  }
  CHECK(entries(dir + "/tmp") == 0);
  // A temporary a crash left behind is swept once it is old enough, not before.
  {
    std::ofstream(dir + "/tmp/upload-leftover") << "half";
    CHECK(store->sweep_temporaries(3600) == 0);
    struct timespec old[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
    REQUIRE(::utimensat(AT_FDCWD, (dir + "/tmp/upload-leftover").c_str(), old, 0) == 0);
    CHECK(store->sweep_temporaries(3600) == 1);
    CHECK(entries(dir + "/tmp") == 0);
  }
  // Only hash names are ever opened.
  CHECK_FALSE(store->open("../../etc/passwd"));
  CHECK_FALSE(store->exists("2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"));
  store->remove(hello_sha);
  CHECK_FALSE(store->exists(hello_sha));
  remove_tree(dir);
}

TEST_CASE("Range headers: one range served, the rest the whole object or 416") {
  using protocol::byte_range;
  using protocol::parse_range;
  using k = byte_range::kind;
  auto r = parse_range("bytes=0-9", 100);
  CHECK((r.what == k::partial && r.offset == 0 && r.length == 10));
  r = parse_range("bytes=90-", 100);
  CHECK((r.what == k::partial && r.offset == 90 && r.length == 10));
  r = parse_range("bytes=-30", 100);
  CHECK((r.what == k::partial && r.offset == 70 && r.length == 30));
  r = parse_range("bytes=-300", 100);  // more than there is: all of it
  CHECK((r.what == k::partial && r.offset == 0 && r.length == 100));
  r = parse_range("bytes=50-5000", 100);  // clamped to the end
  CHECK((r.what == k::partial && r.offset == 50 && r.length == 50));
  r = parse_range("BYTES = 1-1", 100);
  CHECK(r.what == k::whole);  // "bytes" must be followed by '=' at once
  r = parse_range("Bytes=1-1", 100);
  CHECK((r.what == k::partial && r.offset == 1 && r.length == 1));
  CHECK(parse_range("bytes=100-", 100).what == k::unsatisfiable);
  CHECK(parse_range("bytes=-0", 100).what == k::unsatisfiable);
  CHECK(parse_range("bytes=0-", 0).what == k::unsatisfiable);
  // Not served as a range: several ranges, other units, nonsense, numbers past 64 bits.
  for (const char* h : {"bytes=0-1,3-4", "items=0-1", "bytes=5-2", "bytes=a-b", "bytes=", "bytes=-",
                        "bytes=99999999999999999999-", "", "bytes=1-2-3"}) {
    INFO(h);
    r = parse_range(h, 100);
    CHECK((r.what == k::whole && r.offset == 0 && r.length == 100));
  }
}

TEST_CASE("If-None-Match: lists, weak tags and * match, other tags do not") {
  using protocol::etag_matches;
  const std::string tag = "\"abc\"";
  CHECK(etag_matches("\"abc\"", tag));
  CHECK(etag_matches("W/\"abc\"", tag));
  CHECK(etag_matches("\"x\", \"abc\"", tag));
  CHECK(etag_matches("*", tag));
  CHECK_FALSE(etag_matches("\"abcd\"", tag));
  CHECK_FALSE(etag_matches("abc", tag));
  CHECK_FALSE(etag_matches("", tag));
  CHECK_FALSE(etag_matches(",,,", tag));
}
