// RFC 3339 timestamps with nanosecond precision, used by snapshot documents
// and shown by the CLI. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace lifeboat {

// Formats nanoseconds since the Unix epoch as UTC with exactly nine fraction
// digits: "2026-11-22T00:12:03.123456789Z". Exact for every int64 value
// (negative values are before 1970).
std::string FormatTimeRfc3339(int64_t ns);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('T' may also be
// 't' or ' ', 'Z' may be 'z'). Fraction digits beyond nine are truncated; a
// leap second (:60) is accepted as the following second.
// Fails with kInvalidArgument on malformed text or a time outside int64 ns.
Result<int64_t> ParseTimeRfc3339(std::string_view text);

}  // namespace lifeboat
