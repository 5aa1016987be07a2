// WalStreamSpool: the local files of `postgres stream-wal`. WAL received
// from the server is written into "<segment>.partial" (created at the
// segment's full size, zero-filled, as pg_receivewal does); when the last
// byte of a segment arrives the file is synced and renamed to "<segment>"
// (a completed segment, waiting to be stored in the repository and then
// removed). Flush() makes what was written durable (fdatasync) and only then
// advances flush_lsn: the position the receiver may report to the server.
//
// Owns its open file. Thread-safety: one thread uses an instance.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace lifeboat {

class WalStreamSpool {
 public:
  // `dir` must exist. REQUIRES: segment_size a power of two.
  WalStreamSpool(std::string dir, uint32_t timeline, uint64_t segment_size);
  ~WalStreamSpool();
  WalStreamSpool(const WalStreamSpool&) = delete;
  WalStreamSpool& operator=(const WalStreamSpool&) = delete;

  // Positions the writer at `lsn` (write_lsn = flush_lsn = lsn) and opens
  // the partial file of its segment (kept if it exists: the stream rewrites
  // it with the same bytes).
  Status Begin(uint64_t lsn);
  // Writes WAL bytes that start at `lsn`. kCorrupt unless lsn ==
  // write_lsn() (a gap or overlap in the stream). Completing a segment syncs
  // and renames it (flush_lsn then reaches the segment's end).
  Status Write(uint64_t lsn, ByteView data);
  // fdatasync of the partial file; then flush_lsn = write_lsn.
  Status Flush();

  uint64_t write_lsn() const { return write_lsn_; }
  uint64_t flush_lsn() const { return flush_lsn_; }
  uint32_t timeline() const { return timeline_; }
  uint64_t segment_size() const { return segment_size_; }
  // The segment being written and how many of its bytes are flushed.
  std::string current_segment() const;
  uint64_t current_flushed_bytes() const;
  std::string PartialPath() const;
  const std::string& dir() const { return dir_; }

  // Completed segment files waiting in the spool (names, sorted).
  Result<std::vector<std::string>> CompletedSegments() const;
  // The newest partial file of this timeline in the spool: its segment's
  // start position (a restart resumes there).
  Result<std::optional<uint64_t>> NewestPartialStart() const;
  // The position after the newest completed segment of this timeline in the
  // spool, if any.
  Result<std::optional<uint64_t>> NewestCompletedEnd() const;

 private:
  Status OpenSegment(uint64_t segment_start);
  Status CompleteSegment();

  std::string dir_;
  uint32_t timeline_;
  uint64_t segment_size_;
  int fd_ = -1;
  uint64_t segment_start_ = 0;
  uint64_t write_lsn_ = 0;
  uint64_t flush_lsn_ = 0;
};

// The start position of WAL segment file `name` (24 hex digits) and its
// timeline; false if it is not a segment name.
bool ParseSegmentName(std::string_view name, uint64_t segment_size, uint32_t* timeline,
                      uint64_t* start);

}  // namespace lifeboat
