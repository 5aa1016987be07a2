// Dump: streams one path of a snapshot to a file descriptor, like
// `restic dump` — a regular file as its raw content, anything else (a
// directory, the whole snapshot with path "/", a symlink, a device) as a
// POSIX pax tar stream that GNU tar, bsdtar and Python's tarfile read.
//
// Tar details: entry names are the snapshot paths without the leading '/'
// ("srv/app/config.yml", directories with a trailing '/'); a dumped directory
// is itself the first entry (the root "/" is not an entry). ustar headers
// carry name, mode, uid/gid, uname/gname, size, mtime, type and device
// numbers. A pax extended header ('x') precedes an entry whose name or link
// target is longer than 100 bytes or not ASCII, whose size, uid or gid do
// not fit the octal fields, whose user or group name exceeds 31 bytes, whose
// mtime has a fractional part or is negative, or that has xattrs
// (SCHILY.xattr.*). Names that are not UTF-8 are stored as raw bytes without
// "hdrcharset=BINARY" (GNU tar does not know that keyword and warns; GNU tar
// and Python's tarfile keep the raw bytes). The second and later occurrences
// of a hardlinked file (same device and inode, same content) are hardlink
// entries ('1') naming the first. Sockets are skipped.
//
// The stream is written as it is produced (bounded memory: one blob plus a
// 1 MiB buffer); on error the output is incomplete and the error says why.
// Thread-safety: safe to call concurrently on different descriptors.
#pragma once

#include <string_view>

#include "base/id.h"
#include "base/status.h"
#include "repo/repository.h"

namespace lifeboat {

// Writes the node at `path` of the tree `root_tree` to `out_fd` (see above).
// Errors: kNotFound if the path is not in the snapshot; kInvalidArgument for
// a malformed path; repository errors (missing or corrupt blobs); I/O errors
// writing to out_fd (EPIPE included).
Status DumpTar(Repository& repo, const Id& root_tree, std::string_view path, int out_fd);

}  // namespace lifeboat
