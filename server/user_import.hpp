// Parsing of POST /v1/admin/users/import bodies: CSV with a header row (name, mobile, department,
// title; UTF-8; RFC 4180 quoting) or a JSON array of user objects. Each row is checked on its own:
// a bad row carries its error and never stops the others. Whole-body problems (not UTF-8, no
// header, too many rows) are the call's error.
#pragma once

#include <string_view>
#include <vector>

#include "protocol/errors.hpp"
#include "storage/import_store.hpp"

namespace switchboard::server {

protocol::result<std::vector<storage::import_row>> parse_import_csv(std::string_view body, int max_rows);
protocol::result<std::vector<storage::import_row>> parse_import_json(std::string_view body, int max_rows);

}  // namespace switchboard::server
