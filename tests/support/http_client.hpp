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

// The value of one /metrics series, e.g. `switchboard_limit_hits_total{limit="flood"}`: -1 when
// the series is not there, -2 when /metrics could not be fetched (a connection limit in force).
long metric_value(int port, const std::string& series);
// switchboard_limit_hits_total for one limit (docs/security.md).
inline long limit_hits(int port, const std::string& limit) {
  return metric_value(port, "switchboard_limit_hits_total{limit=\"" + limit + "\"}");
}

}  // namespace sbtest
