// Data governance (PROTOCOL.md "Retention and reclamation", DELETE /v1/admin/org, reports): the
// retention run over several organizations, first_seq in sync and history, organization deletion
// and its purge (also killed half-way), reclamation, and each report action, against the real
// server, its governance run and PostgreSQL.
#include <catch2/catch.hpp>

#include <signal.h>

#include <boost/json.hpp>
#include <regex>

#include "api_client.hpp"
#include "cluster.hpp"
#include "fixture.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"
#include "ws_replies.hpp"

using namespace sbtest;
namespace json = boost::json;

namespace {

constexpr std::int64_t day_ms = 86400000;

// The governance run every second, in small chunks, without pauses.
env fast_governance(env more = {}) {
  more.emplace("SWITCHBOARD_GOVERNANCE_INTERVAL_S", "1");
  more.emplace("SWITCHBOARD_GOVERNANCE_RETENTION_CHUNK", "7");
  more.emplace("SWITCHBOARD_GOVERNANCE_CHUNK_PAUSE_MS", "0");
  return more;
}

std::unique_ptr<ws_client> connect(int port, const account& a, const std::string& device = "dev-1") {
  auto ws = std::make_unique<ws_client>(port);
  ok_data(ws->hello(a.token, device));
  return ws;
}

std::string direct_conv(ws_client& ws, const account& other) {
  return str(ok_data(ws.call("open_direct", {{"user", other.id}})).at("conv").at("conv"));
}

std::string group_conv(ws_client& ws, const std::vector<account>& members) {
  json::array ids;
  for (const auto& m : members) ids.emplace_back(m.id);
  return str(ok_data(ws.call("create_group", {{"name", "team"}, {"members", ids}})).at("conv").at("conv"));
}

void send_texts(ws_client& ws, const std::string& conv, int n, const std::string& tag) {
  for (int i = 0; i < n; ++i)
    ok_data(ws.call("send", text_send(conv, tag + "-" + std::to_string(i), "message " + std::to_string(i))));
}

// Makes messages seq <= `up_to` of `conv` look `days` old.
void age_messages(const fresh_database& db, const std::string& conv, int up_to, int days) {
  db.exec("UPDATE messages SET ts = ts - " + std::to_string(days * day_ms) + " WHERE conv_id = " + conv +
          " AND seq <= " + std::to_string(up_to));
}

std::int64_t count(const fresh_database& db, const std::string& sql) {
  return std::stoll(db.scalar(sql));
}

// Every row an organization has, table by table.
std::map<std::string, std::int64_t> org_rows(const fresh_database& db, const std::string& org) {
  std::map<std::string, std::int64_t> out;
  for (const char* t : {"users",
                        "tokens",
                        "conversations",
                        "conv_members",
                        "messages",
                        "departments",
                        "user_departments",
                        "audit_log",
                        "org_policies",
                        "notices",
                        "media",
                        "media_conversations",
                        "org_usage",
                        "reports",
                        "exports",
                        "invitations",
                        "verification_codes",
                        "apps",
                        "app_tokens",
                        "calls",
                        "call_minutes"})
    out[t] = count(db, std::string("SELECT count(*) FROM ") + t + " WHERE org_id = " + org);
  return out;
}

std::int64_t total(const std::map<std::string, std::int64_t>& rows) {
  std::int64_t n = 0;
  for (const auto& [t, k] : rows) n += k;
  return n;
}

bool has_audit(const api_client& admin, const std::string& action, const std::string& actor) {
  auto page = admin.ok("GET", "/v1/admin/audit?limit=200");
  for (const auto& e : page.at("items").as_array())
    if (e.at("action") == action.c_str() && e.at("actor") == actor.c_str()) return true;
  return false;
}

// PostgreSQL 15's own dump tool (Debian's /usr/bin/pg_dump wrapper picks a version by cluster).
const std::string pg_dump = "/usr/lib/postgresql/15/bin/pg_dump";

const std::string png(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) + std::string(200, 'p'));

}  // namespace

