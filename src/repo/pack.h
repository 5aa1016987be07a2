// Packs: many encrypted blobs in one immutable file, with an encrypted
// trailer listing them (docs/FORMAT.md "Packs"). PackWriter builds one in
// memory; the reading functions parse and authenticate untrusted bytes.
// Thread-safety: a PackWriter is used by one thread at a time; the free
// functions are thread-safe.
#pragma once

#include <vector>

#include "base/id.h"
#include "base/result.h"
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
  Id id;      // SHA-256 of data: the pack's name
  Bytes data;
  Bytes salt;
  std::vector<PackedBlob> blobs;
};

class PackWriter {
 public:
  // `expected_size`: the pack size aimed at, reserved up front so appending
  // never reallocates (and briefly doubles) the buffer.
  explicit PackWriter(const Keyring& keys, size_t expected_size = format::kDefaultPackSize);

  // Appends one blob. `stored` is the plaintext as stored: zstd frame or raw.
  void Add(format::BlobType type, const Id& id, format::Compression compression, ByteView stored,
           uint32_t raw_length);

  size_t size() const { return data_.size(); }
  size_t blob_count() const { return blobs_.size(); }

  // Seals the trailer and returns the finished pack; the writer is spent.
  FinishedPack Finish();

 private:
  const Keyring& keys_;
  Bytes salt_;
  Key32 pack_key_;
  Bytes data_;
  std::vector<PackedBlob> blobs_;
};

// Decrypts one sealed blob (`sealed` = the entry's `length` bytes at its
// offset) and decompresses it. kCorrupt if authentication fails or sizes
// disagree with the entry.
Result<Bytes> OpenPackedBlob(const Keyring& keys, ByteView pack_salt, const PackedBlob& entry,
                             ByteView sealed);

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
