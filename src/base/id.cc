#include "base/id.h"

namespace lifeboat {

Result<Id> Id::FromHex(std::string_view hex) {
  if (hex.size() != 64) return InvalidArgument("id '" + std::string(hex) + "' is not 64 hex digits");
  LB_ASSIGN_OR_RETURN(Bytes b, HexDecode(hex));
  return FromBytes(b);
}

Id Id::FromBytes(ByteView b) {
  Id id;
  std::memcpy(id.bytes.data(), b.data(), 32);
  return id;
}

bool Id::IsZero() const {
  for (uint8_t b : bytes)
    if (b) return false;
  return true;
}

}  // namespace lifeboat
