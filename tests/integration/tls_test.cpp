// TLS on the listener: https:// and wss:// on one port with a self-signed certificate made here,
// TLS 1.2 as the floor, and a certificate reload on SIGHUP that drops no connection.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <memory>

#include "fixture.hpp"

using namespace sbtest;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;

namespace {

// A self-signed certificate for 127.0.0.1 (IP SAN) with common name `cn`, written as PEM files.
void make_certificate(const std::string& cert_path, const std::string& key_path, const std::string& cn) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  REQUIRE(key);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()),
                   static_cast<long>(std::hash<std::string>{}(cn)&0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key.get());
  auto* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  auto* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "IP:127.0.0.1");
  REQUIRE(san);
  X509_add_ext(x.get(), san, -1);
  X509_EXTENSION_free(san);
  REQUIRE(X509_sign(x.get(), key.get(), EVP_sha256()) > 0);
  std::FILE* f = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, x.get());
  std::fclose(f);
  f = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

// A client context that trusts exactly `ca_path` and checks the server's address against it.
ssl::context client_context(const std::string& ca_path, int max_version = 0) {
  ssl::context c(ssl::context::tls_client);
  c.load_verify_file(ca_path);
  c.set_verify_mode(ssl::verify_peer);
  if (max_version) SSL_CTX_set_max_proto_version(c.native_handle(), max_version);
  return c;
}

using tls_tcp = beast::ssl_stream<beast::tcp_stream>;

void connect_tls(tls_tcp& s, int port) {
  beast::get_lowest_layer(s).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(s).connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  s.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  s.handshake(ssl::stream_base::client);
}

// The common name of the certificate the server presented.
std::string peer_cn(tls_tcp& s) {
  X509* cert = SSL_get1_peer_certificate(s.native_handle());
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  X509_free(cert);
  return buf;
}

}  // namespace

TEST_CASE("TLS: https and wss on one listener, TLS 1.2 at least, certificate reload keeps connections") {
  org_fixture fx;  // a plain server to create the organization and log in
  auto dir = make_temp_dir();
  make_certificate(dir + "/cert.pem", dir + "/key.pem", "switchboard-test-one");
  server tls_srv(fx.db.url(), {{"SWITCHBOARD_TLS_ENABLED", "true"},
                               {"SWITCHBOARD_TLS_CERT_FILE", dir + "/cert.pem"},
                               {"SWITCHBOARD_TLS_KEY_FILE", dir + "/key.pem"}});
  CHECK_THAT(tls_srv.proc().output(), Catch::Contains("(TLS)"));
  asio::io_context ioc;

  // https://
  auto cctx = client_context(dir + "/cert.pem");
  {
    tls_tcp s(ioc, cctx);
    connect_tls(s, tls_srv.port());
    CHECK(peer_cn(s) == "switchboard-test-one");
    http::request<http::string_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    CHECK(res.result_int() == 200);
  }

  // wss://: hello and a request over the same port.
  websocket::stream<tls_tcp> ws(ioc, cctx);
  connect_tls(ws.next_layer(), tls_srv.port());
  ws.handshake("127.0.0.1", "/v1/ws");
  auto call = [&](const std::string& op, const json::object& data) {
    ws.write(asio::buffer(json::serialize(json::object{{"id", op}, {"op", op}, {"data", data}})));
    for (;;) {
      beast::flat_buffer b;
      ws.read(b);
      auto v = json::parse(beast::buffers_to_string(b.data())).as_object();
      if (v.contains("id")) return v;
    }
  };
  auto hello =
      call("hello", {{"token", fx.owner.token},
                     {"device", json::object{{"id", "tls"}, {"platform", "linux"}, {"version", "1.0"}}}});
  CHECK(hello.at("ok").as_bool());

  // TLS 1.1 and older are refused; so is plain HTTP on the TLS port.
  {
    auto old_ctx = client_context(dir + "/cert.pem", TLS1_1_VERSION);
    tls_tcp s(ioc, old_ctx);
    CHECK_THROWS(connect_tls(s, tls_srv.port()));
  }
  {
    beast::tcp_stream plain(ioc);
    plain.expires_after(std::chrono::seconds(10));
    plain.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(tls_srv.port())});
    http::request<http::string_body> req{http::verb::get, "/healthz", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(plain, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    beast::error_code ec;
    http::read(plain, b, res, ec);
    CHECK(ec);  // no HTTP answer: the server wanted a TLS handshake
  }

  // A new certificate and SIGHUP: new connections get it, the open WebSocket carries on.
  make_certificate(dir + "/cert.pem", dir + "/key.pem", "switchboard-test-two");
  tls_srv.proc().signal(SIGHUP);
  REQUIRE(tls_srv.proc().wait_for_line(std::regex("TLS certificate reloaded"), 10s));
  auto cctx2 = client_context(dir + "/cert.pem");
  {
    tls_tcp s(ioc, cctx2);
    connect_tls(s, tls_srv.port());
    CHECK(peer_cn(s) == "switchboard-test-two");
  }
  CHECK(call("ping", {}).at("ok").as_bool());

  // A broken certificate file: the reload is refused and the old certificate stays.
  std::FILE* f = std::fopen((dir + "/cert.pem").c_str(), "w");
  std::fputs("not a certificate\n", f);
  std::fclose(f);
  tls_srv.proc().signal(SIGHUP);
  REQUIRE(tls_srv.proc().wait_for_line(std::regex("TLS certificate not reloaded"), 10s));
  {
    tls_tcp s(ioc, cctx2);
    connect_tls(s, tls_srv.port());
    CHECK(peer_cn(s) == "switchboard-test-two");
  }
  CHECK(call("ping", {}).at("ok").as_bool());
}

