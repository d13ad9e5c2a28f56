// Validation and ordering of migration files.
#include "storage/migrations.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace switchboard::storage {

std::variant<std::vector<migration>, std::string> order_migrations(const std::vector<embedded_file>& files) {
  std::vector<migration> out;
  for (const auto& f : files) {
    std::size_t digits = 0;
    while (digits < f.name.size() && std::isdigit(static_cast<unsigned char>(f.name[digits]))) ++digits;
    bool ok_suffix = f.name.size() > 4 && f.name.compare(f.name.size() - 4, 4, ".sql") == 0;
    if (digits == 0 || digits > 9 || digits >= f.name.size() || f.name[digits] != '_' || !ok_suffix)
      return "migration '" + f.name + "' is not named NNNN_description.sql";
    out.push_back(migration{std::stoi(f.name.substr(0, digits)), f.name, f.sql});
  }
  std::sort(out.begin(), out.end(),
            [](const migration& a, const migration& b) { return a.version < b.version; });
  for (std::size_t i = 0; i < out.size(); ++i) {
    int want = static_cast<int>(i) + 1;
    if (out[i].version != want) {
      if (i > 0 && out[i].version == out[i - 1].version)
        return "migrations '" + out[i - 1].name + "' and '" + out[i].name + "' share version " +
               std::to_string(out[i].version);
      return "migration version " + std::to_string(want) + " is missing (found '" + out[i].name + "')";
    }
  }
  return out;
}

const std::vector<migration>& builtin_migrations() {
  static const std::vector<migration> ordered = [] {
    auto r = order_migrations(embedded_migration_files());
    if (auto* err = std::get_if<std::string>(&r)) throw std::logic_error(*err);
    return std::get<std::vector<migration>>(std::move(r));
  }();
  return ordered;
}

int latest_builtin_version() {
  const auto& m = builtin_migrations();
  return m.empty() ? 0 : m.back().version;
}

}  // namespace switchboard::storage
