// A strict INI reader: [section], key = value, '#' or ';' comments; every error names its line.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace switchboard::config {

struct ini_entry {
  std::string value;
  int line = 0;
};

// section -> key -> entry. Keys outside any section, duplicate keys and malformed lines are errors.
using ini_document = std::map<std::string, std::map<std::string, ini_entry>>;

struct ini_error {
  int line = 0;
  std::string message;
};

std::variant<ini_document, ini_error> parse_ini(std::string_view text);

}  // namespace switchboard::config
