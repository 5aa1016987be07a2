// Key32 and secure random bytes (libsodium). libsodium is initialised once,
// lazily and thread-safely, before the first use of its random generator.
// Thread-safety: RandomBytes is thread-safe; Key32 is a value type.
#include "crypto/keys.h"

#include <sodium.h>

#include <cassert>
#include <cstdlib>
#include <cstring>

#include "crypto/internal.h"

namespace lifeboat {
namespace crypto_internal {

void EnsureSodiumInitialized() {
  // sodium_init() returns 0 on the first call, 1 if already initialised and
  // -1 only if the library cannot be used at all (no entropy source); then
  // continuing would produce weak keys, so this is the one place we abort.
  static const bool initialized = [] {
    if (sodium_init() < 0) std::abort();
    return true;
  }();
  (void)initialized;
}

}  // namespace crypto_internal

Key32::Key32(ByteView b) {
  assert(b.size() == size());
  // Defensive in release builds: never read past a short view.
  std::memcpy(bytes_.data(), b.data(), b.size() < size() ? b.size() : size());
}

Key32::~Key32() { sodium_memzero(bytes_.data(), bytes_.size()); }

Key32 Key32::Random() {
  Key32 key;
  RandomBytes(std::span<uint8_t>(key.bytes_));
  return key;
}

void RandomBytes(std::span<uint8_t> out) {
  crypto_internal::EnsureSodiumInitialized();
  if (!out.empty()) randombytes_buf(out.data(), out.size());
}

Bytes RandomBytes(size_t n) {
  Bytes out(n);
  RandomBytes(std::span<uint8_t>(out));
  return out;
}

}  // namespace lifeboat
