// The messages of PostgreSQL's physical streaming replication protocol
// carried in CopyData once START_REPLICATION is running: pure functions of
// bytes, no I/O (fuzzed by wal_stream_protocol_fuzz.cc).
//
//   server → client  'w' XLogData:  dataStart u64, walEnd u64, sendTime i64, WAL bytes
//                    'k' keepalive: walEnd u64, sendTime i64, replyRequested u8
//   client → server  'r' standby status update: write u64, flush u64,
//                    apply u64, clientTime i64, replyRequested u8
//
// Integers are big-endian; times are microseconds since 2000-01-01 UTC.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace lifeboat {

struct ReplicationMessage {
  enum class Kind { kXLogData, kKeepalive };
  Kind kind = Kind::kKeepalive;
  uint64_t data_start = 0;  // kXLogData: the WAL position of data[0]
  uint64_t wal_end = 0;     // the server's end of WAL
  int64_t send_time = 0;
  bool reply_requested = false;  // kKeepalive
  ByteView data;                 // kXLogData: points into the parsed message
};

// Parses one CopyData message. kCorrupt for a truncated or malformed one,
// naming the message; kUnsupported for an unknown type byte. A data range
// that would wrap the 64-bit WAL position is kCorrupt.
Result<ReplicationMessage> ParseReplicationMessage(ByteView message);

// A standby status update ('r'), 34 bytes.
std::string EncodeStandbyStatus(uint64_t write_lsn, uint64_t flush_lsn, uint64_t apply_lsn,
                                int64_t client_time_us, bool reply_requested);

// Microseconds since 2000-01-01 UTC for a Unix time in microseconds.
int64_t PgEpochMicros(int64_t unix_micros);

}  // namespace lifeboat
