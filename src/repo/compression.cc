#include "repo/compression.h"

// ZSTD_createCCtx_advanced and ZSTD_customMem are in zstd's "static linking
// only" section; Debian's libzstd exports them, and their shape has not
// changed since zstd 1.0.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace lifeboat {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// zstd frees a compression context's workspace once it has been oversized
// for a while, and allocates a new one when a bigger input comes along. With
// the backup's mmap threshold (cmd_backup.cc) each new workspace is fresh
// pages, faulted in and zeroed: a thread that compresses 100-byte files and
// the odd 10 KB tree paid ~33k page faults and 0.7 s of 6.7 s CPU on 200,000
// small files. Each thread therefore keeps the largest workspace it freed and
// hands it back for the next allocation it fits.
class WorkspaceCache {
 public:
  WorkspaceCache() = default;
  WorkspaceCache(const WorkspaceCache&) = delete;
  WorkspaceCache& operator=(const WorkspaceCache&) = delete;
  ~WorkspaceCache() { std::free(block_); }

  static void* Alloc(void* opaque, size_t size) {
    auto* self = static_cast<WorkspaceCache*>(opaque);
    if (self->block_ != nullptr && BlockSize(self->block_) >= size) {
      void* block = self->block_;
      self->block_ = nullptr;
      return Payload(block);
    }
    if (size > SIZE_MAX - kHeader) return nullptr;
    void* block = std::malloc(kHeader + size);
    if (block == nullptr) return nullptr;
    std::memcpy(block, &size, sizeof size);
    return Payload(block);
  }

  static void Free(void* opaque, void* payload) {
    if (payload == nullptr) return;
    auto* self = static_cast<WorkspaceCache*>(opaque);
    void* block = static_cast<uint8_t*>(payload) - kHeader;
    if (self->block_ == nullptr) {
      self->block_ = block;
    } else if (BlockSize(block) > BlockSize(self->block_)) {
      std::free(self->block_);
      self->block_ = block;
    } else {
      std::free(block);
    }
  }

 private:
  // The block's usable size sits in front of what zstd sees; 16 bytes keep
  // malloc's alignment.
  static constexpr size_t kHeader = 16;
  static size_t BlockSize(const void* block) {
    size_t size;
    std::memcpy(&size, block, sizeof size);
    return size;
  }
  static void* Payload(void* block) { return static_cast<uint8_t*>(block) + kHeader; }

  void* block_ = nullptr;
};

// Members are destroyed in reverse order: the context (which frees through
// the cache) before the cache.
struct ThreadCompressor {
  WorkspaceCache cache;
  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx{ZSTD_createCCtx_advanced(
      ZSTD_customMem{&WorkspaceCache::Alloc, &WorkspaceCache::Free, &cache})};
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local ThreadCompressor compressor;
  return compressor.ctx.get();
}
ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx(ZSTD_createDCtx());
  return ctx.get();
}

}  // namespace

void ZstdCompress(ByteView data, int level, Bytes* out) {
  size_t start = out->size();
  out->resize(start + ZSTD_compressBound(data.size()));
  size_t n = ZSTD_compressCCtx(ThreadCCtx(), out->data() + start, out->size() - start, data.data(),
                               data.size(), level);
  // Only fails for a too-small buffer, which compressBound rules out.
  out->resize(ZSTD_isError(n) ? start : start + n);
}

bool CompressForStorage(ByteView data, int level, RawBuffer* out) {
  constexpr size_t kProbeMinSize = 256 << 10;
  constexpr size_t kSampleSize = 16 << 10;
  constexpr size_t kSamples = 4;
  if (data.size() < 64) return false;
  ZSTD_CCtx* ctx = ThreadCCtx();
  if (data.size() >= kProbeMinSize) {
    thread_local RawBuffer probe;
    probe.Reserve(ZSTD_compressBound(kSampleSize));
    size_t total = 0;
    for (size_t i = 0; i < kSamples; ++i) {
      const size_t offset = (data.size() - kSampleSize) * i / (kSamples - 1);
      const size_t n = ZSTD_compressCCtx(ctx, probe.data(), probe.capacity(), data.data() + offset,
                                         kSampleSize, 1);
      total += ZSTD_isError(n) ? kSampleSize : n;
    }
    if (total > kSamples * kSampleSize - kSamples * kSampleSize / 64) return false;
  }
  out->Clear();
  const size_t bound = ZSTD_compressBound(data.size());
  uint8_t* dst = out->Grow(bound);
  const size_t n = ZSTD_compressCCtx(ctx, dst, bound, data.data(), data.size(), level);
  if (ZSTD_isError(n)) return false;  // only for a too-small buffer, which bound rules out
  out->Resize(n);
  return n < data.size() - data.size() / 32;
}

Status CheckZstdFrame(ByteView frame, size_t size) {
  const unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) return Corrupt("malformed zstd frame");
  if (content == ZSTD_CONTENTSIZE_UNKNOWN) return Corrupt("zstd frame without content size");
  if (content != size) return Corrupt("zstd frame size does not match the recorded length");
  const size_t compressed = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(compressed) || compressed != frame.size())
    return Corrupt("zstd frame is truncated or followed by other bytes");
  return Status::Ok();
}

Result<Bytes> ZstdDecompress(ByteView frame, size_t expected_size, size_t max_size) {
  unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) return Corrupt("malformed zstd frame");
  if (expected_size != SIZE_MAX) {
    if (size != ZSTD_CONTENTSIZE_UNKNOWN && size != expected_size)
      return Corrupt("zstd frame size does not match the recorded length");
    size = expected_size;
  } else if (size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return Corrupt("zstd frame without content size");
  }
  if (size > max_size) return Corrupt("zstd frame too large");
  Bytes out(size);
  size_t n = ZSTD_decompressDCtx(ThreadDCtx(), out.data(), out.size(), frame.data(), frame.size());
  if (ZSTD_isError(n)) return Corrupt(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != size) return Corrupt("zstd frame decompressed to an unexpected length");
  return out;
}

Status ZstdDecompressInto(ByteView frame, size_t size, RawBuffer* out) {
  const unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return Corrupt("malformed zstd frame");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != size)
    return Corrupt("zstd frame size does not match the recorded length");
  out->Clear();
  uint8_t* dst = out->Grow(size);
  const size_t n = ZSTD_decompressDCtx(ThreadDCtx(), dst, size, frame.data(), frame.size());
  if (ZSTD_isError(n)) {
    out->Clear();
    return Corrupt(std::string("zstd: ") + ZSTD_getErrorName(n));
  }
  if (n != size) {
    out->Clear();
    return Corrupt("zstd frame decompressed to an unexpected length");
  }
  return Status::Ok();
}

}  // namespace lifeboat
