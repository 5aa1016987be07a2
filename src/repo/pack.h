// Packs: many encrypted blobs in one immutable file, with an encrypted
// trailer listing them (docs/FORMAT.md "Packs"). PackWriter builds one in
// memory or in a staged file; the reading functions parse and authenticate
// untrusted bytes.
// Thread-safety: a PackWriter is used by one thread at a time; the free
// functions are thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/staged_file.h"
#include "base/id.h"
#include "base/raw_buffer.h"
#include "base/result.h"
#include "crypto/hash.h"
#include "repo/format.h"
#include "repo/keyring.h"

namespace lifeboat {

struct PackedBlob {
  format::BlobType type = format::BlobType::kData;
  format::Compression compression = format::Compression::kNone;
  Id id;
  uint32_t offset = 0;      // from the start of the pack
  uint32_t length = 0;      // sealed length: stored bytes + 16-byte tag
  uint32_t raw_length = 0;  // plaintext length after decompression
  friend bool operator==(const PackedBlob&, const PackedBlob&) = default;
};

struct FinishedPack {
  Id id;  // SHA-256 of the pack's bytes: its name
  uint64_t size = 0;
  Bytes data;                        // the bytes, for a pack built in memory
  std::optional<StagedFile> staged;  // or the file holding them
  Bytes salt;
  std::vector<PackedBlob> blobs;
};

// Builds one pack: seals blobs, hashes the bytes as they are produced and
// either keeps them in memory or streams them to a staged file, so an open
// pack costs a small write buffer rather than its full size.
class PackWriter {
 public:
  // A pack built in memory (tests, prune, memory backends). `expected_size`:
  // the pack size aimed at, reserved up front so appending never reallocates.
  explicit PackWriter(const Keyring& keys, size_t expected_size = format::kDefaultPackSize);
  // A pack streamed to a new staged file in `staging_dir`.
  static Result<std::unique_ptr<PackWriter>> Staged(const Keyring& keys,
                                                    const std::string& staging_dir);
  ~PackWriter();
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // Appends one blob. `stored` is the plaintext as stored: zstd frame or raw.
  // Fails only when writing the staged file fails.
  Status Add(format::BlobType type, const Id& id, format::Compression compression, ByteView stored,
             uint32_t raw_length);

  uint64_t size() const { return size_; }
  size_t blob_count() const { return blobs_.size(); }

  // Seals the trailer and returns the finished pack; the writer is spent.
  Result<FinishedPack> Finish();

 private:
  PackWriter(const Keyring& keys, StagedFile file);
  Status FlushBuffer();
  // Seals `plain` (ciphertext || tag) onto the pack; a staged pack does so
  // in pieces through buffer_ without growing it.
  Status AppendSealed(ByteView nonce, ByteView aad, ByteView plain);

  const Keyring& keys_;
  Bytes salt_;
  Key32 pack_key_;
  std::optional<StagedFile> file_;  // set: bytes go to the file via buffer_
  bool staged_ = false;             // a staged pack (its buffer goes back to the pool)
  RawBuffer buffer_;                // bytes not yet written (all of them in memory mode)
  Sha256Stream hash_;
  uint64_t size_ = 0;
  std::vector<PackedBlob> blobs_;
};

// Decrypts one sealed blob (`sealed` = the entry's `length` bytes at its
// offset) and decompresses it. kCorrupt if authentication fails or sizes
// disagree with the entry.
Result<Bytes> OpenPackedBlob(const Keyring& keys, ByteView pack_salt, const PackedBlob& entry,
                             ByteView sealed);
// The same into a reusable buffer (replacing its contents): no zero-filling,
// no allocation once the buffer has grown.
Status OpenPackedBlobInto(const Keyring& keys, ByteView pack_salt, const PackedBlob& entry,
                          ByteView sealed, RawBuffer* out);

// Decrypts one sealed blob without decompressing it: *out gets the stored
// bytes (the zstd frame, or the plaintext for compression 0), for copying a
// blob between repositories that share the master key. The same checks as
// OpenPackedBlobInto except those that need decompression (the frame's
// content is not examined). kCorrupt if authentication fails or sizes
// disagree with the entry.
Status OpenPackedBlobStoredInto(const Keyring& keys, ByteView pack_salt, const PackedBlob& entry,
                                ByteView sealed, RawBuffer* out);

struct PackLayout {
  Bytes salt;
  std::vector<PackedBlob> blobs;
  uint64_t trailer_offset = 0;
};

// Reads the trailer of a pack of `pack_size` bytes given its header
// (kPackHeaderSize bytes) and its tail (at least the trailer + footer; more
// is fine). Validates that every entry lies inside the blob area, in order,
// without overlap.
Result<PackLayout> ReadPackLayout(const Keyring& keys, ByteView header, ByteView tail,
                                  uint64_t pack_size);

// Number of tail bytes to fetch to read a trailer of a pack with `blob_count`
// blobs (a guess when unknown: ReadPackLayout reports kCorrupt if too short).
uint64_t PackTailSizeFor(size_t blob_count);

}  // namespace lifeboat
