// Validation of values the spec defines a format for.
#pragma once

#include <string_view>

namespace switchboard::protocol {

// E.164 by format: '+', then 8 to 15 digits, the first not 0.
bool is_e164(std::string_view s);

}  // namespace switchboard::protocol
