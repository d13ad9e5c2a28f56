// Validation of values the spec defines a format for.
#pragma once

#include <string_view>

namespace switchboard::protocol {

// E.164 by format: '+', then 8 to 15 digits, the first not 0.
bool is_e164(std::string_view s);

// A minimum client version as policy takes it: 1 to 4 dot-separated numbers ("2", "2.5.1").
bool is_version(std::string_view s);
// Whether `client` is older than `min`. Each dot-separated component compares as the number its
// leading digits make ("2.10.0-beta" is 2.10.0); missing components are 0. A client version with
// no number at all is below any minimum.
bool version_below(std::string_view client, std::string_view min);

}  // namespace switchboard::protocol
