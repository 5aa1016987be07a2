// The point-in-time argument of `restore mariadb --to-time` and `recover
// --to-time`: "YYYY-MM-DD HH:MM:SS[.fraction][Z|+HH:MM|-HH:MM|+00]"
// ('T' may replace the space); without a zone the time is UTC.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace lifeboat {

// Nanoseconds since the epoch; kInvalidArgument naming --to-time otherwise.
Result<int64_t> ParseTargetTime(std::string text);

// "YYYY-MM-DD HH:MM:SS.ffffff+00": a PostgreSQL timestamptz for
// recovery_target_time (microseconds, truncated).
std::string FormatPostgresTime(int64_t ns);

}  // namespace lifeboat