TEST_CASE("retention deletes exactly the messages past each organization's limit", "[governance]") {
  org_fixture fx(fast_governance());
  auto a_owner = fx.owner;
  auto a_member = fx.add_user(a_owner, "Ann");
  auto b_owner = fx.new_org("Beta");
  auto b_member = fx.add_user(b_owner, "Ben");
  auto c_owner = fx.new_org("Gamma");
  auto c_member = fx.add_user(c_owner, "Cai");
  auto a_ws = connect(fx.port(), a_owner);
  auto b_ws = connect(fx.port(), b_owner);
  auto c_ws = connect(fx.port(), c_owner);

  auto a_conv = direct_conv(*a_ws, a_member);
  send_texts(*a_ws, a_conv, 30, "a");
  // An image in an old message, and one in a new one.
  auto upload = [&](const std::string& salt) {
    auto r = http_call(fx.port(), "POST", "/v1/media", png + salt,
                       {{"Authorization", "Bearer " + a_owner.token}, {"Content-Type", "image/png"}});
    REQUIRE(r.status == 201);
    return str(json::parse(r.body).at("media_id"));
  };
  auto old_media = upload("old"), new_media = upload("new");
  auto image = [&](const std::string& media, const std::string& cmid) {
    return json::object{{"conv", a_conv},
                        {"client_msg_id", cmid},
                        {"type", "image"},
                        {"body", {{"media_id", media}, {"width", 1}, {"height", 1}}}};
  };
  CHECK(ok_data(a_ws->call("send", image(old_media, "img-old"))).at("seq") == 31);
  send_texts(*a_ws, a_conv, 4, "a2");  // 32..35
  CHECK(ok_data(a_ws->call("send", image(new_media, "img-new"))).at("seq") == 36);
  auto b_conv = group_conv(*b_ws, {b_member});
  send_texts(*b_ws, b_conv, 20, "b");
  auto c_conv = direct_conv(*c_ws, c_member);
  send_texts(*c_ws, c_conv, 10, "c");

  // A: seq 1..31 are 40 days old, under a 30-day limit. B: 1..5 are 10 days old, under 7 days.
  // C: everything is 100 days old, and C keeps messages forever.
  age_messages(fx.db, a_conv, 31, 40);
  fx.db.exec("UPDATE media_conversations SET last_sent_ms = last_sent_ms - " + std::to_string(40 * day_ms) +
             " WHERE media_id = " + old_media);
  age_messages(fx.db, b_conv, 5, 10);
  age_messages(fx.db, c_conv, 10, 100);
  // A report of a message that goes, and one of a message that stays.
  api_client a_member_api{fx.port(), a_member.token};
  a_member_api.ok("POST", "/v1/reports", json::object{{"conv", a_conv}, {"seq", 3}, {"reason", "old"}}, 201);
  a_member_api.ok("POST", "/v1/reports", json::object{{"conv", a_conv}, {"seq", 33}, {"reason", "new"}}, 201);

  api_client a_admin{fx.port(), a_owner.token}, b_admin{fx.port(), b_owner.token};
  a_admin.ok("PUT", "/v1/admin/policy", json::object{{"retention_days", 30}});
  b_admin.ok("PUT", "/v1/admin/policy", json::object{{"retention_days", 7}});

  api_client c_admin{fx.port(), c_owner.token};
  // Each organization's run ends with its audit entry.
  REQUIRE(eventually(
      [&] {
        return has_audit(a_admin, "retention.run", "system") && has_audit(b_admin, "retention.run", "system");
      },
      30s));
  CHECK(fx.db.scalar("SELECT first_seq FROM conversations WHERE id = " + a_conv) == "32");
  CHECK(fx.db.scalar("SELECT first_seq FROM conversations WHERE id = " + b_conv) == "6");
  CHECK(count(fx.db, "SELECT count(*) FROM messages WHERE conv_id = " + a_conv) == 5);
  CHECK(count(fx.db, "SELECT min(seq) FROM messages WHERE conv_id = " + a_conv) == 32);
  CHECK(count(fx.db, "SELECT count(*) FROM messages WHERE conv_id = " + b_conv) == 15);
  CHECK(count(fx.db, "SELECT min(seq) FROM messages WHERE conv_id = " + b_conv) == 6);
  CHECK(count(fx.db, "SELECT count(*) FROM messages WHERE conv_id = " + c_conv) == 10);
  CHECK(fx.db.scalar("SELECT first_seq FROM conversations WHERE id = " + c_conv) == "1");
  // The old message's report went with it; the old image is no longer the conversation's.
  CHECK(count(fx.db, "SELECT count(*) FROM reports WHERE conv_id = " + a_conv) == 1);
  CHECK(count(fx.db, "SELECT count(*) FROM media_conversations WHERE media_id = " + old_media) == 0);
  CHECK(fx.db.scalar("SELECT sent_at IS NULL FROM media WHERE id = " + old_media) == "t");
  CHECK(count(fx.db, "SELECT count(*) FROM media_conversations WHERE media_id = " + new_media) == 1);
  auto reader = connect(fx.port(), a_member);
  CHECK(http_call(fx.port(), "GET", "/v1/media/" + old_media, "",
                  {{"Authorization", "Bearer " + a_member.token}})
            .status == 404);
  CHECK(http_call(fx.port(), "GET", "/v1/media/" + new_media, "",
                  {{"Authorization", "Bearer " + a_member.token}})
            .status == 200);

  // sync and history answer from first_seq; the Conv says where that is.
  auto synced = ok_data(reader->call("sync", {{"conv", a_conv}, {"after_seq", 0}}));
  CHECK(synced.at("first_seq") == 32);
  REQUIRE(synced.at("messages").as_array().size() == 5);
  CHECK(synced.at("messages").as_array()[0].at("seq") == 32);
  auto hist = ok_data(reader->call("history", {{"conv", a_conv}, {"before_seq", 34}, {"limit", 50}}));
  REQUIRE(hist.at("messages").as_array().size() == 2);
  CHECK(hist.at("messages").as_array()[0].at("seq") == 32);
  CHECK_FALSE(hist.at("has_more").as_bool());
  auto convs = ok_data(reader->call("convs")).at("convs").as_array();
  REQUIRE(convs.size() == 1);
  CHECK(convs[0].at("first_seq") == 32);
  CHECK(convs[0].at("last_seq") == 36);
  // Seqs are never reused.
  CHECK(ok_data(a_ws->call("send", text_send(a_conv, "after", "after retention"))).at("seq") == 37);

  // The audit log and the metrics say what the run removed.
  CHECK_FALSE(has_audit(c_admin, "retention.run", "system"));
  CHECK(metric_value(fx.port(), "switchboard_retention_messages_deleted_total") == 36);
}

