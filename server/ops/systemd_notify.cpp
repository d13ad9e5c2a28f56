// sd_notify via libsystemd: a no-op when NOTIFY_SOCKET is unset (not under systemd).
#include "server/ops/systemd_notify.hpp"

#include <systemd/sd-daemon.h>

namespace switchboard::server::systemd {

void notify_ready(const std::string& status) {
  sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
}
void notify_stopping() {
  sd_notify(0, "STOPPING=1");
}
void notify_watchdog() {
  sd_notify(0, "WATCHDOG=1");
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(usec);
  return std::nullopt;
}

}  // namespace switchboard::server::systemd
