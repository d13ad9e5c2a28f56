// Forward declaration, so the router header stays light.
#pragma once

namespace switchboard::server {
class api_handlers;
}
