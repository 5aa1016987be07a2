// Keyring: the repository master key and every key derived from it (blob-id
// key, chunker seed, per-pack and per-object encryption keys). See
// docs/FORMAT.md "Keys and derivation". Thread-safety: the keys are
// immutable after construction and the pack-key cache has its own lock;
// share freely.
#pragma once

#include <array>
#include <mutex>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "repo/format.h"

namespace lifeboat {

class Keyring {
 public:
  explicit Keyring(const Key32& master);

  const Key32& master() const { return master_; }
  const BlobIdHasher& blob_ids() const { return blob_ids_; }
  const Key32& chunker_seed() const { return chunker_seed_; }
  // Every blob opened derives its pack's key (HKDF, ~2 us): the keys of
  // the last kCachedPackKeys packs are kept, so a restore or check of many
  // small blobs derives each pack's key about once.
  Key32 PackKey(ByteView pack_salt) const;
  Key32 ObjectKey(ByteView object_salt) const;

  static constexpr size_t kCachedPackKeys = 16;

 private:
  struct CachedPackKey {
    bool used = false;
    std::array<uint8_t, format::kSaltSize> salt{};
    Key32 key;
  };

  Key32 master_;
  BlobIdHasher blob_ids_;
  Key32 chunker_seed_;
  mutable std::mutex pack_keys_mu_;
  mutable std::array<CachedPackKey, kCachedPackKeys> pack_keys_;
  mutable size_t next_pack_key_ = 0;  // the slot replaced next (round robin)
};

}  // namespace lifeboat
