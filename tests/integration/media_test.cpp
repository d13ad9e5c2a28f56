// Media: real uploads to the real binary (every accepted type, mislabelled bytes, size limits,
// quota, dedup, interrupted uploads, Expect: 100-continue), downloads (who may read, ETag, Range),
// image/voice/file messages that name media, admin usage, and garbage collection.
#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "api_client.hpp"
#include "fixture.hpp"
#include "http_client.hpp"
#include "process.hpp"
#include "ws_client.hpp"

using namespace sbtest;
namespace json = boost::json;
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

std::string sha256_hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>(rng() & 0xFF);
  return s;
}

// `n` bytes that start as `type` says.
std::string sample(const std::string& type, std::size_t n = 4096, unsigned seed = 1) {
  static const std::map<std::string, std::string> heads{
      {"image/png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)},
      {"image/jpeg", "\xFF\xD8\xFF\xE0"},
      {"image/gif", "GIF89a"},
      {"image/webp", std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)},
      {"audio/ogg", "OggS"},
      {"audio/mpeg", "ID3\x04"},
      {"audio/mp4", std::string("\0\0\0\x20"
                                "ftypM4A ",
                                12)},
      {"audio/amr", "#!AMR\n"},
      {"application/pdf", "%PDF-1.7\n"},
      {"application/octet-stream", "anything at all"},
  };
  auto body = random_bytes(n, seed);
  const auto& h = heads.at(type);
  body.replace(0, h.size(), h);
  return body;
}

http_reply upload(int port, const std::string& token, const std::string& type, const std::string& bytes,
                  const std::string& query = "") {
  return http_call(port, "POST", "/v1/media" + query, bytes,
                   {{"Authorization", "Bearer " + token}, {"Content-Type", type}});
}

json::object uploaded(int port, const std::string& token, const std::string& type, const std::string& bytes,
                      const std::string& query = "") {
  auto r = upload(port, token, type, bytes, query);
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 201);
  return json::parse(r.body).as_object();
}

std::string error_code_of(const http_reply& r) {
  INFO(r.status << " " << r.body);
  return std::string(json::parse(r.body).at("error").at("code").as_string());
}

http_reply download(int port, const std::string& token, const std::string& id,
                    std::map<std::string, std::string> headers = {}, const std::string& method = "GET") {
  headers["Authorization"] = "Bearer " + token;
  return http_call(port, method, "/v1/media/" + id, "", headers);
}

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

// Stored objects (not temporaries) under the media directory.
int stored_objects(const std::string& media_dir) {
  int n = 0;
  if (!fs::exists(media_dir)) return 0;
  for (const auto& e : fs::recursive_directory_iterator(media_dir))
    if (e.is_regular_file() && e.path().parent_path().filename() != "tmp") ++n;
  return n;
}

int temporaries(const std::string& media_dir) {
  int n = 0;
  if (!fs::exists(media_dir + "/tmp")) return 0;
  for (const auto& e : fs::directory_iterator(media_dir + "/tmp")) {
    (void)e;
    ++n;
  }
  return n;
}

// A raw HTTP exchange over one socket, for what the Beast test client does not do (chunked bodies,
// Expect: 100-continue, hanging up mid-body).
class raw_conn {
 public:
  explicit raw_conn(int port) : sock_(ioc_) {
    sock_.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  }
  void send(const std::string& bytes) { asio::write(sock_, asio::buffer(bytes)); }
  // Reads until `marker` has arrived (or the peer closes); returns everything read so far.
  std::string read_until(const std::string& marker) {
    boost::system::error_code ec;
    while (got_.find(marker) == std::string::npos) {
      char buf[4096];
      auto n = sock_.read_some(asio::buffer(buf), ec);
      if (ec) break;
      got_.append(buf, n);
    }
    return got_;
  }
  void close() {
    boost::system::error_code ec;
    sock_.close(ec);
  }

 private:
  asio::io_context ioc_;
  asio::ip::tcp::socket sock_;
  std::string got_;
};

