// Restorer: recreates a snapshot's tree (or one path of it) in a local target
// directory — contents, sparse holes, hardlinks, special files and metadata —
// as fast as the backend and disk allow, and optionally verifies the result.
//
// How (restic-like, "plan by pack"):
//  1. Walk: load trees, create directories (private mode 0700 first),
//     symlinks, FIFOs and device nodes, and plan regular files. A file is
//     created (O_EXCL, 0600) when its first data arrives and ftruncate()d to
//     its final size when complete, so unwritten ranges are holes.
//  2. Content: for each pack, the blobs it must supply and every (file,
//     offset) that needs each blob. Worker threads take one pack at a time,
//     read the needed ranges in large sequential Loads (neighbouring blobs
//     less than 1 MiB apart share one read, a read covers at most 8 MiB unless
//     one blob is larger), decrypt each blob once and pwrite it wherever it
//     is needed. All-zero blobs are skipped when sparse (the hole is already
//     there). Files of 1 MiB and more are written with O_DIRECT, past the
//     page cache (file_writer.h); smaller ones buffered. File descriptors are
//     opened on demand and closed when a file's last byte is written (at most
//     ~256 kept open between writes).
//  3. Metadata: a file's metadata (owner, xattrs, mode, times) is applied as
//     soon as its content is complete, then its extra hardlinks are link()ed
//     to it. Directories get theirs last, deepest first, so their mtimes stick.
//
// Paths in the target are built only from node names that DecodeTree
// validated (IsValidNodeName), so nothing can escape the target. Filters see
// the snapshot's absolute paths ("/srv/app/x.log").
//
// Failures are recorded per path and the restore goes on. A file whose
// content could not be restored (missing blob, blob that fails
// authentication — the message names pack and blob —, write error) is
// removed, never left looking complete, and listed in RestoreResult::errors.
// Restore returns a non-OK status only when it cannot start (bad target,
// unreadable snapshot root, subpath not found) or is stopped
// (RestorerOptions::stop).
//
// Thread-safety: one Restore/VerifyRestored at a time per Restorer;
// progress() may be read from other threads while it runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/id.h"
#include "base/result.h"
#include "policy/path_filter.h"
#include "repo/repository.h"

namespace lifeboat {

// Named RestorerOptions because env/fs_meta.h already has a RestoreOptions
// (metadata-only options).
struct RestorerOptions {
  // Directory to restore into; created (with parents) if missing. Must be
  // empty unless allow_existing.
  std::string target;
  const PathFilter* exclude = nullptr;     // not owned; may be null
  const IncludeFilter* include = nullptr;  // not owned; may be null
  // Re-read every restored regular file afterwards and compare it with the
  // repository (RestoreResult::verify_failures).
  bool verify = false;
  // Restore into a non-empty target: existing directories are reused (their
  // metadata is set), any other existing entry at a path being restored is
  // replaced. Entries not in the snapshot are left alone.
  bool allow_existing = false;
  // Delta restore (needs allow_existing): a regular file already in the
  // target whose size and content match the snapshot (read and hashed chunk
  // by chunk) is kept as it is, only its metadata is applied; and entries
  // under the target that the restore does not select are removed, so the
  // target ends up equal to the snapshot while unchanged files cost a read
  // instead of a write. Files with several hardlinks are always rewritten.
  bool delta = false;
  // Leave all-zero chunks as holes instead of writing them.
  bool sparse = true;
  // Write large files with O_DIRECT, past the page cache, where the target
  // is on ext2/3/4, XFS or btrfs (see file_writer.h); falls back to buffered
  // writes where refused.
  bool direct_io = true;
  // Worker threads for content and verification; <= 0: hardware concurrency.
  int threads = 0;
  // Owners are restored only when running as root (see env ApplyMetadata).
  bool restore_owner = true;
  bool restore_xattrs = true;
  // Set (by a SIGINT/SIGTERM handler) to stop early: no further tree is
  // walked and no further pack read. Files not yet complete are removed (as
  // after an error, but not listed one by one), directories keep mode 0700
  // without their metadata, and Restore returns kCancelled saying how far it
  // got. A --delta restore into the same target finishes the job. Not owned;
  // may be null.
  const std::atomic<bool>* stop = nullptr;
};

struct RestoreProgress {
  std::atomic<uint64_t> files_done{0};
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<uint64_t> files_total{0};  // regular files planned (set after the walk)
  std::atomic<uint64_t> bytes_total{0};
  std::atomic<uint64_t> errors{0};
};

struct RestoreError {
  std::string path;  // in the target
  Status status;
};

struct RestoreResult {
  uint64_t files = 0;     // regular files restored completely (hardlinks included)
  uint64_t dirs = 0;      // directories created or reused
  uint64_t specials = 0;  // symlinks, FIFOs, devices
  uint64_t bytes = 0;     // content bytes of the restored files
  uint64_t files_unchanged = 0;  // delta: files kept as they were (included in files)
  uint64_t bytes_unchanged = 0;  // their size (included in bytes)
  uint64_t entries_removed = 0;  // delta: entries not in the snapshot removed
  std::vector<RestoreError> errors;
  uint64_t verified_files = 0;
  std::vector<RestoreError> verify_failures;
};

class Restorer {
 public:
  // `repo` must have its index loaded and outlive the Restorer.
  Restorer(Repository& repo, RestorerOptions options);

  // Restores the tree `root_tree` (a snapshot's `tree`). `subpath` selects one
  // path of the snapshot ("/srv/app"; "" or "/" = everything): a directory's
  // contents are restored directly into the target (the directory's own
  // metadata is not applied to the target), any other node is restored as
  // target/<its name>. Errors: kNotFound for a missing subpath,
  // kAlreadyExists for a non-empty target without allow_existing,
  // kInvalidArgument for a bad subpath or target; tree loading errors.
  Result<RestoreResult> Restore(const Id& root_tree, std::string_view subpath = "");

  // Re-reads the regular files a Restore with the same tree, subpath and
  // options would have written and compares each chunk's blob id (and the
  // file size) with the snapshot. Returns one entry per failing file
  // (missing, wrong size, different content, unreadable) and one per
  // directory whose tree could not be read (its files cannot be checked;
  // sorted files first, then such directories). Counts the files
  // checked in *verified if given. kCancelled when stopped (options.stop).
  Result<std::vector<RestoreError>> VerifyRestored(const Id& root_tree,
                                                   std::string_view subpath = "",
                                                   uint64_t* verified = nullptr);

  const RestoreProgress& progress() const { return progress_; }

 private:
  Repository& repo_;
  RestorerOptions options_;
  RestoreProgress progress_;
};

}  // namespace lifeboat
