// SHA-256 (object names: hash of stored bytes), HMAC-SHA-256 (blob ids: keyed
// hash of plaintext) and HKDF-SHA-256 (sub-key derivation), all through
// OpenSSL so the CPU's SHA extensions are used.
// Thread-safety: free functions are thread-safe; a Sha256Stream is used by one
// thread; a BlobIdHasher is immutable and may be shared between threads.
#pragma once

#include <memory>
#include <string_view>

#include "base/id.h"
#include "crypto/keys.h"

namespace lifeboat {

Id Sha256(ByteView data);

// Incremental SHA-256.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(ByteView data);
  Id Finish();  // The stream cannot be updated afterwards.

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Id HmacSha256(const Key32& key, ByteView data);

// Computes blob ids: HMAC-SHA-256 keyed by the repository's id key.
class BlobIdHasher {
 public:
  explicit BlobIdHasher(const Key32& key) : key_(key) {}
  Id Compute(ByteView plaintext) const { return HmacSha256(key_, plaintext); }

 private:
  friend class BlobIdStream;
  Key32 key_;
};

// A blob id computed over pieces: Finish() equals Compute() of everything
// given to Update() since the start or the last Finish(). A reader can hash
// each piece right after reading it, while it is still in the CPU's cache;
// hashing a whole chunk afterwards (chunks run to 8 MiB) reads much of it
// back from memory, which on the benchmark VM runs SHA-256 at ~1.15 GB/s
// instead of ~1.9 GB/s. Used by one thread at a time; must not outlive the
// hasher.
class BlobIdStream {
 public:
  explicit BlobIdStream(const BlobIdHasher& hasher);
  ~BlobIdStream();
  BlobIdStream(const BlobIdStream&) = delete;
  BlobIdStream& operator=(const BlobIdStream&) = delete;
  void Update(ByteView data);
  Id Finish();  // and starts the next id

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HKDF-SHA-256 (RFC 5869) producing out.size() bytes.
void Hkdf(ByteView ikm, ByteView salt, std::string_view info, std::span<uint8_t> out);
Key32 HkdfKey(const Key32& ikm, ByteView salt, std::string_view info);

}  // namespace lifeboat
