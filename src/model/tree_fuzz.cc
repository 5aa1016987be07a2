// libFuzzer target for DecodeTree: any input must decode or fail cleanly, and
// a successful decode must survive encode → decode unchanged.
#include <cstdlib>

#include "model/tree.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  auto tree = DecodeTree(ByteView(data, size));
  if (!tree.ok()) {
    if (tree.status().code() != Code::kCorrupt) std::abort();
    return 0;
  }
  Bytes encoded = EncodeTree(*tree);
  auto again = DecodeTree(encoded);
  if (!again.ok() || again->nodes != tree->nodes) std::abort();
  if (EncodeTree(*again) != encoded) std::abort();
  for (const Node& node : tree->nodes) {
    if (tree->Find(node.name) != &node) std::abort();
  }
  return 0;
}
