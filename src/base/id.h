// Id: a 32-byte identifier — a blob id (keyed hash of plaintext), a pack,
// index or snapshot name (SHA-256 of the stored bytes), or a key/lock name.
// Shown as 64 lowercase hex characters; the first 8 are the short form.
// Thread-safety: value type.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace lifeboat {

struct Id {
  std::array<uint8_t, 32> bytes{};

  static Result<Id> FromHex(std::string_view hex);
  static Id FromBytes(ByteView b);  // REQUIRES: b.size() == 32
  std::string Hex() const { return HexEncode(bytes); }
  std::string Short() const { return Hex().substr(0, 8); }
  bool IsZero() const;
  ByteView View() const { return ByteView(bytes.data(), bytes.size()); }

  friend bool operator==(const Id&, const Id&) = default;
  friend auto operator<=>(const Id&, const Id&) = default;
};

struct IdHash {
  size_t operator()(const Id& id) const {
    size_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);  // ids are uniformly random
    return h;
  }
};

}  // namespace lifeboat

template <>
struct std::hash<lifeboat::Id> : lifeboat::IdHash {};
