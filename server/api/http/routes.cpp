// Route lookup over the table.
#include "server/api/http/routes.hpp"

#include <algorithm>

#include "protocol/fields.hpp"

namespace switchboard::server::api {

namespace {
// Whether `path` matches `pattern` segment by segment; the {placeholder} segment goes to `param`.
bool matches(std::string_view pattern, std::string_view path, std::string_view& param) {
  while (true) {
    auto ps = pattern.find('/', 1), ts = path.find('/', 1);
    auto pseg = pattern.substr(0, ps), tseg = path.substr(0, ts);
    if (pseg.size() >= 3 && pseg[1] == '{') {
      param = tseg.substr(1);
    } else if (pseg != tseg) {
      return false;
    }
    if (ps == std::string_view::npos || ts == std::string_view::npos)
      return ps == std::string_view::npos && ts == std::string_view::npos;
    pattern.remove_prefix(ps);
    path.remove_prefix(ts);
  }
}
}  // namespace

route_lookup find_route(const std::vector<route>& routes, boost::beast::http::verb method,
                        std::string_view path, bool (*usable)(const route&, const void* arg),
                        const void* arg) {
  route_lookup out;
  std::vector<boost::beast::http::verb> allowed;
  for (const auto& r : routes) {
    if (usable && !usable(r, arg)) continue;
    if (out.path_route) {
      if (r.pattern != out.path_route->pattern) continue;
    } else {
      std::string_view param;
      if (!matches(r.pattern, path, param)) continue;
      out.path_route = &r;
      if (!param.empty()) out.id = protocol::parse_id(param);
    }
    if (r.method == method && !out.hit) out.hit = &r;
    if (std::find(allowed.begin(), allowed.end(), r.method) != allowed.end()) continue;
    allowed.push_back(r.method);
    out.allow += (out.allow.empty() ? "" : ", ") + std::string(boost::beast::http::to_string(r.method));
  }
  return out;
}

std::vector<std::string> route_names() {
  std::vector<std::string> out;
  for (const auto& r : route_table())
    if (std::find(out.begin(), out.end(), r.name) == out.end()) out.emplace_back(r.name);
  return out;
}

}  // namespace switchboard::server::api
