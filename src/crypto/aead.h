// AES-256-GCM authenticated encryption (OpenSSL, AES-NI). A 12-byte nonce
// and a 16-byte tag; the caller guarantees a nonce is never reused with the
// same key (the repository derives a fresh key per pack/object, see FORMAT.md).
// Thread-safety: an Aead is immutable after construction and may be shared;
// each call uses its own cipher context.
#pragma once

#include <memory>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/keys.h"

namespace lifeboat {

class Aead {
 public:
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;

  explicit Aead(const Key32& key) : key_(key) {}

  // Appends ciphertext || tag (plaintext.size() + 16 bytes) to *out.
  void Seal(ByteView nonce, ByteView aad, ByteView plaintext, Bytes* out) const;
  // Writes ciphertext || tag (plaintext.size() + 16 bytes) to `out`, which
  // may be plaintext.data() itself (in place) but must not otherwise overlap.
  void SealInto(ByteView nonce, ByteView aad, ByteView plaintext, uint8_t* out) const;

  // Decrypts ciphertext || tag, appending the plaintext to *out. On failure
  // returns kCorrupt ("authentication failed") and leaves *out unchanged.
  Status Open(ByteView nonce, ByteView aad, ByteView sealed, Bytes* out) const;
  // The same, writing sealed.size() - 16 bytes of plaintext to `out` (which
  // may be sealed.data(): in place). On failure they are wiped.
  Status OpenInto(ByteView nonce, ByteView aad, ByteView sealed, uint8_t* out) const;

 private:
  Key32 key_;
};

// Seals one message in pieces: the same ciphertext || tag as Aead::SealInto
// over the concatenated pieces, for writers that stream a large message
// through a fixed-size buffer instead of growing one to the message's size.
// Not thread-safe; one message per object.
class AeadSealer {
 public:
  AeadSealer(const Key32& key, ByteView nonce, ByteView aad);
  ~AeadSealer();
  AeadSealer(const AeadSealer&) = delete;
  AeadSealer& operator=(const AeadSealer&) = delete;

  // Writes the ciphertext of the next `piece` (piece.size() bytes) to `out`.
  void Update(ByteView piece, uint8_t* out);
  // Writes the 16-byte tag to `tag`; the sealer is spent.
  void Finish(uint8_t* tag);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace lifeboat
