// Parsing of POST /v1/admin/users/import bodies: CSV with a header row (name, mobile, department,
// title; UTF-8; RFC 4180 quoting) or a JSON array of user objects. Each row is checked on its own:
// a bad row carries its error and never stops the others. Whole-body problems (not UTF-8, no
// header, too many rows) are the call's error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errors.hpp"

namespace switchboard::protocol {

// One row of an import, checked on its own.
struct import_row {
  int row = 0;  // data rows count from 1
  std::string name, mobile, title, email, role = "member";
  std::vector<std::string> department_path;              // CSV `department`, split on '/'
  std::optional<std::vector<std::int64_t>> departments;  // JSON `departments`
  std::optional<protocol::error> error;                  // set: the row is reported, not stored
};

result<std::vector<import_row>> parse_import_csv(std::string_view body, int max_rows);
result<std::vector<import_row>> parse_import_json(std::string_view body, int max_rows);

}  // namespace switchboard::protocol
