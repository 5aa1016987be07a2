// zstd compression of blob and object payloads, with per-thread contexts.
// Data that does not shrink is stored raw (the caller asks ShouldStoreRaw).
// Thread-safety: all functions are thread-safe.
#pragma once

#include "base/bytes.h"
#include "base/result.h"

namespace lifeboat {

// Appends the zstd frame of `data` at `level` to *out.
void ZstdCompress(ByteView data, int level, Bytes* out);

// Decompresses one zstd frame. Fails with kCorrupt if the frame is malformed,
// or if the content size is unknown / differs from `expected_size` (pass
// SIZE_MAX when unknown: then at most `max_size` bytes are produced).
Result<Bytes> ZstdDecompress(ByteView frame, size_t expected_size, size_t max_size);

}  // namespace lifeboat
