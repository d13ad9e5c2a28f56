// Exports (PROTOCOL.md POST /v1/admin/exports, POST /v1/me/export): an organization's export
// holds all of it and nothing of another organization, a member's holds only what they may see,
// downloads resume with Range, and only the admins (or the member, for their own) read them;
// with bodies encrypted at rest, the archive holds the text.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "api_client.hpp"
#include "fixture.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"
#include "ws_replies.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {

std::unique_ptr<ws_client> connect(int port, const account& a) {
  auto ws = std::make_unique<ws_client>(port);
  ok_data(ws->hello(a.token, "dev-1"));
  return ws;
}

void send_texts(ws_client& ws, const std::string& conv, int n, const std::string& tag) {
  for (int i = 0; i < n; ++i)
    ok_data(
        ws.call("send", text_send(conv, tag + "-" + std::to_string(i), tag + " text " + std::to_string(i))));
}

// The export once ready, polled through `path`.
json::object wait_ready(const api_client& who, const std::string& path) {
  json::object e;
  REQUIRE(eventually(
      [&] {
        e = who.ok("GET", path);
        return e.at("state") == "ready" || e.at("state") == "failed";
      },
      60s));
  INFO(json::serialize(e));
  REQUIRE(e.at("state") == "ready");
  return e;
}

struct unpacked {
  std::string dir;
  std::vector<json::object> lines(const std::string& file) const {
    std::ifstream in(dir + "/" + file);
    std::vector<json::object> out;
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
    return out;
  }
  std::string bytes(const std::string& file) const {
    std::ifstream in(dir + "/" + file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::set<std::string> ids(const std::string& file, const std::string& key) const {
    std::set<std::string> out;
    for (const auto& l : lines(file)) out.insert(str(l.at(key)));
    return out;
  }
};

// Downloads the archive and unpacks it with tar.
unpacked download(const api_client& who, const std::string& path, std::string* raw = nullptr) {
  auto r = http_call(who.port, "GET", path, "", {{"Authorization", "Bearer " + who.token}});
  INFO(r.body.substr(0, 200));
  REQUIRE(r.status == 200);
  CHECK(r.headers["content-type"] == "application/gzip");
  unpacked u{make_temp_dir()};
  {
    std::ofstream f(u.dir + "/export.tar.gz", std::ios::binary);
    f << r.body;
  }
  auto tar = run_program("/usr/bin/tar", {"-xzf", u.dir + "/export.tar.gz", "-C", u.dir}, {});
  INFO(tar.err);
  REQUIRE(tar.exit_code == 0);
  if (raw) *raw = r.body;
  return u;
}

const std::string png(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) + std::string(300, 'q'));

}  // namespace

