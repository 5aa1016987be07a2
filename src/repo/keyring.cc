#include "repo/keyring.h"

#include "repo/format.h"

namespace lifeboat {

static Key32 Derive(const Key32& master, std::string_view label) {
  return HkdfKey(master, {}, label);
}

Keyring::Keyring(const Key32& master)
    : master_(master),
      blob_ids_(Derive(master, format::kLabelBlobId)),
      chunker_seed_(Derive(master, format::kLabelChunkerSeed)) {}

Key32 Keyring::PackKey(ByteView pack_salt) const {
  return HkdfKey(master_, pack_salt, format::kLabelPackKey);
}

Key32 Keyring::ObjectKey(ByteView object_salt) const {
  return HkdfKey(master_, object_salt, format::kLabelObjectKey);
}

}  // namespace lifeboat
