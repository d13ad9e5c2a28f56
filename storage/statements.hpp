// Every store's prepared statements, declared on a new connection in one call: the list lives here,
// in storage, so no caller has to know which stores there are or prepare another's statements.
#pragma once

#include <pqxx/connection>

namespace switchboard::storage {

// Declares the statements of every store on `c` (each store names its own, prefixed by its table).
void prepare_all(pqxx::connection& c);

}  // namespace switchboard::storage
