// Test harness: a blocking HTTP/1.1 client on Beast, one request per connection unless reused.
#pragma once

#include <map>
#include <string>

namespace sbtest {

struct http_reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lowercase names
};

http_reply http_call(int port, const std::string& method, const std::string& target,
                     const std::string& body = "", const std::map<std::string, std::string>& headers = {});
inline http_reply http_get(int port, const std::string& target) {
  return http_call(port, "GET", target);
}

}  // namespace sbtest
