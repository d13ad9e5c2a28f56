// `internal` errors: a correlation id goes to the log with the detail and to the client alone.
#pragma once

#include <string>
#include <string_view>

#include "protocol/errors.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::server {

std::string new_correlation_id();  // 16 lowercase hex characters

// Logs `detail` under a fresh correlation id and returns the client-facing error naming only the id.
protocol::error internal_error(spdlog::logger& log, std::string_view context, std::string_view detail);

}  // namespace switchboard::server
