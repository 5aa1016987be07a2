// The blob index: which pack holds each blob, where, and how it is encoded.
// IndexFile is the on-disk document (immutable files under index/, see
// docs/FORMAT.md "Index"); MasterIndex is the in-memory union of all of them,
// a compact open-addressing table of 50-byte entries plus 4-byte slots kept at
// most half full (≈58 bytes per blob: ~58 MB of RAM per TB of unique data at
// 1 MiB average chunks).
// Thread-safety: MasterIndex methods are thread-safe (shared mutex);
// IndexFile is a value type.
#pragma once

#include <functional>
#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "base/id.h"
#include "base/result.h"
#include "repo/pack.h"

namespace lifeboat {

struct IndexedPack {
  Id id;
  Bytes salt;
  std::vector<PackedBlob> blobs;
};

struct IndexFile {
  std::vector<Id> supersedes;  // index files this one replaces (written by prune)
  std::vector<IndexedPack> packs;
};

Bytes EncodeIndex(const IndexFile& index);
Result<IndexFile> DecodeIndex(ByteView data);  // untrusted input; kCorrupt on any error

struct BlobLocation {
  Id pack_id;
  std::array<uint8_t, 32> pack_salt;
  PackedBlob blob;
};

class MasterIndex {
 public:
  MasterIndex();

  // Adds every blob of a pack; a blob already indexed elsewhere keeps its
  // first location (the duplicate is counted, prune reclaims it).
  void AddPack(const IndexedPack& pack);

  bool Has(format::BlobType type, const Id& id) const;
  std::optional<BlobLocation> Find(format::BlobType type, const Id& id) const;
  bool HasPack(const Id& pack_id) const;

  size_t blob_count() const;
  size_t pack_count() const;
  size_t duplicate_count() const;
  size_t MemoryBytes() const;  // approximate heap use, for stats

  // Calls fn for every indexed blob (one location per blob), under a shared lock.
  void ForEachBlob(const std::function<void(const Id& pack_id, const PackedBlob&)>& fn) const;

 private:
#pragma pack(push, 1)
  struct Entry {
    std::array<uint8_t, 32> id;
    uint32_t pack;
    uint32_t offset;
    uint32_t length;
    uint32_t raw_length;
    uint8_t type;
    uint8_t compression;
  };
#pragma pack(pop)
  static_assert(sizeof(Entry) == 50);
  struct PackInfo {
    Id id;
    std::array<uint8_t, 32> salt;
  };

  // Returns the slot index holding (type,id) or the empty slot where it would go.
  size_t Probe(format::BlobType type, const Id& id) const;
  void Grow();
  PackedBlob ToBlob(const Entry& e) const;

  mutable std::shared_mutex mu_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;  // 0 = empty, else entry index + 1
  std::vector<PackInfo> packs_;
  std::unordered_map<Id, uint32_t> pack_numbers_;
  size_t duplicates_ = 0;
};

}  // namespace lifeboat
