// An HTTP call's one answer (server/api/http/api_call): the first answer goes out, a second is
// dropped, and a call let go of unanswered is answered 500.
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "server/api/http/api_call.hpp"

using namespace switchboard::server;
namespace http = boost::beast::http;

namespace {
std::shared_ptr<spdlog::logger> quiet() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}
http_response ok_response() {
  http_request req;
  req.version(11);
  return make_json_response(req, http::status::ok, "{}");
}
}  // namespace

TEST_CASE("a call is answered once: the second answer, respond or stream, is dropped") {
  std::vector<unsigned> sent;
  int streams = 0;
  {
    one_answer a([&](http_response r) { sent.push_back(r.result_int()); },
                 [&](streamed_response) { ++streams; }, 11, true, quiet());
    CHECK(a.respond(ok_response()));
    CHECK_FALSE(a.respond(ok_response()));
    CHECK_FALSE(a.stream(streamed_response{}));
  }  // answered: letting go sends nothing more
  CHECK(sent == std::vector<unsigned>{200});
  CHECK(streams == 0);
}

TEST_CASE("a call let go of unanswered is answered 500, keeping the request's keep-alive") {
  std::vector<http_response> sent;
  {
    one_answer a([&](http_response r) { sent.push_back(std::move(r)); }, nullptr, 11, false, quiet());
    one_answer moved(std::move(a));  // the moved-from one owes nothing
  }
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].result() == http::status::internal_server_error);
  CHECK_FALSE(sent[0].keep_alive());
  CHECK(boost::json::parse(sent[0].body()).at("error").at("code") == "internal");
}
