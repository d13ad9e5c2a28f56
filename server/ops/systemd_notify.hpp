// sd_notify(3) for Type=notify: readiness, stopping, and the watchdog keep-alive.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace switchboard::server::systemd {

void notify_ready(const std::string& status);
void notify_stopping();
void notify_watchdog();
// The interval at which WATCHDOG=1 must arrive, when systemd asked for one (WatchdogSec=).
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace switchboard::server::systemd
