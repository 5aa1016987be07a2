// Node helpers: the names of node types as shown to users and in listings.
// Thread-safety: pure functions.
#include "model/node.h"

namespace lifeboat {

std::string_view NodeTypeName(NodeType type) {
  switch (type) {
    case NodeType::kFile: return "file";
    case NodeType::kDir: return "dir";
    case NodeType::kSymlink: return "symlink";
    case NodeType::kBlockDev: return "blockdev";
    case NodeType::kCharDev: return "chardev";
    case NodeType::kFifo: return "fifo";
    case NodeType::kSocket: return "socket";
  }
  return "unknown";
}

}  // namespace lifeboat
