// WAL continuity: which segments between a base backup's start and the
// newest archived segment of its timeline are missing from the archive.
// Recovery replays WAL in order and stops at the first missing segment, so a
// gap silently shortens a recovery "to the end"; restore postgres checks
// first and says so.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat {

struct WalGap {
  std::string first_missing;   // WAL file name of the first missing segment
  uint64_t missing = 0;        // segments missing in this gap
  std::string next_available;  // the segment after the gap
};

// `archived`: WAL file names in the archive (any kinds, any timelines).
// Looks at the plain segments of `timeline` from `start_wal_file` on, up to
// the newest one archived on that timeline, and returns the gaps in order.
// `segment_size` is the cluster's wal_segment_size in bytes (a power of two
// from 1 MiB to 1 GiB; anything else is treated as 16 MiB).
std::vector<WalGap> FindWalGaps(const std::vector<std::string>& archived, uint32_t timeline,
                                std::string_view start_wal_file, uint64_t segment_size);

}  // namespace lifeboat
