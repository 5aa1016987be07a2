// Reading the time out of a PostgreSQL WAL segment: the newest commit,
// abort or restore point it records. That is the latest moment a recovery
// replaying this segment can reach (what recovery_target_time compares
// with), so `status` and the agent report it as a PostgreSQL component's
// recovery point instead of the newest base backup's time.
//
// The segment is untrusted input (it comes out of the repository): pages
// must carry the segment's own addresses (a recycled segment's stale tail
// carries older ones), records must fit, and every record's CRC-32C must
// match; the walk stops at the first record that fails, as PostgreSQL's
// own replay does. Layout of PostgreSQL 10–17 (page magic not checked, so
// that a new major version does not break status; the checks above catch
// a layout that differs).
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <optional>

#include "base/bytes.h"

namespace lifeboat {

// The newest transaction commit/abort or restore point time in `segment`
// (a whole WAL segment, or a prefix of one as stream-wal stores it), in
// nanoseconds since the Unix epoch; nullopt when it records none.
std::optional<int64_t> LastWalRecordTime(ByteView segment);

}  // namespace lifeboat