TEST_CASE("deleting an organization refuses everything at once and its purge spares the others",
          "[governance]") {
  org_fixture fx(env{{"SWITCHBOARD_GOVERNANCE_ORG_PURGE_DELAY_S", "3600"}});
  auto owner = fx.owner;
  auto admin = fx.add_user(owner, "Ada", "admin");
  auto member = fx.add_user(owner, "Mo");
  auto other = fx.new_org("Other");
  auto other_member = fx.add_user(other, "Oz");
  api_client owner_api{fx.port(), owner.token}, admin_api{fx.port(), admin.token};
  // Rows in many tables of both organizations.
  for (const auto* o : {&owner, &other}) {
    api_client api{fx.port(), o->token};
    api.ok("POST", "/v1/admin/departments", json::object{{"name", "Sales"}}, 201);
    api.ok("POST", "/v1/admin/notices", json::object{{"title", "Hi"}, {"body", "all"}}, 201);
    api.ok("PUT", "/v1/admin/policy", json::object{{"retention_days", 365}});
    auto ws = connect(fx.port(), *o);
    auto peer = o == &owner ? member : other_member;
    auto conv = group_conv(*ws, {peer});
    send_texts(*ws, conv, 40, "m");
    auto r = http_call(fx.port(), "POST", "/v1/media", png + o->org,
                       {{"Authorization", "Bearer " + o->token}, {"Content-Type", "image/png"}});
    REQUIRE(r.status == 201);
  }
  auto before_other = org_rows(fx.db, other.org);
  REQUIRE(total(org_rows(fx.db, owner.org)) > 50);

  auto member_ws = connect(fx.port(), member);
  CHECK(admin_api.code("DELETE", "/v1/admin/org", json::object{{"confirm", "Acme"}}) == "forbidden");
  auto org_name = fx.db.scalar("SELECT name FROM orgs WHERE id = " + owner.org);
  CHECK(owner_api.code("DELETE", "/v1/admin/org", json::object{{"confirm", org_name + "!"}}) ==
        "bad_request");
  CHECK(owner_api.code("DELETE", "/v1/admin/org", json::object{}) == "bad_request");
  auto deleted = owner_api.ok("DELETE", "/v1/admin/org", json::object{{"confirm", org_name}}, 202);
  CHECK(deleted.at("org") == owner.org.c_str());
  CHECK(deleted.at("state") == "deleting");
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  CHECK(deleted.at("purge_after").as_int64() > now_ms + 3500 * 1000);

  // Every session is kicked, every token and login refused.
  auto kicked = member_ws->wait_event("kicked", 10s);
  REQUIRE(kicked);
  CHECK(kicked->at("data").at("reason") == "org_deleted");
  CHECK(member_ws->wait_closed(10s) == 4401);
  CHECK(owner_api.call("GET", "/v1/me").status == 401);
  CHECK(api_client{fx.port(), member.token}.call("GET", "/v1/me").status == 401);
  ws_client again(fx.port());
  CHECK(error_code_of(again.hello(member.token)) == "unauthorized");
  auto login = http_call(fx.port(), "POST", "/v1/auth/login",
                         json::serialize(json::object{
                             {"org", owner.org}, {"mobile", owner.mobile}, {"password", owner.password}}),
                         {{"Content-Type", "application/json"}});
  CHECK(login.status == 401);
  // The other organization carries on.
  CHECK(api_client{fx.port(), other.token}.call("GET", "/v1/me").status == 200);

  // The operator's purge, slowed down and killed half-way, then run again.
  {
    child_process purge({"org", "purge", "--org", owner.org},
                        {{"SWITCHBOARD_DATABASE_URL", fx.db.url()},
                         {"SWITCHBOARD_MEDIA_DIR", fx.srv->dir() + "/media"},
                         {"SWITCHBOARD_GOVERNANCE_PURGE_CHUNK", "5"},
                         {"SWITCHBOARD_GOVERNANCE_CHUNK_PAUSE_MS", "30"}});
    REQUIRE(purge.wait_for_line(std::regex("rows of messages deleted"), 60s));
    ::kill(purge.pid(), SIGKILL);
    purge.wait_exit(10s);
  }
  auto half = org_rows(fx.db, owner.org);
  CHECK(half["messages"] == 0);
  CHECK(half["users"] > 0);
  CHECK(fx.db.scalar("SELECT deleted_at IS NOT NULL FROM orgs WHERE id = " + owner.org) == "t");
  CHECK(org_rows(fx.db, other.org) == before_other);

  auto r = run_binary(
      {"org", "purge", "--org", owner.org},
      {{"SWITCHBOARD_DATABASE_URL", fx.db.url()}, {"SWITCHBOARD_MEDIA_DIR", fx.srv->dir() + "/media"}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(json::parse(r.out).at("purged") == true);
  CHECK(total(org_rows(fx.db, owner.org)) == 0);
  CHECK(fx.db.scalar("SELECT count(*) FROM orgs WHERE id = " + owner.org) == "0");
  CHECK(org_rows(fx.db, other.org) == before_other);
  // A second purge finds nothing to do.
  CHECK(run_binary({"org", "purge", "--org", owner.org}, {{"SWITCHBOARD_DATABASE_URL", fx.db.url()}})
            .exit_code == 1);
}

TEST_CASE("a deleted organization is purged by the governance run once its delay passes", "[governance]") {
  org_fixture fx(fast_governance({{"SWITCHBOARD_GOVERNANCE_ORG_PURGE_DELAY_S", "1"}}));
  auto gone = fx.new_org("Leaving");
  auto stays = fx.owner;
  auto ws = connect(fx.port(), gone);
  send_texts(*ws, direct_conv(*ws, fx.add_user(gone, "Lou")), 5, "x");
  auto before = org_rows(fx.db, stays.org);
  auto name = fx.db.scalar("SELECT name FROM orgs WHERE id = " + gone.org);
  // The confirmation as a query parameter, for clients that cannot send a body with DELETE.
  api_client gone_api{fx.port(), gone.token};
  CHECK(gone_api.code("DELETE", "/v1/admin/org?confirm=Wrong") == "bad_request");
  gone_api.ok("DELETE", "/v1/admin/org?confirm=" + name, nullptr, 202);
  REQUIRE(eventually([&] { return fx.db.scalar("SELECT count(*) FROM orgs WHERE id = " + gone.org) == "0"; },
                     30s));
  CHECK(total(org_rows(fx.db, gone.org)) == 0);
  CHECK(org_rows(fx.db, stays.org) == before);
  CHECK(eventually([&] { return metric_value(fx.port(), "switchboard_orgs_purged_total") == 1; }, 10s));
}

TEST_CASE("reclamation removes inactive members and spares admins, owners and active members",
          "[governance]") {
  org_fixture fx(fast_governance());
  auto owner = fx.owner;
  auto idle = fx.add_user(owner, "Idle");
  auto recent = fx.add_user(owner, "Recent");
  auto live = fx.add_user(owner, "Live");
  auto idle_admin = fx.add_user(owner, "Idle Admin", "admin");
  auto elsewhere = fx.new_org("Elsewhere");
  auto elsewhere_idle = fx.add_user(elsewhere, "Far");
  auto live_ws = connect(fx.port(), live);
  // Everyone but `recent` has looked inactive for 40 days: created, logged in and last seen then.
  for (const auto* u : {&owner, &idle, &live, &idle_admin, &elsewhere_idle}) {
    fx.db.exec("UPDATE users SET created_at = now() - interval '40 days' WHERE id = " + u->id);
    fx.db.exec("UPDATE tokens SET created_at = now() - interval '40 days' WHERE user_id = " + u->id);
  }
  fx.db.exec("UPDATE users SET created_at = now() - interval '40 days' WHERE id = " + recent.id);
  api_client admin{fx.port(), owner.token};
  for (const json::value bad : {json::value(0), json::value(36501), json::value("30")})
    CHECK(admin.code("PUT", "/v1/admin/policy", json::object{{"reclaim_inactive_days", bad}}) ==
          "bad_request");
  admin.ok("PUT", "/v1/admin/policy", json::object{{"reclaim_inactive_days", 30}});
  CHECK(admin.ok("GET", "/v1/admin/policy").at("reclaim_inactive_days") == 30);

  auto status = [&](const account& u) {
    return str(admin.ok("GET", "/v1/admin/users/" + u.id).at("status"));
  };
  REQUIRE(eventually([&] { return status(idle) == "removed"; }, 30s));
  CHECK(status(recent) == "active");
  CHECK(status(live) == "active");
  CHECK(status(idle_admin) == "active");
  CHECK(status(owner) == "active");
  // Another organization's policy is its own.
  CHECK(fx.db.scalar("SELECT status FROM users WHERE id = " + elsewhere_idle.id) == "active");
  CHECK(has_audit(admin, "user.reclaim", "system"));
  CHECK(api_client{fx.port(), idle.token}.call("GET", "/v1/me").status == 401);
  CHECK(metric_value(fx.port(), "switchboard_users_reclaimed_total") == 1);
}

TEST_CASE("each report action does what it says", "[governance]") {
  org_fixture fx(env{{"SWITCHBOARD_GOVERNANCE_REPORTS_PER_HOUR", "8"}});
  auto owner = fx.owner;
  auto reporter = fx.add_user(owner, "Rita");
  auto author = fx.add_user(owner, "Art");
  auto outsider = fx.add_user(owner, "Otto");
  auto foreign = fx.new_org("Foreign");
  auto author_ws = connect(fx.port(), author);
  auto reporter_ws = connect(fx.port(), reporter);
  auto conv = group_conv(*author_ws, {reporter});
  send_texts(*author_ws, conv, 6, "r");
  api_client r_api{fx.port(), reporter.token}, admin{fx.port(), owner.token};
  auto report = [&](int seq, const std::string& why) {
    return r_api.ok("POST", "/v1/reports", json::object{{"conv", conv}, {"seq", seq}, {"reason", why}}, 201);
  };

  CHECK(api_client{fx.port(), outsider.token}.code(
            "POST", "/v1/reports", json::object{{"conv", conv}, {"seq", 1}, {"reason", "x"}}) == "forbidden");
  CHECK(api_client{fx.port(), foreign.token}.code(
            "POST", "/v1/reports", json::object{{"conv", conv}, {"seq", 1}, {"reason", "x"}}) == "not_found");
  CHECK(r_api.code("POST", "/v1/reports", json::object{{"conv", conv}, {"seq", 99}, {"reason", "x"}}) ==
        "not_found");
  CHECK(r_api.code("POST", "/v1/reports", json::object{{"conv", conv}, {"seq", 1}, {"reason", ""}}) ==
        "bad_request");
  CHECK(r_api.code("POST", "/v1/reports",
                   json::object{{"conv", conv}, {"seq", 1}, {"reason", std::string(1001, 'x')}}) ==
        "bad_request");

  auto first = report(1, "spam");
  CHECK(first.at("state") == "open");
  CHECK(first.at("reporter") == reporter.id.c_str());
  // Reporting it again answers the open report.
  CHECK(r_api.ok("POST", "/v1/reports", json::object{{"conv", conv}, {"seq", 1}, {"reason", "again"}})
            .at("report") == first.at("report"));
  auto ids = std::vector<std::string>{str(first.at("report"))};
  for (int seq = 2; seq <= 5; ++seq)
    ids.push_back(str(report(seq, "abuse " + std::to_string(seq)).at("report")));

  CHECK(api_client{fx.port(), reporter.token}.code("GET", "/v1/admin/reports") == "forbidden");
  auto open = admin.ok("GET", "/v1/admin/reports?state=open").at("items").as_array();
  REQUIRE(open.size() == 5);
  CHECK(open[0].at("report") == ids[4].c_str());  // newest first
  CHECK(open[4].at("message").at("body").at("text") == "message 0");

  auto resolve = [&](const std::string& id, json::object how) {
    return admin.ok("POST", "/v1/admin/reports/" + id + "/resolve", how);
  };
  auto dismissed = resolve(ids[0], {{"action", "dismiss"}});
  CHECK(dismissed.at("state") == "resolved");
  CHECK(dismissed.at("action") == "dismiss");
  CHECK(admin.code("POST", "/v1/admin/reports/" + ids[0] + "/resolve", json::object{{"action", "dismiss"}}) ==
        "conflict");
  CHECK(admin.code("POST", "/v1/admin/reports/" + ids[1] + "/resolve", json::object{{"action", "ban"}}) ==
        "bad_request");
  CHECK(admin.code("POST", "/v1/admin/reports/" + ids[1] + "/resolve", json::object{{"action", "warn"}}) ==
        "bad_request");

  resolve(ids[1], {{"action", "remove_message"}});
  auto recalled = reporter_ws->wait_event("recalled", 10s);
  REQUIRE(recalled);
  CHECK(recalled->at("data").at("seq") == 2);
  CHECK(recalled->at("data").at("by") == owner.id.c_str());
  auto page = ok_data(reporter_ws->call("sync", {{"conv", conv}, {"after_seq", 1}, {"limit", 1}}));
  CHECK(page.at("messages").as_array()[0].at("recalled") == true);

  resolve(ids[2], {{"action", "warn"}, {"text", "Mind your language"}});
  auto warning = author_ws->wait_event("warning", 10s);
  REQUIRE(warning);
  CHECK(warning->at("data").at("text") == "Mind your language");
  CHECK(warning->at("data").at("report").at("report") == ids[2].c_str());

  resolve(ids[3], {{"action", "restrict"}, {"features", json::array{"send"}}});
  REQUIRE(eventually(
      [&] {
        return error_code_of(author_ws->call("send", text_send(conv, "after-restrict", "hi"))) == "forbidden";
      },
      10s));

  resolve(ids[4], {{"action", "suspend"}, {"text", "repeated abuse"}});
  auto kicked = author_ws->wait_event("kicked", 10s);
  REQUIRE(kicked);
  CHECK(kicked->at("data").at("reason") == "suspended");
  CHECK(admin.ok("GET", "/v1/admin/users/" + author.id).at("status") == "suspended");

  CHECK(admin.ok("GET", "/v1/admin/reports?state=open").at("items").as_array().empty());
  CHECK(admin.ok("GET", "/v1/admin/reports?state=resolved").at("items").as_array().size() == 5);
  int audited = 0;
  auto audit = admin.ok("GET", "/v1/admin/audit?limit=200");
  for (const auto& e : audit.at("items").as_array())
    if (e.at("action") == "report.resolve") ++audited;
  CHECK(audited == 5);

  // Reporting is rate-limited per member (8 an hour here; a missing message, five reports and a
  // repeat took 7).
  report(6, "one more");
  auto over = r_api.call("POST", "/v1/reports", json::object{{"conv", conv}, {"seq", 6}, {"reason", "x"}});
  CHECK(over.status == 429);
  CHECK(json::parse(over.body).at("error").at("retry_after_ms").as_int64() > 0);
}

TEST_CASE("with an encryption key a database dump holds no message text, and keys rotate", "[governance]") {
  const std::string first_key(64, '1'), second_key = std::string(32, 'c') + std::string(32, '4');
  org_fixture fx(env{{"SWITCHBOARD_STORAGE_ENCRYPTION_KEY", first_key}});
  auto owner = fx.owner;
  auto member = fx.add_user(owner, "Eve");
  auto ws = connect(fx.port(), owner);
  auto peer = connect(fx.port(), member);
  auto conv = group_conv(*ws, {member});
  ok_data(ws->call("send", text_send(conv, "secret-1", "launch code marmalade-7731")));
  auto ev = peer->wait_event("message", 10s);
  REQUIRE(ev);
  CHECK(ev->at("data").at("body").at("text") == "launch code marmalade-7731");
  ok_data(ws->call("add_members", {{"conv", conv}, {"users", json::array{fx.add_user(owner, "Sam").id}}}));

  auto dump = run_program(pg_dump, {"--data-only", fx.db.url()}, {});
  REQUIRE(dump.exit_code == 0);
  CHECK(dump.out.find("marmalade-7731") == std::string::npos);
  CHECK(dump.out.find("launch code") == std::string::npos);
  // Every body, the system message's too, is sealed under the key's id.
  CHECK(fx.db.scalar("SELECT count(*) FROM messages WHERE body NOT LIKE 'sb1:%'") == "0");
  auto first_id = fx.db.scalar("SELECT DISTINCT split_part(body, ':', 2) FROM messages");
  auto page = ok_data(peer->call("sync", {{"conv", conv}, {"after_seq", 0}}));
  REQUIRE(page.at("messages").as_array().size() == 2);
  CHECK(page.at("messages").as_array()[0].at("body").at("text") == "launch code marmalade-7731");
  CHECK(page.at("messages").as_array()[1].at("body").at("event") == "members_added");

  // Rotation: a new key seals, the old one (now a decryption key) still opens.
  ws.reset();
  peer.reset();
  fx.srv.reset();
  fx.srv = std::make_unique<server>(fx.db.url(), env{{"SWITCHBOARD_STORAGE_ENCRYPTION_KEY", second_key},
                                                     {"SWITCHBOARD_STORAGE_DECRYPTION_KEYS", first_key}});
  auto again = connect(fx.port(), owner);
  ok_data(again->call("send", text_send(conv, "secret-2", "second secret quince-5520")));
  auto both = ok_data(again->call("sync", {{"conv", conv}, {"after_seq", 0}})).at("messages").as_array();
  REQUIRE(both.size() == 3);
  CHECK(both[0].at("body").at("text") == "launch code marmalade-7731");
  CHECK(both[2].at("body").at("text") == "second secret quince-5520");
  CHECK(fx.db.scalar("SELECT count(DISTINCT split_part(body, ':', 2)) FROM messages") == "2");
  CHECK(fx.db.scalar("SELECT split_part(body, ':', 2) FROM messages WHERE seq = 3 AND conv_id = " + conv) !=
        first_id);
  CHECK(run_program(pg_dump, {"--data-only", fx.db.url()}, {}).out.find("quince-5520") == std::string::npos);
}

TEST_CASE("a deletion on one node refuses the organization on every node at once", "[governance]") {
  cluster_fixture cl(2);
  auto owner = cl.org.owner;
  auto member = cl.org.add_user(owner, "Nia");
  // An app token, and the member's token verified (and cached) by the second node.
  api_client admin0{cl.port(0), owner.token};
  auto app = admin0.ok("POST", "/v1/admin/apps",
                       json::object{{"name", "HR sync"}, {"scopes", json::array{"contacts:read"}}}, 201);
  auto exchanged =
      http_call(cl.port(1), "POST", "/v1/app/token",
                json::serialize(json::object{{"app_id", app.at("app")}, {"secret", app.at("secret")}}),
                {{"Content-Type", "application/json"}});
  REQUIRE(exchanged.status == 200);
  api_client app1{cl.port(1), str(json::parse(exchanged.body).at("access_token"))};
  CHECK(app1.call("GET", "/v1/app/users").status == 200);
  auto ws1 = connect(cl.port(1), member);
  api_client member1{cl.port(1), member.token};
  CHECK(member1.call("GET", "/v1/me").status == 200);

  auto name = cl.org.db.scalar("SELECT name FROM orgs WHERE id = " + owner.org);
  admin0.ok("DELETE", "/v1/admin/org", json::object{{"confirm", name}}, 202);
  auto kicked = ws1->wait_event("kicked", 10s);
  REQUIRE(kicked);
  CHECK(kicked->at("data").at("reason") == "org_deleted");
  CHECK(ws1->wait_closed(10s) == 4401);
  CHECK(member1.call("GET", "/v1/me").status == 401);
  CHECK(app1.call("GET", "/v1/app/users").status == 401);
  CHECK(http_call(cl.port(1), "POST", "/v1/app/token",
                  json::serialize(json::object{{"app_id", app.at("app")}, {"secret", app.at("secret")}}),
                  {{"Content-Type", "application/json"}})
            .status == 401);
}
