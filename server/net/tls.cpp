// TLS contexts for the listener; see tls.hpp.
#include "server/net/tls.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

namespace switchboard::server {

namespace ssl = boost::asio::ssl;

namespace {
// TLS 1.2: ECDHE key exchange with AEAD ciphers only (Mozilla's "intermediate" list). TLS 1.3
// suites are all AEAD and keep OpenSSL's defaults.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
}  // namespace

tls_contexts::tls_contexts(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), current_(load()) {}

std::shared_ptr<ssl::context> tls_contexts::load() const {
  auto c = std::make_shared<ssl::context>(ssl::context::tls_server);
  c->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                 ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use |
                 SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(c->native_handle(), TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(c->native_handle(), tls12_ciphers) != 1)
    throw std::runtime_error("OpenSSL refused the TLS 1.2 cipher list");
  boost::system::error_code ec;
  c->use_certificate_chain_file(cert_file_, ec);
  if (ec) throw std::runtime_error("tls.cert_file " + cert_file_ + ": " + ec.message());
  c->use_private_key_file(key_file_, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("tls.key_file " + key_file_ + ": " + ec.message());
  if (SSL_CTX_check_private_key(c->native_handle()) != 1)
    throw std::runtime_error("tls.key_file " + key_file_ + " does not match tls.cert_file " + cert_file_);
  return c;
}

std::shared_ptr<ssl::context> tls_contexts::current() const {
  std::lock_guard lk(mu_);
  return current_;
}

std::string tls_contexts::reload() {
  try {
    auto fresh = load();
    std::lock_guard lk(mu_);
    current_ = std::move(fresh);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace switchboard::server
