#include "repo/sealed_object.h"

#include <cstring>

#include "crypto/aead.h"
#include "repo/compression.h"
#include "repo/format.h"

namespace lifeboat {
namespace {

constexpr uint8_t kZeroNonce[Aead::kNonceSize] = {};

uint8_t TypeByte(ObjectType type) { return static_cast<uint8_t>(type); }

Bytes HeaderAad(ObjectType type) {
  Bytes aad(format::kObjectMagic.size() + 1);
  std::memcpy(aad.data(), format::kObjectMagic.data(), format::kObjectMagic.size());
  aad.back() = TypeByte(type);
  return aad;
}

}  // namespace

Bytes SealObject(const Keyring& keys, ObjectType type, ByteView payload, int zstd_level) {
  Bytes plain;
  if (zstd_level > 0) {
    plain.push_back(static_cast<uint8_t>(format::Compression::kZstd));
    ZstdCompress(payload, zstd_level, &plain);
  } else {
    plain.resize(1 + payload.size());
    plain[0] = static_cast<uint8_t>(format::Compression::kNone);
    if (!payload.empty()) std::memcpy(plain.data() + 1, payload.data(), payload.size());
  }
  Bytes out = HeaderAad(type);
  Bytes salt = RandomBytes(format::kSaltSize);
  out.resize(format::kObjectHeaderSize);
  std::memcpy(out.data() + 5, salt.data(), salt.size());
  // The key is unique per object (fresh salt), so a constant nonce is safe.
  Aead(keys.ObjectKey(salt)).Seal(kZeroNonce, HeaderAad(type), plain, &out);
  return out;
}

Result<Bytes> OpenSealedObject(const Keyring& keys, ObjectType type, ByteView stored) {
  if (stored.size() < format::kObjectHeaderSize + Aead::kTagSize + 1)
    return Corrupt("object too short");
  Bytes aad = HeaderAad(type);
  if (!std::equal(aad.begin(), aad.end(), stored.begin())) {
    return Corrupt("not a lifeboat object of type '" + std::string(ObjectTypeName(type)) +
                   "' (bad magic or type)");
  }
  ByteView salt = stored.subspan(5, format::kSaltSize);
  Bytes plain;
  Status s = Aead(keys.ObjectKey(salt))
                 .Open(kZeroNonce, aad, stored.subspan(format::kObjectHeaderSize), &plain);
  if (!s.ok()) return Corrupt("object failed authentication (damaged or tampered with)");
  ByteView body = ByteView(plain).subspan(1);
  switch (static_cast<format::Compression>(plain[0])) {
    case format::Compression::kNone: return Bytes(body.begin(), body.end());
    case format::Compression::kZstd:
      return ZstdDecompress(body, SIZE_MAX, format::kMaxObjectSize);
  }
  return Corrupt("object has unknown compression " + std::to_string(plain[0]));
}

}  // namespace lifeboat
