// How far an archived binlog file reaches in time: the timestamp of its
// last event (binlog v4 format: the magic "\xfebin", then events, each
// with a 19-byte header timestamp u32 | type u8 | server_id u32 |
// event_size u32 | log_pos u32 | flags u16, little-endian). A file closed
// by a rotation ends with its ROTATE event, so this is when the file was
// closed: every transaction committed before then is in it.
//
// Untrusted input: a malformed or encrypted file (or a truncated last
// event) gives the last whole event's time, or nullopt when there is none.
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <optional>

#include "base/bytes.h"

namespace lifeboat {

// Seconds since the epoch of the last complete event; nullopt when the
// bytes are not a binlog or hold no complete event.
std::optional<int64_t> BinlogLastEventTime(ByteView contents);

}  // namespace lifeboat
