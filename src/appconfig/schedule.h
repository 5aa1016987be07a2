// Pinned backup times in lifeboat.toml (`schedule = "daily 02:30"`): a small
// grammar, always in UTC (like retention buckets, so the outcome does not
// depend on the machine's time zone):
//
//   hourly [:MM]                  every hour at minute MM (default :00)
//   daily HH:MM[,HH:MM...]        every day at each listed time
//   weekly DAY[,DAY...] HH:MM     on the listed days (mon tue wed thu fri sat
//                                 sun) at HH:MM
//
// Hours 00-23 and minutes 00-59, two digits each; words lower-case; tokens
// separated by spaces; duplicates are errors. Examples: "hourly :15",
// "daily 02:30", "daily 02:30,14:30", "weekly sun 03:00",
// "weekly mon,thu 01:00".
//
// A schedule is kept as the set of its points in a week (minutes since
// Monday 00:00 UTC), which answers both questions the planner and the agent
// ask: the longest gap between two runs, and the next run after a time.
// Thread-safety: value type and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace lifeboat {

struct PinnedSchedule {
  std::string text;                  // as written
  std::vector<int> minutes_of_week;  // sorted, distinct, in [0, 7*24*60)

  // The longest time between two consecutive runs (wrapping around the
  // week), in seconds. A single weekly run gives 7 days.
  int64_t MaxGapSeconds() const;
  // The first run strictly after `unix_seconds` (UTC), in seconds since the
  // epoch. REQUIRES: unix_seconds >= 0.
  int64_t NextRunAfter(int64_t unix_seconds) const;
};

// On failure: kInvalidArgument whose message says what is wrong, without the
// text itself (the caller names the key and the value).
Result<PinnedSchedule> ParsePinnedSchedule(std::string_view text);

}  // namespace lifeboat
