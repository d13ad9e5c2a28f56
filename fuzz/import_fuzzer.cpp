// libFuzzer target: a POST /v1/admin/users/import body through the CSV or JSON import parser (the
// first byte chooses). Invariants: nothing crashes; rows count from 1 in order; a row without an
// error has a name of 1 to 200 bytes, an E.164 mobile no earlier row has, and a department path of
// non-empty parts without '/'.
#include <cstdint>
#include <set>
#include <string_view>

#include "protocol/user_import.hpp"
#include "protocol/validate.hpp"

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto r = (data[0] & 1) ? protocol::parse_import_json(body, 1000) : protocol::parse_import_csv(body, 1000);
  if (!r) {
    if (r.err().message.empty()) __builtin_trap();
    return 0;
  }
  std::set<std::string> mobiles;
  int expect = 1;
  for (const auto& row : r.value()) {
    if (row.row != expect++) __builtin_trap();
    if (row.error) {
      if (row.error->message.empty()) __builtin_trap();
      continue;
    }
    if (row.name.empty() || row.name.size() > 200 || !protocol::is_e164(row.mobile)) __builtin_trap();
    if (!mobiles.insert(row.mobile).second) __builtin_trap();
    for (const auto& part : row.department_path)
      if (part.empty() || part.find('/') != std::string::npos) __builtin_trap();
  }
  return 0;
}