TEST_CASE("TLS: a key that does not match the certificate stops serve with a clear message") {
  fresh_database db;
  auto dir = make_temp_dir();
  make_certificate(dir + "/a.pem", dir + "/a.key", "a");
  make_certificate(dir + "/b.pem", dir + "/b.key", "b");
  REQUIRE(run_binary({"migrate"}, {{"SWITCHBOARD_DATABASE_URL", db.url()}}).exit_code == 0);
  auto r = run_binary({"serve"},
                      {{"SWITCHBOARD_DATABASE_URL", db.url()},
                       {"SWITCHBOARD_SERVER_LISTEN", "127.0.0.1:0"},
                       {"SWITCHBOARD_TLS_ENABLED", "true"},
                       {"SWITCHBOARD_TLS_CERT_FILE", dir + "/a.pem"},
                       {"SWITCHBOARD_TLS_KEY_FILE", dir + "/b.key"}},
                      30s);
  CHECK(r.exit_code == 2);  // a configuration error
  CHECK_THAT(r.err, Catch::Contains("cannot enable TLS: tls.key_file"));
  CHECK_THAT(r.err, Catch::Contains("mismatch"));
}

TEST_CASE("TLS: a media upload and its download, one after the other on one kept-alive connection") {
  org_fixture fx;
  auto dir = make_temp_dir();
  make_certificate(dir + "/cert.pem", dir + "/key.pem", "switchboard-media");
  server tls_srv(fx.db.url(), {{"SWITCHBOARD_TLS_ENABLED", "true"},
                               {"SWITCHBOARD_TLS_CERT_FILE", dir + "/cert.pem"},
                               {"SWITCHBOARD_TLS_KEY_FILE", dir + "/key.pem"},
                               {"SWITCHBOARD_MEDIA_MAX_IMAGE_BYTES", "100000"}});
  asio::io_context ioc;
  auto cctx = client_context(dir + "/cert.pem");
  tls_tcp s(ioc, cctx);
  connect_tls(s, tls_srv.port());
  std::string bytes = "%PDF-1.7\n" + std::string(1500000, 'p');
  for (std::size_t i = 9; i < bytes.size(); i += 7) bytes[i] = static_cast<char>('a' + i % 26);
  http::request<http::string_body> up{http::verb::post, "/v1/media?name=doc.pdf", 11};
  up.set(http::field::host, "127.0.0.1");
  up.set(http::field::authorization, "Bearer " + fx.owner.token);
  up.set(http::field::content_type, "application/pdf");
  up.body() = bytes;
  up.prepare_payload();
  http::write(s, up);
  beast::flat_buffer b;
  http::response<http::string_body> res;
  http::read(s, b, res);
  REQUIRE(res.result_int() == 201);
  CHECK(res.keep_alive());
  auto id = std::string(json::parse(res.body()).at("media_id").as_string());

  http::request<http::string_body> down{http::verb::get, "/v1/media/" + id, 11};
  down.set(http::field::host, "127.0.0.1");
  down.set(http::field::authorization, "Bearer " + fx.owner.token);
  http::write(s, down);
  http::response_parser<http::string_body> p;
  p.body_limit(4 * 1024 * 1024);
  http::read(s, b, p);
  CHECK(p.get().result_int() == 200);
  CHECK(p.get().body() == bytes);

  // An image over its limit: 413, and the connection closes after it.
  up.target("/v1/media");
  up.set(http::field::content_type, "image/png");
  up.body() = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(200000, 'x');
  up.prepare_payload();
  http::write(s, up);
  http::response<http::string_body> refused;
  http::read(s, b, refused);
  CHECK(refused.result_int() == 413);
  CHECK_FALSE(refused.keep_alive());
}
