// Test harness: JSON calls to the /v1 HTTP API as one token's holder.
#pragma once

#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <map>
#include <string>

#include "http_client.hpp"

namespace sbtest {

struct api_client {
  int port;
  std::string token;

  http_reply call(const std::string& method, const std::string& path,
                  const boost::json::value& body = nullptr) const {
    std::map<std::string, std::string> headers{{"Authorization", "Bearer " + token},
                                               {"Content-Type", "application/json"}};
    return http_call(port, method, path, body.is_null() ? "" : boost::json::serialize(body), headers);
  }
  // The answer's body, after checking its status.
  boost::json::object ok(const std::string& method, const std::string& path,
                         const boost::json::value& body = nullptr, int status = 200) const {
    auto r = call(method, path, body);
    INFO(method << " " << path << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == status);
    return boost::json::parse(r.body).as_object();
  }
  // The error code of a refused call.
  std::string code(const std::string& method, const std::string& path,
                   const boost::json::value& body = nullptr) const {
    auto r = call(method, path, body);
    INFO(method << " " << path << " -> " << r.status << " " << r.body);
    auto v = boost::json::parse(r.body);
    REQUIRE(v.is_object());
    REQUIRE(v.as_object().contains("error"));
    return std::string(v.at("error").at("code").as_string());
  }
};

}  // namespace sbtest
