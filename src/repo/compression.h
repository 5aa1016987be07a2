// zstd compression of blob and object payloads, with per-thread contexts.
// Data that does not shrink is stored raw (the caller asks ShouldStoreRaw).
// Thread-safety: all functions are thread-safe.
#pragma once

#include "base/bytes.h"
#include "base/raw_buffer.h"
#include "base/result.h"

namespace lifeboat {

// Appends the zstd frame of `data` at `level` to *out.
void ZstdCompress(ByteView data, int level, Bytes* out);

// Compresses a blob for storage: fills *out with the zstd frame of `data` at
// `level` and returns true when that saves at least 1/32 of the size;
// returns false (store raw; *out unspecified) otherwise. Data of 256 KiB or
// more is probed first: four 16 KiB samples compressed at level 1 that save
// less than 1/64 mark it incompressible (media, archives, encrypted files),
// which skips the full attempt at ~1/16 of its cost.
bool CompressForStorage(ByteView data, int level, RawBuffer* out);

// Decompresses one zstd frame. Fails with kCorrupt if the frame is malformed,
// or if the content size is unknown / differs from `expected_size` (pass
// SIZE_MAX when unknown: then at most `max_size` bytes are produced).
Result<Bytes> ZstdDecompress(ByteView frame, size_t expected_size, size_t max_size);
// Cheap structural check of a stored blob's frame without decompressing it:
// exactly one zstd frame spanning all of `frame` (walks the block headers
// only) whose header records a content size of `size`. kCorrupt otherwise.
Status CheckZstdFrame(ByteView frame, size_t size);

// Decompresses a frame that must hold exactly `size` bytes into *out
// (replacing its contents). kCorrupt otherwise.
Status ZstdDecompressInto(ByteView frame, size_t size, RawBuffer* out);

}  // namespace lifeboat