TEST_CASE("exports hold their organization's data, or a member's, and nothing else", "[governance]") {
  org_fixture fx(env{{"SWITCHBOARD_STORAGE_ENCRYPTION_KEY", std::string(64, 'e')}});
  auto owner = fx.owner;
  auto m1 = fx.add_user(owner, "Mia");
  auto m2 = fx.add_user(owner, "Max");
  auto other = fx.new_org("Other");
  auto other_member = fx.add_user(other, "Oli");
  api_client admin{fx.port(), owner.token}, m1_api{fx.port(), m1.token}, m2_api{fx.port(), m2.token},
      other_admin{fx.port(), other.token};
  admin.ok("POST", "/v1/admin/departments", json::object{{"name", "Sales"}}, 201);

  auto ws = connect(fx.port(), owner);
  auto group =
      str(ok_data(ws->call("create_group", {{"name", "all"}, {"members", json::array{m1.id, m2.id}}}))
              .at("conv")
              .at("conv"));
  send_texts(*ws, group, 25, "group");
  auto up = http_call(fx.port(), "POST", "/v1/media", png,
                      {{"Authorization", "Bearer " + owner.token}, {"Content-Type", "image/png"}});
  REQUIRE(up.status == 201);
  auto media_id = str(json::parse(up.body).at("media_id"));
  ok_data(ws->call("send", {{"conv", group},
                            {"client_msg_id", "img"},
                            {"type", "image"},
                            {"body", {{"media_id", media_id}, {"width", 1}, {"height", 1}}}}));
  auto direct = str(ok_data(ws->call("open_direct", {{"user", m1.id}})).at("conv").at("conv"));
  send_texts(*ws, direct, 5, "direct");
  auto other_ws = connect(fx.port(), other);
  auto other_conv =
      str(ok_data(other_ws->call("open_direct", {{"user", other_member.id}})).at("conv").at("conv"));
  ok_data(other_ws->call("send", text_send(other_conv, "x", "beta-secret-3391")));

  // Bad requests.
  CHECK(admin.code("POST", "/v1/admin/exports", json::object{{"scope", "everything"}}) == "bad_request");
  CHECK(admin.code("POST", "/v1/admin/exports", json::object{{"scope", "user"}}) == "bad_request");
  CHECK(admin.code("POST", "/v1/admin/exports", json::object{{"scope", "user"}, {"user", other_member.id}}) ==
        "not_found");
  CHECK(m1_api.code("POST", "/v1/admin/exports", json::object{{"scope", "org"}}) == "forbidden");

  // The whole organization.
  auto created = admin.ok("POST", "/v1/admin/exports", json::object{{"scope", "org"}}, 202);
  CHECK(created.at("state") == "pending");
  auto id = str(created.at("export"));
  auto ready = wait_ready(admin, "/v1/admin/exports/" + id);
  CHECK(ready.at("progress").as_double() == 1.0);
  std::string raw;
  auto org = download(admin, "/v1/admin/exports/" + id + "/download", &raw);
  CHECK(ready.at("size").as_int64() == static_cast<std::int64_t>(raw.size()));
  CHECK(org.lines("org.json").at(0).at("org") == owner.org.c_str());
  CHECK(org.ids("users.jsonl", "user") == std::set<std::string>{owner.id, m1.id, m2.id});
  CHECK(org.ids("conversations.jsonl", "conv") == std::set<std::string>{group, direct});
  CHECK(org.lines("members.jsonl").size() == 5);
  CHECK(org.lines("departments.jsonl").size() == 1);
  auto messages = org.lines("messages.jsonl");
  CHECK(messages.size() == 31);
  CHECK(messages.at(0).at("body").at("text") == "group text 0");  // the text, not the ciphertext
  CHECK(org.bytes("media/" + media_id) == png);
  const std::set<std::string> org_people{owner.id, m1.id, m2.id};
  for (const auto& m : org.lines("members.jsonl")) CHECK(org_people.count(str(m.at("user"))) == 1);
  for (const auto& m : messages) CHECK(org_people.count(str(m.at("from"))) == 1);
  for (const char* f :
       {"users.jsonl", "conversations.jsonl", "members.jsonl", "messages.jsonl", "departments.jsonl"})
    CHECK(org.bytes(f).find("beta-secret") == std::string::npos);

  // Range resumes a download.
  auto part = http_call(fx.port(), "GET", "/v1/admin/exports/" + id + "/download", "",
                        {{"Authorization", "Bearer " + owner.token}, {"Range", "bytes=100-199"}});
  CHECK(part.status == 206);
  CHECK(part.body == raw.substr(100, 100));
  CHECK(part.headers["content-range"] == "bytes 100-199/" + std::to_string(raw.size()));

  // Nobody else reads it.
  CHECK(other_admin.code("GET", "/v1/admin/exports/" + id) == "not_found");
  CHECK(other_admin.call("GET", "/v1/admin/exports/" + id + "/download").status == 404);
  CHECK(m1_api.call("GET", "/v1/admin/exports/" + id + "/download").status == 403);
  CHECK(m1_api.code("GET", "/v1/me/exports/" + id) == "not_found");

  // A member's own export: what they may see (m2 is not in the direct conversation).
  auto own = m2_api.ok("POST", "/v1/me/export", json::object{}, 202);
  auto own_id = str(own.at("export"));
  CHECK(own.at("scope") == "user");
  CHECK(own.at("user") == m2.id.c_str());
  wait_ready(m2_api, "/v1/me/exports/" + own_id);
  auto mine = download(m2_api, "/v1/me/exports/" + own_id + "/download");
  CHECK(mine.ids("conversations.jsonl", "conv") == std::set<std::string>{group});
  CHECK(mine.lines("messages.jsonl").size() == 26);
  CHECK(mine.bytes("messages.jsonl").find("direct text") == std::string::npos);
  auto people = mine.lines("users.jsonl");
  CHECK(people.at(0).at("user") == m2.id.c_str());
  CHECK(people.at(0).contains("mobile"));
  for (std::size_t i = 1; i < people.size(); ++i) CHECK_FALSE(people[i].contains("mobile"));
  CHECK(mine.bytes("media/" + media_id) == png);
  // Only that member reads it: not another member, not the admins.
  CHECK(m1_api.code("GET", "/v1/me/exports/" + own_id) == "not_found");
  CHECK(admin.code("GET", "/v1/admin/exports/" + own_id) == "not_found");

  // An admin's export of one member: m1 sees both conversations.
  auto of_m1 = admin.ok("POST", "/v1/admin/exports", json::object{{"scope", "user"}, {"user", m1.id}}, 202);
  auto of_m1_id = str(of_m1.at("export"));
  wait_ready(admin, "/v1/admin/exports/" + of_m1_id);
  CHECK(download(admin, "/v1/admin/exports/" + of_m1_id + "/download").lines("messages.jsonl").size() == 31);
  CHECK(admin.ok("GET", "/v1/admin/exports").at("items").as_array().size() == 2);

  // Three created, three downloaded from the start (a download's entry is written as it begins).
  int created_n = 0, downloaded_n = 0;
  CHECK(eventually(
      [&] {
        auto audit = admin.ok("GET", "/v1/admin/audit?limit=200");
        created_n = downloaded_n = 0;
        for (const auto& e : audit.at("items").as_array()) {
          if (e.at("action") == "export.create") ++created_n;
          if (e.at("action") == "export.download") ++downloaded_n;
        }
        return created_n == 3 && downloaded_n == 3;
      },
      10s));
}

TEST_CASE("an export's file is deleted once it expires", "[governance]") {
  org_fixture fx(env{{"SWITCHBOARD_GOVERNANCE_EXPORT_TTL_S", "2"}});
  api_client admin{fx.port(), fx.owner.token};
  auto id = str(admin.ok("POST", "/v1/admin/exports", json::object{{"scope", "org"}}, 202).at("export"));
  auto ready = wait_ready(admin, "/v1/admin/exports/" + id);
  CHECK(ready.at("expires_at").as_int64() - ready.at("finished_at").as_int64() == 2000);
  auto file = fx.db.scalar("SELECT file FROM exports WHERE id = " + id);
  auto path = fx.srv->dir() + "/media/" + file;
  REQUIRE(std::ifstream(path).good());
  REQUIRE(eventually([&] { return admin.call("GET", "/v1/admin/exports/" + id).status == 404; }, 20s));
  CHECK_FALSE(std::ifstream(path).good());
}
