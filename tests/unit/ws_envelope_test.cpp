// The WebSocket request envelope and reply frames (protocol/ws_envelope), fed frames as text.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "protocol/ws_envelope.hpp"

using namespace switchboard;
using protocol::error_code;

TEST_CASE("a request's envelope: id as given, op, and data ({} when absent or null)") {
  auto r = protocol::parse_ws_envelope(R"({"id":"a1","op":"send","data":{"conv":"5"}})");
  REQUIRE_FALSE(r.failure);
  CHECK(r.envelope.id == boost::json::value("a1"));
  CHECK(r.envelope.op == "send");
  CHECK(r.envelope.data.at("conv") == "5");
  auto numeric = protocol::parse_ws_envelope(R"({"id":7,"op":"ping","data":null})");
  REQUIRE_FALSE(numeric.failure);
  CHECK(numeric.envelope.id == boost::json::value(7));
  CHECK(numeric.envelope.data.empty());
  CHECK_FALSE(protocol::parse_ws_envelope(R"({"id":1,"op":"ping"})").failure);
}

TEST_CASE("a bad envelope is bad_request with its reason, and keeps the id when it was readable") {
  struct bad {
    const char* text;
    const char* why;
    bool id_kept;
  };
  for (auto b :
       {bad{"not json", "", false}, bad{"[1,2]", "a request must be a JSON object", false},
        bad{R"({"id":"x"})", "op is required", true}, bad{R"({"id":"x","op":5})", "op is required", true},
        bad{R"({"op":"ping"})", "id is required", false},
        bad{R"({"id":{"a":1},"op":"ping"})", "id is required", false},
        bad{R"({"id":"x","op":"ping","data":[1]})", "data must be an object", true}}) {
    INFO(b.text);
    auto r = protocol::parse_ws_envelope(b.text);
    REQUIRE(r.failure);
    CHECK(r.failure->code == error_code::bad_request);
    if (*b.why) CHECK(r.failure->message == b.why);
    CHECK(r.envelope.id.is_null() == !b.id_kept);
  }
}

TEST_CASE("reply, error and event frames") {
  auto ok = boost::json::parse(protocol::encode_ws_reply("r1", {{"seq", 3}}));
  CHECK(ok.at("id") == "r1");
  CHECK(ok.at("ok") == true);
  CHECK(ok.at("data").at("seq") == 3);
  auto err = boost::json::parse(
      protocol::encode_ws_error(9, protocol::error{error_code::rate_limited, "slow down", 250}));
  CHECK(err.at("id") == 9);
  CHECK(err.at("ok") == false);
  CHECK(err.at("error").at("code") == "rate_limited");
  CHECK(err.at("error").at("retry_after_ms") == 250);
  auto ev = boost::json::parse(protocol::encode_ws_event("typing", {{"conv", "4"}}));
  CHECK(ev.at("ev") == "typing");
  CHECK(ev.at("data").at("conv") == "4");
}
