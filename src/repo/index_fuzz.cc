// libFuzzer target for DecodeIndex (index files are read from untrusted
// storage after decryption): any input must decode or fail with kCorrupt, and
// a successful decode must survive encode → decode unchanged.
#include <cstdlib>

#include "repo/index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  auto index = DecodeIndex(ByteView(data, size));
  if (!index.ok()) {
    if (index.status().code() != Code::kCorrupt) std::abort();
    return 0;
  }
  Bytes encoded = EncodeIndex(*index);
  auto again = DecodeIndex(encoded);
  if (!again.ok() || again->supersedes != index->supersedes ||
      again->packs.size() != index->packs.size())
    std::abort();
  MasterIndex master;
  for (const IndexedPack& p : index->packs) master.AddPack(p);
  for (const IndexedPack& p : index->packs)
    for (const PackedBlob& b : p.blobs)
      if (!master.Has(b.type, b.id)) std::abort();
  return 0;
}
