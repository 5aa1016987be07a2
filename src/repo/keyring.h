// Keyring: the repository master key and every key derived from it (blob-id
// key, chunker seed, per-pack and per-object encryption keys). See
// docs/FORMAT.md "Keys and derivation". Thread-safety: immutable after
// construction; share freely.
#pragma once

#include "base/bytes.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

namespace lifeboat {

class Keyring {
 public:
  explicit Keyring(const Key32& master);

  const Key32& master() const { return master_; }
  const BlobIdHasher& blob_ids() const { return blob_ids_; }
  const Key32& chunker_seed() const { return chunker_seed_; }
  Key32 PackKey(ByteView pack_salt) const;
  Key32 ObjectKey(ByteView object_salt) const;

 private:
  Key32 master_;
  BlobIdHasher blob_ids_;
  Key32 chunker_seed_;
};

}  // namespace lifeboat
