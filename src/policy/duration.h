// Duration strings, in the two dialects lifeboat accepts. They differ in what
// "m" means, so they have different names and nobody confuses them:
//
//  * Retention durations (`forget --keep-within 1y6m`, restic's units):
//      y = year  = 365 days      m = MONTH = 30 days      w = week = 7 days
//      d = day   = 24 hours      h = hour
//    Calendar-free on purpose: restic shifts by calendar months/years
//    (AddDate); lifeboat uses fixed lengths so a duration is one number and
//    the result never depends on the time zone or on month lengths. "1m" is
//    therefore exactly 30 days and "1y" exactly 365 days. Minutes and seconds
//    are not retention units.
//
//  * Interval durations (RPO, schedules, timeouts in lifeboat.toml: "30s",
//    "5m", "1h30m", "7d"):
//      s = second   m = MINUTE   h = hour   d = day   w = week
//    Years and months are not interval units.
//
// Both grammars: one or more <decimal digits><unit> terms, e.g. "1y2m3d",
// summed; no sign, no spaces, no fractions, units lower-case. Overflow is an
// error. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace lifeboat {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;
inline constexpr int64_t kNanosPerHour = 3600 * kNanosPerSecond;
inline constexpr int64_t kNanosPerDay = 24 * kNanosPerHour;

// Retention dialect (y/m=months/w/d/h). On success: the duration in
// nanoseconds (>= 0). On failure: kInvalidArgument naming the string.
Result<int64_t> ParseRetentionDuration(std::string_view text);

// Inverse of ParseRetentionDuration for display ("within 7d"): greedy
// y/m/d/h terms ("1y", "1m5d", "36h" → "1d12h"). A remainder below one hour
// (only possible for a programmatically set value) is appended in seconds,
// e.g. "1h30s". 0 → "0h". REQUIRES: nanos >= 0.
std::string FormatRetentionDuration(int64_t nanos);

// Interval dialect (s/m=minutes/h/d/w). On success: whole seconds (>= 0).
// On failure: kInvalidArgument naming the string.
Result<int64_t> ParseDurationSeconds(std::string_view text);

// Inverse of ParseDurationSeconds: greedy d/h/m/s terms ("90" → "1m30s",
// "604800" → "7d"). 0 → "0s". REQUIRES: seconds >= 0.
std::string FormatDurationSeconds(int64_t seconds);

}  // namespace lifeboat
