// The protocol's clock: timestamps are milliseconds since the Unix epoch (UTC), as every `ts`,
// `until` and `_ms` field on the wire counts them. The one definition for every layer.
#pragma once

#include <chrono>
#include <cstdint>

namespace switchboard::protocol {

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace switchboard::protocol
