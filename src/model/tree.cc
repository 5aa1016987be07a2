// Tree sorting/lookup and the binary tree encoding "LBT1" (specified in
// docs/FORMAT.md). Decoding treats its input as untrusted: every length
// and count is checked against the bytes that remain before anything is
// allocated. Thread-safety: pure functions over values.
#include "model/tree.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>

namespace lifeboat {
namespace {

constexpr char kMagic[4] = {'L', 'B', 'T', '1'};
constexpr size_t kIdSize = 32;
// The smallest possible node record body: name (2) + type (1) + 14 one-byte
// varints/lengths (mode .. link_target) + xattr count + content count + flag.
constexpr size_t kMinRecordBody = 2 + 1 + 14 + 1 + 1 + 1;

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

bool ValidType(uint8_t t) {
  return t >= static_cast<uint8_t>(NodeType::kFile) && t <= static_cast<uint8_t>(NodeType::kSocket);
}

void EncodeNodeBody(const Node& node, ByteWriter& w) {
  w.LengthPrefixed(node.name);
  w.U8(static_cast<uint8_t>(node.type));
  w.Varint(node.mode);
  w.Varint(node.uid);
  w.Varint(node.gid);
  w.LengthPrefixed(node.user);
  w.LengthPrefixed(node.group);
  w.Varint(ZigZag(node.mtime_ns));
  w.Varint(ZigZag(node.atime_ns));
  w.Varint(ZigZag(node.ctime_ns));
  w.Varint(node.size);
  w.Varint(node.inode);
  w.Varint(node.device_id);
  w.Varint(node.links);
  w.Varint(node.rdev);
  w.LengthPrefixed(node.link_target);
  w.Varint(node.xattrs.size());
  for (const Xattr& x : node.xattrs) {
    w.LengthPrefixed(x.name);
    w.LengthPrefixed(ByteView(x.value));
  }
  w.Varint(node.content.size());
  for (const Id& id : node.content) w.Raw(id.View());
  if (node.subtree) {
    w.U8(1);
    w.Raw(node.subtree->View());
  } else {
    w.U8(0);
  }
}

Result<uint32_t> ReadU32Varint(ByteReader& r, const char* field) {
  LB_ASSIGN_OR_RETURN(uint64_t v, r.Varint());
  if (v > std::numeric_limits<uint32_t>::max()) {
    return Corrupt(std::string("tree node field '") + field + "' out of range");
  }
  return static_cast<uint32_t>(v);
}

Result<int64_t> ReadTime(ByteReader& r) {
  LB_ASSIGN_OR_RETURN(uint64_t v, r.Varint());
  return UnZigZag(v);
}

// Reads a count whose items need at least `min_item_size` bytes each, refusing
// counts the remaining input cannot possibly hold.
Result<uint64_t> ReadCount(ByteReader& r, size_t min_item_size, const char* what) {
  LB_ASSIGN_OR_RETURN(uint64_t count, r.Varint());
  if (count > r.remaining() / min_item_size) {
    return Corrupt(std::string("tree ") + what + " count " + std::to_string(count) +
                   " exceeds the data");
  }
  return count;
}

Status DecodeNodeBody(ByteView body, Node& node) {
  ByteReader r(body);
  LB_ASSIGN_OR_RETURN(node.name, r.String());
  if (!IsValidNodeName(node.name)) return Corrupt("tree node has an invalid name");
  LB_ASSIGN_OR_RETURN(uint8_t type, r.U8());
  if (!ValidType(type)) return Corrupt("tree node has unknown type " + std::to_string(type));
  node.type = static_cast<NodeType>(type);
  LB_ASSIGN_OR_RETURN(node.mode, ReadU32Varint(r, "mode"));
  LB_ASSIGN_OR_RETURN(node.uid, ReadU32Varint(r, "uid"));
  LB_ASSIGN_OR_RETURN(node.gid, ReadU32Varint(r, "gid"));
  LB_ASSIGN_OR_RETURN(node.user, r.String());
  LB_ASSIGN_OR_RETURN(node.group, r.String());
  LB_ASSIGN_OR_RETURN(node.mtime_ns, ReadTime(r));
  LB_ASSIGN_OR_RETURN(node.atime_ns, ReadTime(r));
  LB_ASSIGN_OR_RETURN(node.ctime_ns, ReadTime(r));
  LB_ASSIGN_OR_RETURN(node.size, r.Varint());
  LB_ASSIGN_OR_RETURN(node.inode, r.Varint());
  LB_ASSIGN_OR_RETURN(node.device_id, r.Varint());
  LB_ASSIGN_OR_RETURN(node.links, ReadU32Varint(r, "links"));
  LB_ASSIGN_OR_RETURN(node.rdev, r.Varint());
  LB_ASSIGN_OR_RETURN(node.link_target, r.String());

  LB_ASSIGN_OR_RETURN(uint64_t xattr_count, ReadCount(r, 2, "xattr"));
  node.xattrs.clear();
  node.xattrs.reserve(xattr_count);
  for (uint64_t i = 0; i < xattr_count; ++i) {
    Xattr x;
    LB_ASSIGN_OR_RETURN(x.name, r.String());
    LB_ASSIGN_OR_RETURN(ByteView value, r.LengthPrefixed());
    x.value.assign(value.begin(), value.end());
    node.xattrs.push_back(std::move(x));
  }

  LB_ASSIGN_OR_RETURN(uint64_t content_count, ReadCount(r, kIdSize, "content id"));
  node.content.resize(content_count);
  for (Id& id : node.content) {
    LB_ASSIGN_OR_RETURN(ByteView raw, r.Raw(kIdSize));
    std::memcpy(id.bytes.data(), raw.data(), kIdSize);
  }

  LB_ASSIGN_OR_RETURN(uint8_t has_subtree, r.U8());
  if (has_subtree > 1) return Corrupt("tree node has an invalid subtree flag");
  if (has_subtree) {
    LB_ASSIGN_OR_RETURN(ByteView raw, r.Raw(kIdSize));
    node.subtree = Id::FromBytes(raw);
  } else {
    node.subtree.reset();
  }
  // Bytes after the known fields belong to later format revisions: skipped.
  return Status::Ok();
}

}  // namespace

void Tree::Sort() {
  std::sort(nodes.begin(), nodes.end(),
            [](const Node& a, const Node& b) { return a.name < b.name; });
}

const Node* Tree::Find(std::string_view name) const {
  auto it = std::lower_bound(nodes.begin(), nodes.end(), name,
                             [](const Node& n, std::string_view key) { return n.name < key; });
  if (it == nodes.end() || it->name != name) return nullptr;
  return &*it;
}

bool IsValidNodeName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  return name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

Bytes EncodeTree(const Tree& tree) {
  Bytes out;
  out.reserve(8 + tree.nodes.size() * 128);
  ByteWriter w(&out);
  w.Raw(std::string_view(kMagic, sizeof kMagic));
  w.Varint(tree.nodes.size());
  Bytes body;
  ByteWriter bw(&body);
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    assert(IsValidNodeName(tree.nodes[i].name));
    assert(i == 0 || tree.nodes[i - 1].name < tree.nodes[i].name);
    body.clear();
    EncodeNodeBody(tree.nodes[i], bw);
    w.LengthPrefixed(ByteView(body));
  }
  return out;
}

Result<Tree> DecodeTree(ByteView data) {
  ByteReader r(data);
  auto magic = r.Raw(sizeof kMagic);
  if (!magic.ok() || std::memcmp(magic->data(), kMagic, sizeof kMagic) != 0) {
    return Corrupt("tree blob has an unknown magic or version");
  }
  LB_ASSIGN_OR_RETURN(uint64_t count, ReadCount(r, 1 + kMinRecordBody, "node"));
  Tree tree;
  tree.nodes.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    auto body = r.LengthPrefixed();
    if (!body.ok()) return body.status().WithContext("tree node " + std::to_string(i));
    Status s = DecodeNodeBody(*body, tree.nodes[i]);
    if (!s.ok()) return s.WithContext("tree node " + std::to_string(i));
    if (i > 0 && !(tree.nodes[i - 1].name < tree.nodes[i].name)) {
      return Corrupt("tree nodes are not sorted by unique name at node " + std::to_string(i));
    }
  }
  if (!r.done()) return Corrupt("tree blob has trailing bytes after the last node");
  return tree;
}

}  // namespace lifeboat
