#include "walspool/wal_name.h"

#include <algorithm>
#include <string>

namespace lifeboat {
namespace {

constexpr size_t kMaxNameLength = 64;  // of a bad name, quoted in the error

bool IsUpperHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

}  // namespace

Status ValidateWalFileName(std::string_view name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  bool ok = false;
  if (name.size() == 24) {
    ok = IsUpperHex(name);
  } else if (ends(".partial")) {
    ok = name.size() == 24 + 8 && IsUpperHex(name.substr(0, 24));
  } else if (ends(".history")) {
    ok = name.size() == 8 + 8 && IsUpperHex(name.substr(0, 8));
  } else if (ends(".backup") || ends(kStreamPartialSuffix)) {
    ok = name.size() == 24 + 1 + 8 + 7 && IsUpperHex(name.substr(0, 24)) && name[24] == '.' &&
         IsUpperHex(name.substr(25, 8));
  }
  if (ok) return Status::Ok();
  return Status(Code::kInvalidArgument,
                "'" + std::string(name.substr(0, kMaxNameLength)) + "' is not a WAL file name",
                "archive-push takes the path PostgreSQL passes as %p (e.g. "
                "pg_wal/000000010000000000000001); archive-get takes %f");
}

}  // namespace lifeboat
