#include "repo/format.h"

namespace lifeboat::format {

std::string_view BlobTypeName(BlobType type) {
  switch (type) {
    case BlobType::kData: return "data";
    case BlobType::kTree: return "tree";
  }
  return "unknown";
}

}  // namespace lifeboat::format