std::string upload_head(const std::string& token, const std::string& type, const std::string& extra) {
  return "POST /v1/media HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
         "\r\nContent-Type: " + type + "\r\n" + extra + "\r\n";
}

std::string chunked(const std::string& body, std::size_t piece) {
  std::string out;
  char size[32];
  for (std::size_t i = 0; i < body.size(); i += piece) {
    auto n = std::min(piece, body.size() - i);
    std::snprintf(size, sizeof size, "%zx\r\n", n);
    out += size + body.substr(i, n) + "\r\n";
  }
  return out + "0\r\n\r\n";
}

std::string media_dir_of(org_fixture& fx) {
  return fx.srv->dir() + "/media";
}

}  // namespace

TEST_CASE("media: every accepted type uploads, is stored by its hash and downloads byte for byte") {
  org_fixture fx;
  const std::vector<std::string> types{
      "image/png",  "image/jpeg", "image/gif", "image/webp",      "audio/ogg",
      "audio/mpeg", "audio/mp4",  "audio/amr", "application/pdf", "application/octet-stream"};
  unsigned seed = 10;
  for (const auto& type : types) {
    INFO(type);
    auto bytes = sample(type, 3000 + seed, seed);
    ++seed;
    auto m = uploaded(fx.port(), fx.owner.token, type, bytes);
    CHECK(m.at("size").as_int64() == static_cast<std::int64_t>(bytes.size()));
    CHECK(str(m.at("sha256")) == sha256_hex(bytes));
    CHECK(str(m.at("content_type")) == type);
    auto sha = sha256_hex(bytes);
    CHECK(fs::exists(media_dir_of(fx) + "/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha));
    auto d = download(fx.port(), fx.owner.token, str(m.at("media_id")));
    REQUIRE(d.status == 200);
    CHECK(d.body == bytes);
    CHECK(d.headers["content-type"] == type);
    CHECK(d.headers["etag"] == "\"" + sha + "\"");
  }
  // Parameters and case in Content-Type are fine.
  uploaded(fx.port(), fx.owner.token, "Image/PNG; charset=binary", sample("image/png"));
  // A body of several MiB, written and read back in chunks.
  auto big = sample("application/pdf", 3 * 1024 * 1024 + 7, 99);
  auto m = uploaded(fx.port(), fx.owner.token, "application/pdf", big, "?name=report%20Q3.pdf");
  auto d = download(fx.port(), fx.owner.token, str(m.at("media_id")));
  REQUIRE(d.status == 200);
  CHECK(d.body == big);
  CHECK(d.headers["content-disposition"] == "attachment; filename*=UTF-8''report%20Q3.pdf");
  CHECK(d.headers["x-content-type-options"] == "nosniff");
  CHECK(temporaries(media_dir_of(fx)) == 0);
}

TEST_CASE(
    "media: mislabelled bytes, unknown types, bad names and empty bodies are refused and stored nowhere") {
  org_fixture fx;
  auto dir = media_dir_of(fx);
  // A "PNG" that is a GIF, a "PDF" that is HTML, a "JPEG" of two bytes.
  CHECK(error_code_of(upload(fx.port(), fx.owner.token, "image/png", sample("image/gif"))) == "bad_request");
  CHECK(error_code_of(upload(fx.port(), fx.owner.token, "application/pdf", "<html>not a pdf</html>")) ==
        "bad_request");
  CHECK(error_code_of(upload(fx.port(), fx.owner.token, "image/jpeg", "\xFF\xD8")) == "bad_request");
  // Refused on its first bytes while most of a large body is still on its way: the answer still
  // reaches the client, and nothing is kept.
  auto lie = random_bytes(600 * 1024, 5);
  CHECK(error_code_of(upload(fx.port(), fx.owner.token, "image/webp", lie)) == "bad_request");
  CHECK(error_code_of(upload(fx.port(), fx.owner.token, "text/html", "<html>")) == "bad_request");
  CHECK(error_code_of(upload(fx.port(), fx.owner.token, "", "x")) == "bad_request");
  CHECK(error_code_of(upload(fx.port(), fx.owner.token, "application/octet-stream", "")) == "bad_request");
  CHECK(error_code_of(upload(fx.port(), fx.owner.token, "application/octet-stream", "x",
                             "?name=" + std::string(256, 'n'))) == "bad_request");
  CHECK(error_code_of(upload(fx.port(), fx.owner.token, "application/octet-stream", "x", "?name=a%0Ab")) ==
        "bad_request");
  CHECK(error_code_of(upload(fx.port(), fx.owner.token, "application/octet-stream", "x", "?name=%FF")) ==
        "bad_request");
  // No token, a bad token.
  CHECK(upload(fx.port(), "", "image/png", sample("image/png")).status == 401);
  CHECK(upload(fx.port(), "nope", "image/png", sample("image/png")).status == 401);
  CHECK(eventually([&] { return temporaries(dir) == 0; }, std::chrono::seconds(5)));
  CHECK(stored_objects(dir) == 0);
  // The server is fine afterwards, on a new connection.
  uploaded(fx.port(), fx.owner.token, "image/png", sample("image/png"));
}

TEST_CASE("media: bodies over their type's limit are refused with 413 before they are written") {
  org_fixture fx({{"SWITCHBOARD_MEDIA_MAX_IMAGE_BYTES", "100000"},
                  {"SWITCHBOARD_MEDIA_MAX_VOICE_BYTES", "50000"},
                  {"SWITCHBOARD_MEDIA_MAX_FILE_BYTES", "200000"}});
  auto dir = media_dir_of(fx);
  CHECK(upload(fx.port(), fx.owner.token, "image/png", sample("image/png", 100001)).status == 413);
  CHECK(upload(fx.port(), fx.owner.token, "audio/ogg", sample("audio/ogg", 50001)).status == 413);
  CHECK(upload(fx.port(), fx.owner.token, "application/pdf", sample("application/pdf", 200001)).status ==
        413);
  // At the limit is fine; an image's limit does not apply to a file.
  uploaded(fx.port(), fx.owner.token, "image/png", sample("image/png", 100000));
  uploaded(fx.port(), fx.owner.token, "application/octet-stream", sample("application/octet-stream", 150000));
  int before = stored_objects(dir);
  {
    // Chunked, so the length is unknown up front: cut off when the limit passes.
    raw_conn c(fx.port());
    c.send(upload_head(fx.owner.token, "image/png", "Transfer-Encoding: chunked\r\n") +
           chunked(sample("image/png", 300000, 3), 16384));
    auto got = c.read_until("\r\n\r\n");
    CHECK(got.rfind("HTTP/1.1 413", 0) == 0);
  }
  {
    // Expect: 100-continue over the limit: refused before the client sends a byte of the body.
    raw_conn c(fx.port());
    c.send(upload_head(fx.owner.token, "image/png", "Content-Length: 100001\r\nExpect: 100-continue\r\n"));
    auto got = c.read_until("\r\n\r\n");
    CHECK(got.rfind("HTTP/1.1 413", 0) == 0);
  }
  CHECK(eventually([&] { return temporaries(dir) == 0; }, std::chrono::seconds(5)));
  CHECK(stored_objects(dir) == before);
  CHECK(limit_hits(fx.port(), "http_body_size") >= 5);
}

TEST_CASE("media: Expect: 100-continue and chunked uploads within the limit are stored") {
  org_fixture fx;
  auto bytes = sample("image/gif", 70000, 8);
  {
    raw_conn c(fx.port());
    c.send(upload_head(fx.owner.token, "image/gif",
                       "Content-Length: " + std::to_string(bytes.size()) + "\r\nExpect: 100-continue\r\n"));
    auto got = c.read_until("\r\n\r\n");
    REQUIRE(got.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0);
    c.send(bytes);
    got = c.read_until("\"content_type\"");
    CHECK(got.find("HTTP/1.1 201") != std::string::npos);
    CHECK(got.find(sha256_hex(bytes)) != std::string::npos);
  }
  {
    raw_conn c(fx.port());
    c.send(upload_head(fx.owner.token, "image/gif", "Transfer-Encoding: chunked\r\n") + chunked(bytes, 1000));
    auto got = c.read_until("\"content_type\"");
    CHECK(got.rfind("HTTP/1.1 201", 0) == 0);
    CHECK(got.find(sha256_hex(bytes)) != std::string::npos);
  }
}

TEST_CASE("media: an upload cut off mid-body leaves no stored object and no temporary") {
  org_fixture fx;
  auto dir = media_dir_of(fx);
  {
    raw_conn c(fx.port());
    c.send(upload_head(fx.owner.token, "application/pdf", "Content-Length: 1048576\r\n"));
    c.send(sample("application/pdf", 400 * 1024, 4));
    // The temporary exists while the upload is under way...
    CHECK(eventually([&] { return temporaries(dir) == 1; }, std::chrono::seconds(5)));
    c.close();
  }
  // ...and is gone once the connection is.
  CHECK(eventually([&] { return temporaries(dir) == 0; }, std::chrono::seconds(5)));
  CHECK(stored_objects(dir) == 0);
  auto usage = api_client{fx.port(), fx.owner.token}.ok("GET", "/v1/admin/usage");
  CHECK(usage.at("storage_bytes").as_int64() == 0);
  CHECK(usage.at("media").as_int64() == 0);
}

TEST_CASE("media: identical bytes are stored once, each upload has its own id and counts toward usage") {
  org_fixture fx;
  auto mia = fx.add_user(fx.owner, "Mia");
  auto bytes = sample("audio/mpeg", 5000, 21);
  auto a = uploaded(fx.port(), fx.owner.token, "audio/mpeg", bytes);
  auto b = uploaded(fx.port(), mia.token, "audio/mpeg", bytes);
  CHECK(str(a.at("media_id")) != str(b.at("media_id")));
  CHECK(str(a.at("sha256")) == str(b.at("sha256")));
  CHECK(stored_objects(media_dir_of(fx)) == 1);
  auto usage = api_client{fx.port(), fx.owner.token}.ok("GET", "/v1/admin/usage");
  CHECK(usage.at("storage_bytes").as_int64() == 10000);
  CHECK(usage.at("storage_quota_bytes").is_null());
  CHECK(usage.at("members").as_int64() == 2);
  CHECK(usage.at("media").as_int64() == 2);
  // Each uploader reads their own; neither reads the other's, though the bytes are the same.
  CHECK(download(fx.port(), mia.token, str(b.at("media_id"))).status == 200);
  CHECK(download(fx.port(), mia.token, str(a.at("media_id"))).status == 404);
  // Members may not read usage.
  CHECK(api_client{fx.port(), mia.token}.call("GET", "/v1/admin/usage").status == 403);
}

TEST_CASE("media: the storage quota refuses an upload that would pass it and stores nothing") {
  org_fixture fx;
  api_client admin{fx.port(), fx.owner.token};
  admin.ok("PUT", "/v1/admin/policy", json::object{{"storage_quota_mb", 1}});
  auto dir = media_dir_of(fx);
  uploaded(fx.port(), fx.owner.token, "application/octet-stream",
           sample("application/octet-stream", 600000, 1));
  // Over the quota by its Content-Length: refused before the body.
  auto r = upload(fx.port(), fx.owner.token, "application/octet-stream",
                  sample("application/octet-stream", 600000, 2));
  CHECK(r.status == 403);
  CHECK(error_code_of(r) == "quota_exceeded");
  // Chunked (no length): refused once the bytes pass what is left.
  {
    raw_conn c(fx.port());
    c.send(upload_head(fx.owner.token, "application/octet-stream", "Transfer-Encoding: chunked\r\n") +
           chunked(sample("application/octet-stream", 600000, 3), 65536));
    auto got = c.read_until("}}");
    CHECK(got.rfind("HTTP/1.1 403", 0) == 0);
    CHECK(got.find("quota_exceeded") != std::string::npos);
  }
  CHECK(eventually([&] { return temporaries(dir) == 0; }, std::chrono::seconds(5)));
  CHECK(stored_objects(dir) == 1);
  auto usage = admin.ok("GET", "/v1/admin/usage");
  CHECK(usage.at("storage_bytes").as_int64() == 600000);
  CHECK(usage.at("storage_quota_bytes").as_int64() == 1048576);
  // What is left still fits.
  uploaded(fx.port(), fx.owner.token, "application/octet-stream",
           sample("application/octet-stream", 400000, 4));
  // Concurrent uploads cannot pass the quota together: each passes the check before its body (room
  // is left for any one of them), and the count made when each is recorded lets only three in.
  admin.ok("PUT", "/v1/admin/policy", json::object{{"storage_quota_mb", 2}});
  std::vector<std::thread> ts;
  std::atomic<int> stored{0}, refused{0};
  for (int i = 0; i < 6; ++i)
    ts.emplace_back([&, i] {
      auto rr = upload(fx.port(), fx.owner.token, "application/octet-stream",
                       sample("application/octet-stream", 300000, 50 + static_cast<unsigned>(i)));
      (rr.status == 201 ? stored : refused)++;
    });
  for (auto& t : ts) t.join();
  // 2 MiB = 2,097,152; 1,000,000 used: three more fit (1,900,000), the fourth would not.
  CHECK(stored.load() == 3);
  CHECK(refused.load() == 3);
  CHECK(admin.ok("GET", "/v1/admin/usage").at("storage_bytes").as_int64() == 1900000);
}

TEST_CASE("media: only the uploader and members of a conversation it was sent to may download it") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  auto carol = fx.add_user(fx.owner, "Carol");
  auto other = fx.new_org("Elsewhere");
  auto png = sample("image/png", 2048, 31);
  auto m = uploaded(fx.port(), fx.owner.token, "image/png", png);
  auto id = str(m.at("media_id"));
  CHECK(download(fx.port(), fx.owner.token, id).status == 200);
  CHECK(download(fx.port(), bob.token, id).status == 404);
  CHECK(download(fx.port(), other.token, id).status == 404);
  CHECK(download(fx.port(), bob.token, "999999999").status == 404);
  CHECK(download(fx.port(), bob.token, "not-an-id").status == 404);
  CHECK(download(fx.port(), "", id).status == 401);

  ws_client a(fx.port());
  a.hello(fx.owner.token);
  ws_client b(fx.port());
  b.hello(bob.token);
  auto conv = str(a.call("open_direct", {{"user", bob.id}}).at("data").at("conv").at("conv"));
  auto sent = a.call("send", {{"conv", conv},
                              {"client_msg_id", "img-1"},
                              {"type", "image"},
                              {"body", {{"media_id", id}, {"width", 640}, {"height", 480}, {"extra", 1}}}});
  INFO(json::serialize(sent));
  REQUIRE(sent.at("ok").as_bool());
  auto ev = b.wait_event("message");
  REQUIRE(ev);
  CHECK(json::serialize(ev->at("data").at("body")) ==
        json::serialize(json::object{{"media_id", id}, {"width", 640}, {"height", 480}}));
  // Bob is now a member of a conversation it was sent to; Carol is not.
  auto got = download(fx.port(), bob.token, id);
  CHECK(got.status == 200);
  CHECK(got.body == png);
  CHECK(download(fx.port(), carol.token, id).status == 404);
  // Bob may forward it (he can read it); Carol may not send what she cannot read.
  ws_client c(fx.port());
  c.hello(carol.token);
  auto bc = str(b.call("open_direct", {{"user", carol.id}}).at("data").at("conv").at("conv"));
  auto denied = c.call("send", {{"conv", bc},
                                {"client_msg_id", "steal"},
                                {"type", "file"},
                                {"body", {{"media_id", id}, {"name", "x.png"}, {"size", 2048}}}});
  CHECK(str(denied.at("error").at("code")) == "not_found");
  auto fwd = b.call("send", {{"conv", bc},
                             {"client_msg_id", "fwd-1"},
                             {"type", "file"},
                             {"body", {{"media_id", id}, {"name", "photo.png"}, {"size", 2048}}}});
  REQUIRE(fwd.at("ok").as_bool());
  CHECK(download(fx.port(), carol.token, id).status == 200);
  // A member who leaves a group loses access through it.
  auto group = a.call("create_group", {{"name", "G"}, {"members", json::array{bob.id}}});
  REQUIRE(group.at("ok").as_bool());
  auto g = str(group.at("data").at("conv").at("conv"));
  auto m2 = uploaded(fx.port(), fx.owner.token, "image/png", sample("image/png", 1000, 32));
  auto id2 = str(m2.at("media_id"));
  REQUIRE(a.call("send", {{"conv", g},
                          {"client_msg_id", "img-2"},
                          {"type", "image"},
                          {"body", {{"media_id", id2}, {"width", 1}, {"height", 1}}}})
              .at("ok")
              .as_bool());
  CHECK(download(fx.port(), bob.token, id2).status == 200);
  REQUIRE(b.call("leave", {{"conv", g}}).at("ok").as_bool());
  CHECK(download(fx.port(), bob.token, id2).status == 404);
}

TEST_CASE("media: ETag, If-None-Match, Range, If-Range and HEAD") {
  org_fixture fx;
  auto bytes = sample("application/pdf", 100000, 41);
  auto m = uploaded(fx.port(), fx.owner.token, "application/pdf", bytes);
  auto id = str(m.at("media_id"));
  auto etag = "\"" + sha256_hex(bytes) + "\"";
  auto full = download(fx.port(), fx.owner.token, id);
  REQUIRE(full.status == 200);
  CHECK(full.headers["etag"] == etag);
  CHECK(full.headers["accept-ranges"] == "bytes");
  CHECK(full.headers["content-length"] == "100000");

  auto not_modified = download(fx.port(), fx.owner.token, id, {{"If-None-Match", etag}});
  CHECK(not_modified.status == 304);
  CHECK(not_modified.body.empty());
  CHECK(download(fx.port(), fx.owner.token, id, {{"If-None-Match", "W/" + etag}}).status == 304);
  CHECK(download(fx.port(), fx.owner.token, id, {{"If-None-Match", "\"other\", " + etag}}).status == 304);
  CHECK(download(fx.port(), fx.owner.token, id, {{"If-None-Match", "\"other\""}}).status == 200);

  auto part = download(fx.port(), fx.owner.token, id, {{"Range", "bytes=10-19"}});
  CHECK(part.status == 206);
  CHECK(part.body == bytes.substr(10, 10));
  CHECK(part.headers["content-range"] == "bytes 10-19/100000");
  auto tail = download(fx.port(), fx.owner.token, id, {{"Range", "bytes=-5"}});
  CHECK(tail.status == 206);
  CHECK(tail.body == bytes.substr(99995));
  // A download resumed from where it broke off.
  auto rest = download(fx.port(), fx.owner.token, id, {{"Range", "bytes=60000-"}});
  CHECK(rest.status == 206);
  CHECK(rest.body == bytes.substr(60000));
  CHECK(rest.headers["content-range"] == "bytes 60000-99999/100000");
  // Past the end: clamped.
  CHECK(download(fx.port(), fx.owner.token, id, {{"Range", "bytes=99990-200000"}}).body ==
        bytes.substr(99990));
  auto unsatisfiable = download(fx.port(), fx.owner.token, id, {{"Range", "bytes=100000-"}});
  CHECK(unsatisfiable.status == 416);
  CHECK(unsatisfiable.headers["content-range"] == "bytes */100000");
  // Ranges this server does not serve (several, other units, nonsense): the whole object.
  CHECK(download(fx.port(), fx.owner.token, id, {{"Range", "bytes=0-1,5-6"}}).status == 200);
  CHECK(download(fx.port(), fx.owner.token, id, {{"Range", "items=0-1"}}).status == 200);
  CHECK(download(fx.port(), fx.owner.token, id, {{"Range", "bytes=9-2"}}).status == 200);
  // If-Range: the range only while the entity is the one the client has.
  CHECK(download(fx.port(), fx.owner.token, id, {{"Range", "bytes=0-9"}, {"If-Range", etag}}).status == 206);
  CHECK(download(fx.port(), fx.owner.token, id, {{"Range", "bytes=0-9"}, {"If-Range", "\"stale\""}}).status ==
        200);

  auto head = download(fx.port(), fx.owner.token, id, {}, "HEAD");
  CHECK(head.status == 200);
  CHECK(head.headers["content-length"] == "100000");
  CHECK(head.body.empty());
  // After all that, the connection-per-call client and the server agree: one more full read.
  CHECK(download(fx.port(), fx.owner.token, id).body == bytes);
}

TEST_CASE("media: messages check their media (the org's, the type's, sane fields)") {
  org_fixture fx;
  auto bob = fx.add_user(fx.owner, "Bob");
  auto other = fx.new_org("Other");
  ws_client a(fx.port());
  a.hello(fx.owner.token);
  auto conv = str(a.call("open_direct", {{"user", bob.id}}).at("data").at("conv").at("conv"));
  auto pdf =
      str(uploaded(fx.port(), fx.owner.token, "application/pdf", sample("application/pdf")).at("media_id"));
  auto ogg = str(uploaded(fx.port(), fx.owner.token, "audio/ogg", sample("audio/ogg")).at("media_id"));
  auto theirs = str(uploaded(fx.port(), other.token, "image/png", sample("image/png")).at("media_id"));
  auto send = [&](const std::string& cmid, const std::string& type, json::object body) {
    return a.call("send",
                  {{"conv", conv}, {"client_msg_id", cmid}, {"type", type}, {"body", std::move(body)}});
  };
  auto code = [](const json::object& reply) { return std::string(reply.at("error").at("code").as_string()); };
  // Another org's media is not_found, whatever its id.
  CHECK(code(send("m1", "image", {{"media_id", theirs}, {"width", 10}, {"height", 10}})) == "not_found");
  CHECK(code(send("m2", "image", {{"media_id", "123456789"}, {"width", 10}, {"height", 10}})) == "not_found");
  // A PDF is not an image or a voice note, but may be a file.
  CHECK(code(send("m3", "image", {{"media_id", pdf}, {"width", 10}, {"height", 10}})) == "bad_request");
  CHECK(code(send("m4", "voice", {{"media_id", pdf}, {"duration_ms", 1000}})) == "bad_request");
  // Fields out of range or missing.
  CHECK(code(send("m5", "image", {{"media_id", pdf}, {"width", 0}, {"height", 10}})) == "bad_request");
  CHECK(code(send("m6", "voice", {{"media_id", ogg}, {"duration_ms", -1}})) == "bad_request");
  CHECK(code(send("m7", "voice", {{"media_id", ogg}})) == "bad_request");
  CHECK(code(send("m8", "file", {{"media_id", pdf}, {"name", ""}, {"size", 4096}})) == "bad_request");
  CHECK(code(send("m9", "file", {{"media_id", pdf}, {"name", "a.pdf"}, {"size", 0}})) == "bad_request");
  CHECK(code(send("m10", "file", {{"media_id", 7}, {"name", "a.pdf"}, {"size", 1}})) == "bad_request");
  // Good ones, and a resend of one (idempotent).
  auto v = send("v1", "voice", {{"media_id", ogg}, {"duration_ms", 3200}});
  REQUIRE(v.at("ok").as_bool());
  auto f = send("f1", "file", {{"media_id", pdf}, {"name", "spec.pdf"}, {"size", 4096}});
  REQUIRE(f.at("ok").as_bool());
  auto again = send("f1", "file", {{"media_id", pdf}, {"name", "spec.pdf"}, {"size", 4096}});
  REQUIRE(again.at("ok").as_bool());
  CHECK(again.at("data").at("duplicate").as_bool());
  CHECK(again.at("data").at("seq") == f.at("data").at("seq"));
  // The first refused sends wrote nothing: the conversation holds exactly the two messages.
  auto h = a.call("sync", {{"conv", conv}, {"after_seq", 0}});
  const auto& msgs = h.at("data").at("messages").as_array();
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[0].at("type") == "voice");
  CHECK(msgs[1].at("body").at("name") == "spec.pdf");
  // Not a member of the conversation: forbidden, as for text.
  ws_client c(fx.port());
  auto carol = fx.add_user(fx.owner, "Carol");
  c.hello(carol.token);
  auto mine = str(uploaded(fx.port(), carol.token, "image/png", sample("image/png")).at("media_id"));
  auto r = c.call("send", {{"conv", conv},
                           {"client_msg_id", "x"},
                           {"type", "image"},
                           {"body", {{"media_id", mine}, {"width", 1}, {"height", 1}}}});
  CHECK(code(r) == "forbidden");
  // ...and that attempt gave no one in the conversation access.
  CHECK(download(fx.port(), bob.token, mine).status == 404);
}

