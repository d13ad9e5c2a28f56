// The WebSocket close codes of the spec (PROTOCOL.md, "Close codes").
#pragma once

#include <cstdint>

namespace switchboard::protocol::close_code {

inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;  // a malformed frame (RFC 6455)
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005;        // never on the wire: a close frame without a code
inline constexpr std::uint16_t invalid_payload = 1007;  // text that is not UTF-8
inline constexpr std::uint16_t too_big = 1009;
inline constexpr std::uint16_t protocol_violation = 4400;
inline constexpr std::uint16_t unauthorized = 4401;
inline constexpr std::uint16_t suspended = 4403;
inline constexpr std::uint16_t hello_timeout = 4408;
inline constexpr std::uint16_t too_old = 4426;
inline constexpr std::uint16_t slow_or_flood = 4429;

}  // namespace switchboard::protocol::close_code
