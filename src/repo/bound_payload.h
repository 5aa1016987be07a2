// Bound payloads: the body of an archived file (PostgreSQL WAL, MariaDB
// binlog) that binds its bytes to their identity, so that an object renamed
// or swapped on the storage is refused when read back (docs/FORMAT.md §14,
// §16):
//
//   magic (4) ‖ owner id u64 ‖ name length u8 ‖ name ‖ size u64 ‖
//   SHA-256 of the file (32) ‖ the file's bytes      (little-endian)
//
// The owner is the PostgreSQL system identifier or the MariaDB server_id.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/id.h"
#include "base/result.h"

namespace lifeboat {

struct BoundHeader {
  uint64_t owner = 0;
  std::string name;
  uint64_t size = 0;
  Id sha256;
};

// REQUIRES: magic.size() == 4, name.size() <= 255.
Bytes EncodeBoundPayload(std::string_view magic, uint64_t owner, std::string_view name,
                         ByteView contents);

// Parses and verifies a payload: `magic`, a well-formed header whose name
// passes `valid_name`, `size` equal to the bytes that follow and a matching
// SHA-256. On success *contents points into `payload`. kCorrupt otherwise,
// with messages starting "archived WHAT: ".
Result<BoundHeader> DecodeBoundPayload(std::string_view magic, std::string_view what,
                                       ByteView payload,
                                       const std::function<bool(std::string_view)>& valid_name,
                                       ByteView* contents);

}  // namespace lifeboat
