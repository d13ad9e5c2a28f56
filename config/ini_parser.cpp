// A strict INI reader.
#include "config/ini_parser.hpp"

#include <cctype>

namespace switchboard::config {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '_'))
      return false;
  return true;
}

// A value may be wrapped in double quotes to keep leading/trailing spaces or a '#'.
bool unquote(std::string_view v, std::string& out) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    out.assign(v.substr(1, v.size() - 2));
    return out.find('"') == std::string::npos;
  }
  if (!v.empty() && v.front() == '"') return false;
  out.assign(v);
  return true;
}
}  // namespace

std::variant<ini_document, ini_error> parse_ini(std::string_view text) {
  ini_document doc;
  std::string section;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') return ini_error{line_no, "section header must end with ']'"};
      std::string_view name = trim(line.substr(1, line.size() - 2));
      if (!is_name(name)) return ini_error{line_no, "section name must be lowercase letters, digits or '_'"};
      section.assign(name);
      doc[section];
      continue;
    }
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) return ini_error{line_no, "expected 'key = value'"};
    std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    if (!is_name(key)) return ini_error{line_no, "key must be lowercase letters, digits or '_'"};
    if (section.empty()) return ini_error{line_no, "key '" + std::string(key) + "' is outside any [section]"};
    // A comment after a value needs whitespace before it, so URLs with '#' stay intact when quoted.
    if (value.empty() || value.front() != '"') {
      for (std::size_t i = 1; i < value.size(); ++i) {
        if ((value[i] == '#' || value[i] == ';') && std::isspace(static_cast<unsigned char>(value[i - 1]))) {
          value = trim(value.substr(0, i));
          break;
        }
      }
    }
    std::string v;
    if (!unquote(value, v)) return ini_error{line_no, "unbalanced or embedded '\"' in value"};
    auto& keys = doc[section];
    if (keys.count(std::string(key)))
      return ini_error{line_no, "duplicate key '" + section + "." + std::string(key) + "'"};
    keys[std::string(key)] = ini_entry{std::move(v), line_no};
  }
  return doc;
}

}  // namespace switchboard::config
