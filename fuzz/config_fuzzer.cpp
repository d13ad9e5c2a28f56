// libFuzzer target: an INI file through the strict config parser and the settings schema. The
// input's first byte chooses whether a few environment overrides are added too. Invariant:
// every input is either settings or a config_error with a message; nothing crashes.
#include <cstdint>
#include <string>

#include "config/settings.hpp"

using namespace switchboard::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  environment env;
  if (data[0] & 1) env["SWITCHBOARD_LIMITS_REQUEST_BURST"] = text.substr(0, 12);
  if (data[0] & 2) env["SWITCHBOARD_SERVER_TRUSTED_PROXIES"] = text.substr(0, 40);
  if (data[0] & 4) env["SWITCHBOARD_SERVER_LISTEN"] = text.substr(0, 30);
  auto r = load_settings_from_text(text, "fuzz.ini", env);
  if (auto* e = std::get_if<config_error>(&r))
    if (e->to_string().empty()) __builtin_trap();
  return 0;
}
