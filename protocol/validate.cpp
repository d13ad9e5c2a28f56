// Validation of values the spec defines a format for.
#include "protocol/validate.hpp"

namespace switchboard::protocol {

bool is_e164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (std::size_t i = 1; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

}  // namespace switchboard::protocol
