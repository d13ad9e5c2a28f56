// Logger setup: text or JSON lines, to standard error or a file that SIGHUP reopens.
#pragma once

#include <memory>

#include "config/settings.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::server {

// Builds the process logger from config and makes it spdlog's default.
std::shared_ptr<spdlog::logger> make_logger(const config::settings::logging_section& cfg);

// Reopens the log file after rotation (SIGHUP). A no-op when logging to standard error.
void reopen_log_files();

}  // namespace switchboard::server
