// Key material types. Secret bytes are wiped when a key goes out of scope.
// Thread-safety: value types.
#pragma once

#include <array>
#include <cstdint>

#include "base/bytes.h"

namespace lifeboat {

// A 256-bit secret key; zeroed on destruction.
class Key32 {
 public:
  Key32() = default;
  explicit Key32(ByteView b);  // REQUIRES: b.size() == 32
  Key32(const Key32&) = default;
  Key32& operator=(const Key32&) = default;
  ~Key32();
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  static constexpr size_t size() { return 32; }
  ByteView View() const { return ByteView(bytes_.data(), 32); }
  static Key32 Random();

 private:
  std::array<uint8_t, 32> bytes_{};
};

// Fills `out` with cryptographically secure random bytes.
void RandomBytes(std::span<uint8_t> out);
Bytes RandomBytes(size_t n);

}  // namespace lifeboat
