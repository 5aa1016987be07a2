#include "repo/bound_payload.h"

#include "crypto/hash.h"

namespace lifeboat {

Bytes EncodeBoundPayload(std::string_view magic, uint64_t owner, std::string_view name,
                         ByteView contents) {
  Bytes out;
  out.reserve(magic.size() + 8 + 1 + name.size() + 8 + 32 + contents.size());
  ByteWriter w(&out);
  w.Raw(magic);
  w.U64(owner);
  w.U8(static_cast<uint8_t>(name.size()));
  w.Raw(name);
  w.U64(contents.size());
  w.Raw(Sha256(contents).View());
  w.Raw(contents);
  return out;
}

Result<BoundHeader> DecodeBoundPayload(std::string_view magic, std::string_view what,
                                       ByteView payload,
                                       const std::function<bool(std::string_view)>& valid_name,
                                       ByteView* contents) {
  ByteReader r(payload);
  auto bad = [&](std::string why) { return Corrupt("archived " + std::string(what) + ": " + why); };
  auto got_magic = r.Raw(magic.size());
  if (!got_magic.ok() || AsString(*got_magic) != magic) return bad("bad magic");
  auto owner = r.U64();
  auto name_len = r.U8();
  if (!owner.ok() || !name_len.ok()) return bad("truncated header");
  auto name = r.Raw(*name_len);
  auto size = r.U64();
  auto hash = r.Raw(32);
  if (!name.ok() || !size.ok() || !hash.ok()) return bad("truncated header");
  BoundHeader h;
  h.owner = *owner;
  h.name = std::string(AsString(*name));
  h.size = *size;
  h.sha256 = Id::FromBytes(*hash);
  if (!valid_name(h.name)) return bad("invalid " + std::string(what) + " name in the header");
  if (h.size != r.remaining()) {
    return bad("header says " + std::to_string(h.size) + " bytes, object holds " +
               std::to_string(r.remaining()));
  }
  ByteView body = payload.subspan(r.position());
  if (Sha256(body) != h.sha256) return bad("SHA-256 of '" + h.name + "' does not match its header");
  *contents = body;
  return h;
}

}  // namespace lifeboat
