// The web app's files (web/), built by web/build.mjs into a generated source file that is linked
// into the daemon, as the migrations are: one binary serves the app. Each file is kept as it is
// and gzipped, with a strong ETag.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

namespace switchboard::server {
struct services;
struct api_call;
}  // namespace switchboard::server

namespace switchboard::server::api {

struct web_asset {
  std::string_view path;  // "/index.html", "/assets/main-HASH.js"
  std::string_view content_type;
  std::string_view etag;  // quoted, as sent
  std::string_view body;
  std::string_view gzip;
  bool immutable;  // content-hashed name: cached for a year
};

// Every file of the app (generated: web/build.mjs; empty when built with SWITCHBOARD_WEB=OFF).
const std::vector<web_asset>& web_assets();

// The file a GET of `path` gets: index.html for "/", else the file of that path; nullptr when
// there is none.
const web_asset* find_web_asset(std::string_view path);

// Answers a GET or HEAD for the web app: 200 (gzipped when the client takes it), 304 for a
// matching If-None-Match, 404 when there is no such file; index.html with a strict
// Content-Security-Policy.
void serve_web(services& ctx, const std::shared_ptr<api_call>& c);

}  // namespace switchboard::server::api
