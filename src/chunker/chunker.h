// Content-defined chunking: FastCDC with normalized chunking (two masks: a
// stricter one before the average size, a looser one after). The gear table is
// derived from a repository secret so chunk boundaries do not reveal content.
// Pure functions over bytes; no I/O. See docs/FORMAT.md "Chunking".
// Thread-safety: a Chunker is immutable and may be shared between threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "base/status.h"

namespace lifeboat {

struct ChunkerParams {
  size_t min_size = 256 * 1024;
  size_t avg_size = 1024 * 1024;  // must be a power of two
  size_t max_size = 8 * 1024 * 1024;
};

using GearTable = std::array<uint64_t, 256>;

// Deterministic gear table from a 32-byte secret seed (HKDF-expanded; see FORMAT.md).
GearTable GearTableFromSeed(ByteView seed);

class Chunker {
 public:
  // REQUIRES: ValidateParams(params).ok().
  Chunker(const GearTable& gear, ChunkerParams params);

  // OK iff avg_size is a power of two in [64, 2^40] and
  // 1 <= min_size <= avg_size <= max_size; otherwise kInvalidArgument.
  // Call it on parameters read from a repository config before constructing.
  static Status ValidateParams(const ChunkerParams& params);

  // Returns the length of the first chunk of `data`, which starts at a chunk
  // boundary. The caller must pass at least max_size bytes unless the data
  // ends within them (end of file); then the whole remainder may be returned.
  // Result is in [1, min(data.size(), max_size)]; 0 only for empty data.
  size_t FindCut(ByteView data) const;

  const ChunkerParams& params() const { return params_; }

 private:
  friend class ChunkScanner;
  GearTable gear_;
  ChunkerParams params_;
  uint64_t mask_small_;  // used before avg_size: harder to match
  uint64_t mask_large_;  // used after avg_size: easier to match
};

// The incremental form of FindCut, for data that arrives in pieces (reads of
// a file): Scan() is fed consecutive pieces of a stream and reports where the
// current chunk ends; it finds exactly the cuts FindCut would. The caller
// keeps the bytes; the scanner keeps only a position and the rolling hash.
// Thread-safety: one scanner per stream; the Chunker must outlive it.
class ChunkScanner {
 public:
  static constexpr size_t kNoCut = static_cast<size_t>(-1);

  explicit ChunkScanner(const Chunker& chunker) : chunker_(chunker) {}

  // Feeds the next bytes of the stream. If the current chunk ends within
  // `more`, returns how many bytes of `more` belong to it (1..more.size())
  // and starts a new chunk after them (the rest of `more` is NOT consumed:
  // feed it again). Otherwise consumes all of `more` and returns kNoCut. At
  // the end of the stream the bytes fed since the last cut form the last
  // chunk.
  size_t Scan(ByteView more);

  // Bytes fed since the last cut.
  size_t pending() const { return pos_; }

 private:
  const Chunker& chunker_;
  size_t pos_ = 0;  // position in the current chunk
  uint64_t hash_ = 0;
};

}  // namespace lifeboat
