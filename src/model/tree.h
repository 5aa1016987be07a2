// Tree: the nodes of one directory, sorted by name (bytewise), stored as a
// tree blob. The binary encoding is specified in docs/FORMAT.md "Trees";
// decoding treats its input as untrusted (bounded lengths, no overreads).
// Thread-safety: value type.
#pragma once

#include <string_view>
#include <vector>

#include "base/result.h"
#include "model/node.h"

namespace lifeboat {

struct Tree {
  std::vector<Node> nodes;  // sorted by name, names unique

  // Sorts nodes by name. Encode requires sorted, unique names.
  void Sort();
  const Node* Find(std::string_view name) const;  // binary search; nullptr if absent
};

// True if `name` may be a node name: non-empty, not "." or "..", and without
// '/' or NUL bytes. Restore relies on this to keep paths inside the target.
bool IsValidNodeName(std::string_view name);

// REQUIRES: tree.nodes sorted by name with unique, valid names (checked with
// assert in debug builds; a violating tree encodes but will not decode).
Bytes EncodeTree(const Tree& tree);
// Fails with kCorrupt on any malformed input (bad magic/version, truncation,
// unsorted or duplicate names, empty names or names containing '/', '.' or '..').
Result<Tree> DecodeTree(ByteView data);

}  // namespace lifeboat
