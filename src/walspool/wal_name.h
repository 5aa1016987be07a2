// WAL file names as PostgreSQL writes them, checked before any name from
// PostgreSQL, a spool or a repository listing becomes part of a path.
#pragma once

#include <string_view>

#include "base/status.h"

namespace lifeboat {

// Streamed partial segments (`postgres stream-wal`, docs/FORMAT.md §14):
// "<segment>.<valid bytes, 8 hex>.stream". The object holds the whole
// segment-sized file (zero-filled after the valid bytes). Each is
// write-once; a longer one supersedes shorter ones, and the full segment
// supersedes them all.
inline constexpr std::string_view kStreamPartialSuffix = ".stream";

// Checks that `name` is a WAL file name PostgreSQL archives: 24 hex digits
// (a segment), optionally followed by ".partial"; 8 hex digits + ".history";
// or 24 hex digits + "." + 8 hex digits + ".backup". Uppercase hex, as
// PostgreSQL writes them. kInvalidArgument otherwise.
Status ValidateWalFileName(std::string_view name);

}  // namespace lifeboat
