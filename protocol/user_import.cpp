// Import bodies, parsed and checked row by row.
#include "protocol/user_import.hpp"

#include <boost/json.hpp>
#include <map>

#include "protocol/fields.hpp"
#include "protocol/json_util.hpp"
#include "protocol/validate.hpp"

namespace switchboard::protocol {

namespace {

constexpr std::size_t max_name_bytes = 200;

// RFC 4180 records: fields split on commas, quoted fields may hold commas, quotes ("") and line
// breaks; CRLF or LF ends a record. Returns false on a quote left open.
bool split_csv(std::string_view s, std::vector<std::vector<std::string>>& records) {
  std::vector<std::string> rec;
  std::string field;
  bool quoted = false, was_quoted = false;
  auto end_field = [&] {
    rec.push_back(std::move(field));
    field.clear();
    was_quoted = false;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    if (quoted) {
      if (ch == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (ch == ',') {
      end_field();
    } else if (ch == '\n' || ch == '\r') {
      if (ch == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      end_field();
      records.push_back(std::move(rec));
      rec.clear();
    } else {
      field += ch;
    }
  }
  if (quoted) return false;
  if (!field.empty() || !rec.empty() || was_quoted) {
    end_field();
    records.push_back(std::move(rec));
  }
  return true;
}

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// "Sales/East" -> {"Sales", "East"}; an empty segment or one over 200 bytes is an error.
std::optional<error> split_path(const std::string& path, std::vector<std::string>& out) {
  if (path.empty()) return std::nullopt;
  std::size_t i = 0;
  while (true) {
    auto slash = path.find('/', i);
    auto seg = trim(path.substr(i, slash == std::string::npos ? std::string::npos : slash - i));
    if (seg.empty() || seg.size() > max_name_bytes || out.size() >= 32)
      return error{error_code::bad_request,
                   "department must be a path like Sales/East (each part 1 to 200 bytes)"};
    out.push_back(std::move(seg));
    if (slash == std::string::npos) return std::nullopt;
    i = slash + 1;
  }
}

// The checks every row gets, whatever the format; the first problem found is kept.
void check_row(import_row& r, std::map<std::string, int>& seen) {
  auto bad = [&](std::string m) {
    if (!r.error) r.error = error{error_code::bad_request, std::move(m)};
  };
  if (r.name.empty() || r.name.size() > max_name_bytes) bad("name must be 1 to 200 bytes");
  if (!protocol::is_e164(r.mobile)) bad("mobile must be E.164, e.g. +8613800000000");
  if (r.title.size() > max_name_bytes) bad("title must be at most 200 bytes");
  if (r.error) return;
  auto [it, fresh] = seen.emplace(r.mobile, r.row);
  if (!fresh) bad("mobile " + r.mobile + " repeats row " + std::to_string(it->second));
}

}  // namespace

protocol::result<std::vector<import_row>> parse_import_csv(std::string_view body, int max_rows) {
  if (body.size() >= 3 && body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // a BOM
  if (!protocol::is_valid_utf8(body) || body.find('\0') != std::string_view::npos)
    return error{error_code::bad_request, "the CSV must be UTF-8 text"};
  std::vector<std::vector<std::string>> records;
  if (!split_csv(body, records)) return error{error_code::bad_request, "the CSV ends inside a quoted field"};
  if (records.empty())
    return error{error_code::bad_request, "the CSV needs a header row: name,mobile,department,title"};
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < records[0].size(); ++i) {
    std::string h = trim(records[0][i]);
    for (auto& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (h != "name" && h != "mobile" && h != "department" && h != "title")
      return error{error_code::bad_request, "unknown CSV column '" + h.substr(0, 64) +
                                                "': the header is name,mobile,department,title"};
    if (!col.emplace(h, i).second)
      return error{error_code::bad_request, "CSV column '" + h + "' appears twice"};
  }
  if (!col.count("name") || !col.count("mobile"))
    return error{error_code::bad_request, "the CSV header must name at least name and mobile"};
  std::vector<import_row> rows;
  std::map<std::string, int> seen;
  for (std::size_t i = 1; i < records.size(); ++i) {
    const auto& rec = records[i];
    if (rec.size() == 1 && trim(rec[0]).empty()) continue;  // a blank line
    if (static_cast<int>(rows.size()) >= max_rows)
      return error{error_code::too_large, "the import has more than " + std::to_string(max_rows) + " rows"};
    import_row r;
    r.row = static_cast<int>(rows.size()) + 1;
    if (rec.size() != records[0].size()) {
      r.error =
          error{error_code::bad_request, "the row has " + std::to_string(rec.size()) +
                                             " fields, the header " + std::to_string(records[0].size())};
      rows.push_back(std::move(r));
      continue;
    }
    auto get = [&](const char* k) { return col.count(k) ? trim(rec[col[k]]) : std::string(); };
    r.name = get("name");
    r.mobile = get("mobile");
    r.title = get("title");
    if (auto e = split_path(get("department"), r.department_path)) r.error = e;
    check_row(r, seen);
    rows.push_back(std::move(r));
  }
  return rows;
}

protocol::result<std::vector<import_row>> parse_import_json(std::string_view body, int max_rows) {
  auto parsed = protocol::parse_untrusted_json(body);
  if (!parsed) return parsed.err();
  if (!parsed.value().is_array())
    return error{error_code::bad_request, "the body must be a JSON array of users"};
  const auto& arr = parsed.value().get_array();
  if (static_cast<int>(arr.size()) > max_rows)
    return error{error_code::too_large, "the import has more than " + std::to_string(max_rows) + " rows"};
  std::vector<import_row> rows;
  std::map<std::string, int> seen;
  for (const auto& v : arr) {
    import_row r;
    r.row = static_cast<int>(rows.size()) + 1;
    if (!v.is_object()) {
      r.error = error{error_code::bad_request, "each row must be a JSON object"};
      rows.push_back(std::move(r));
      continue;
    }
    const auto& o = v.get_object();
    protocol::fields f(o, "");
    r.name = f.str("name", 1, max_name_bytes);
    r.mobile = f.str("mobile", 1, 32);
    r.title = f.opt_str("title", 0, max_name_bytes).value_or("");
    r.email = f.opt_str("email", 0, 254).value_or("");
    r.role = f.opt_str("role", 1, 16).value_or("member");
    if (f.ok() && r.role != "member" && r.role != "admin")
      f.fail(error_code::bad_request, "role must be member or admin");
    if (f.ok() && o.contains("password"))
      f.fail(error_code::bad_request,
             "import sets no passwords: members log in with SMS codes or are invited");
    if (f.ok() && o.contains("departments")) r.departments = f.id_set("departments", 100);
    if (f.ok() && o.contains("department") && !r.departments) {
      auto path = f.str("department", 0, 4096);
      if (f.ok())
        if (auto e = split_path(path, r.department_path)) f.fail(e->code, e->message);
    }
    if (!f.ok()) r.error = f.err();
    check_row(r, seen);
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace switchboard::protocol
