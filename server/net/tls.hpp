// TLS for the listener: the server context (TLS 1.2 and later, forward-secret AEAD ciphers) and
// its reload. Each connection keeps the context it was accepted with, so a reload on SIGHUP
// changes what new connections get and drops none.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <mutex>
#include <string>

namespace switchboard::server {

using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

class tls_contexts {
 public:
  // Loads the certificate chain and key; throws std::runtime_error naming the file on failure.
  tls_contexts(std::string cert_file, std::string key_file);
  // The context for a new connection.
  std::shared_ptr<boost::asio::ssl::context> current() const;
  // Loads the files again; on failure keeps the old context and returns why.
  std::string reload();

 private:
  std::shared_ptr<boost::asio::ssl::context> load() const;
  const std::string cert_file_, key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace switchboard::server
