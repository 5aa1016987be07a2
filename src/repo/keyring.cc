#include "repo/keyring.h"

#include <algorithm>

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
  const bool cacheable = pack_salt.size() == format::kSaltSize;
  if (cacheable) {
    std::lock_guard lock(pack_keys_mu_);
    for (const CachedPackKey& c : pack_keys_) {
      if (c.used && std::equal(c.salt.begin(), c.salt.end(), pack_salt.begin())) return c.key;
    }
  }
  Key32 key = HkdfKey(master_, pack_salt, format::kLabelPackKey);
  if (cacheable) {
    std::lock_guard lock(pack_keys_mu_);
    CachedPackKey& slot = pack_keys_[next_pack_key_++ % kCachedPackKeys];
    slot.used = true;
    std::copy(pack_salt.begin(), pack_salt.end(), slot.salt.begin());
    slot.key = key;
  }
  return key;
}

Key32 Keyring::ObjectKey(ByteView object_salt) const {
  return HkdfKey(master_, object_salt, format::kLabelObjectKey);
}

}  // namespace lifeboat
