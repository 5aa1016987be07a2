// Sealed objects: how config, index, snapshot and lock documents are stored —
// compressed (optionally), then encrypted and authenticated with a key derived
// from the master key and a fresh random salt. The object type is bound into
// the authentication, so one kind of object cannot be passed off as another.
// Thread-safety: pure functions.
#pragma once

#include "backend/backend.h"
#include "base/result.h"
#include "repo/keyring.h"

namespace lifeboat {

// Returns the stored bytes for `payload`. zstd_level 0 stores it uncompressed.
Bytes SealObject(const Keyring& keys, ObjectType type, ByteView payload, int zstd_level);

// Authenticates and decrypts stored bytes; kCorrupt on any mismatch.
Result<Bytes> OpenSealedObject(const Keyring& keys, ObjectType type, ByteView stored);

}  // namespace lifeboat
