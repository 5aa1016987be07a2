// The local filesystem as lifeboat sees it when backing up and restoring:
// reading a path's metadata into a Node, and recreating nodes with their
// metadata. Works on full paths; never follows symlinks.
// Thread-safety: free functions are thread-safe; UserGroupNames is internally
// synchronised and meant to be shared.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "model/node.h"

namespace lifeboat {

// Caches uid→user and gid→group name lookups (and the reverse, for restore).
class UserGroupNames {
 public:
  std::string UserName(uint32_t uid);    // "" if unknown
  std::string GroupName(uint32_t gid);
  // For restore: the local id of a name, or nullopt.
  std::optional<uint32_t> UserId(const std::string& name);
  std::optional<uint32_t> GroupId(const std::string& name);

 private:
  std::mutex mu_;
  std::unordered_map<uint32_t, std::string> users_, groups_;
  std::unordered_map<std::string, std::optional<uint32_t>> user_ids_, group_ids_;
};

struct StatOptions {
  bool read_xattrs = true;
  // The entry's node in the previous snapshot (made with xattrs read), or
  // null. Setting or removing an xattr updates the inode's ctime, so when
  // type, device, inode and ctime are all unchanged its xattrs are taken
  // from there instead of read: one path lookup and syscall less per entry.
  const Node* previous = nullptr;
};

// lstat()s `path` and fills everything but content/subtree: type, mode, ids
// and names, times, size, inode, device, links, rdev, symlink target, xattrs.
// `name` becomes node.name. kNotFound if it vanished, kPermissionDenied, ...
Result<Node> StatNode(const std::string& path, std::string name, UserGroupNames& names,
                      const StatOptions& options = {});
// The same for the entry `name` of the directory open as `dir_fd` (O_PATH is
// enough), whose full path is `path` (for xattrs, which have no *at call,
// and for messages). `name` becomes node.name.
Result<Node> StatNodeAt(int dir_fd, const std::string& path, std::string name,
                        UserGroupNames& names, const StatOptions& options = {});

// Lists the entry names of a directory (without "." and ".."), sorted bytewise.
// If `dir_fd` is given, it receives a descriptor of the directory for *at
// calls on the entries (-1 if none could be made; the caller closes it),
// also when listing fails.
Result<std::vector<std::string>> ListDirectory(const std::string& path, int* dir_fd = nullptr);

struct RestoreOptions {
  // Restore owners: by name when the name exists locally, else by id. Only
  // attempted when running as root (otherwise chown would fail).
  bool restore_owner = true;
  bool restore_xattrs = true;
};

// Creates a non-regular node at `path`: directory (mkdir, ok if it already
// exists as a directory), symlink, FIFO, socket placeholder skipped,
// block/char device (mknod; kPermissionDenied when not root).
Status CreateSpecialNode(const std::string& path, const Node& node);

// Applies ownership, xattrs, mode and then times (last, since the others can
// change ctime/mtime) to an existing path. Symlinks: owner and times only
// (lchown, utimensat with AT_SYMLINK_NOFOLLOW). Failures to set xattrs the
// filesystem does not support are reported, not fatal, via the returned status.
Status ApplyMetadata(const std::string& path, const Node& node, UserGroupNames& names,
                     const RestoreOptions& options);

// ApplyMetadata for a regular file through a descriptor open on it: one path
// lookup (the open) instead of one per attribute. `path` names it in errors.
Status ApplyFileMetadata(int fd, const std::string& path, const Node& node, UserGroupNames& names,
                         const RestoreOptions& options);

// Joins path components with a single '/'.
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace lifeboat