TEST_CASE("media: uploads never sent are collected after the grace period, sent ones stay") {
  org_fixture fx({{"SWITCHBOARD_MEDIA_GC_GRACE_S", "1"}, {"SWITCHBOARD_MEDIA_GC_INTERVAL_S", "1"}});
  auto bob = fx.add_user(fx.owner, "Bob");
  auto dir = media_dir_of(fx);
  auto kept_bytes = sample("image/png", 3000, 61);
  auto gone_bytes = sample("image/png", 4000, 62);
  auto kept = str(uploaded(fx.port(), fx.owner.token, "image/png", kept_bytes).at("media_id"));
  // Bob uploads the same bytes as the one that will be sent: that object must survive his copy's collection.
  auto twin = str(uploaded(fx.port(), bob.token, "image/png", kept_bytes).at("media_id"));
  auto gone = str(uploaded(fx.port(), fx.owner.token, "image/png", gone_bytes).at("media_id"));
  ws_client a(fx.port());
  a.hello(fx.owner.token);
  auto conv = str(a.call("open_direct", {{"user", bob.id}}).at("data").at("conv").at("conv"));
  REQUIRE(a.call("send", {{"conv", conv},
                          {"client_msg_id", "keep"},
                          {"type", "image"},
                          {"body", {{"media_id", kept}, {"width", 2}, {"height", 2}}}})
              .at("ok")
              .as_bool());
  api_client admin{fx.port(), fx.owner.token};
  CHECK(admin.ok("GET", "/v1/admin/usage").at("storage_bytes").as_int64() == 10000);
  REQUIRE(eventually([&] { return download(fx.port(), fx.owner.token, gone).status == 404; },
                     std::chrono::seconds(15)));
  CHECK(eventually([&] { return download(fx.port(), bob.token, twin).status == 404; },
                   std::chrono::seconds(15)));
  CHECK(eventually([&] { return stored_objects(dir) == 1; }, std::chrono::seconds(10)));
  auto got = download(fx.port(), bob.token, kept);
  CHECK(got.status == 200);
  CHECK(got.body == kept_bytes);
  CHECK(admin.ok("GET", "/v1/admin/usage").at("storage_bytes").as_int64() == 3000);
  // A send naming collected media is not_found.
  auto late = a.call("send", {{"conv", conv},
                              {"client_msg_id", "late"},
                              {"type", "image"},
                              {"body", {{"media_id", gone}, {"width", 2}, {"height", 2}}}});
  CHECK(late.at("error").at("code") == "not_found");
}
