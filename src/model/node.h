// Node: one entry of a directory tree as stored in a snapshot — everything
// needed to recreate a file, folder, link or special file exactly.
// Names and link targets are raw bytes (they may be invalid UTF-8, contain
// newlines, be very long). Thread-safety: value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/id.h"

namespace lifeboat {

enum class NodeType : uint8_t {
  kFile = 1,
  kDir = 2,
  kSymlink = 3,
  kBlockDev = 4,
  kCharDev = 5,
  kFifo = 6,
  kSocket = 7,
};

std::string_view NodeTypeName(NodeType type);  // "file", "dir", "symlink", ...

struct Xattr {
  std::string name;
  Bytes value;
  friend bool operator==(const Xattr&, const Xattr&) = default;
};

struct Node {
  std::string name;  // one path component, raw bytes
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;  // permission bits including setuid/setgid/sticky (st_mode & 07777)
  uint32_t uid = 0, gid = 0;
  std::string user, group;  // names at backup time; empty if unknown
  int64_t mtime_ns = 0, atime_ns = 0, ctime_ns = 0;  // since the Unix epoch
  uint64_t size = 0;        // bytes, for files
  uint64_t inode = 0;       // st_ino at backup time (file cache, hardlinks)
  uint64_t device_id = 0;   // st_dev at backup time (hardlink identity)
  uint32_t links = 1;       // st_nlink
  uint64_t rdev = 0;        // device number for block/char devices
  std::string link_target;  // symlinks, raw bytes
  std::vector<Xattr> xattrs;
  std::vector<Id> content;  // data blob ids, in order (files)
  std::optional<Id> subtree;  // tree blob id (directories)

  friend bool operator==(const Node&, const Node&) = default;
};

}  // namespace lifeboat
