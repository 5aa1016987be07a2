#include "repo/compression.h"

#include <zstd.h>

#include <memory>

namespace lifeboat {
namespace {

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx(ZSTD_createCCtx());
  return ctx.get();
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
