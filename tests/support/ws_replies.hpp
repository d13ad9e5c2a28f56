// Test harness: reading WebSocket replies and building common requests.
#pragma once

#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <string>

namespace sbtest {

inline std::string str(const boost::json::value& v) {
  return std::string(v.as_string());
}

// The data of a reply that must be ok.
inline boost::json::object ok_data(const boost::json::object& reply) {
  INFO(boost::json::serialize(reply));
  REQUIRE(reply.at("ok").as_bool());
  return reply.at("data").as_object();
}

// The error code of a reply that must be an error (which carries no data).
inline std::string error_code_of(const boost::json::object& reply) {
  INFO(boost::json::serialize(reply));
  REQUIRE_FALSE(reply.at("ok").as_bool());
  CHECK_FALSE(reply.contains("data"));
  return str(reply.at("error").at("code"));
}

// The data of a `send` of a text message.
inline boost::json::object text_send(const std::string& conv, const std::string& cmid,
                                     const std::string& text) {
  return {{"conv", conv},
          {"client_msg_id", cmid},
          {"type", "text"},
          {"body", boost::json::object{{"text", text}}}};
}

}  // namespace sbtest
