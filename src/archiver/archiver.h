// Archiver: turns paths on the local filesystem (or a stream) into a tree of
// blobs in the repository and returns the root tree for a snapshot.
//
// Pipeline (bounded at every stage, so memory does not grow with the size of
// the data or of any one file):
//   walkers (the calling thread and more): list and stat directories
//     depth-first, reuse the chunk list of files unchanged since the parent
//     snapshot, and queue the rest →
//   readers (threads): read each file once, cut it into chunks (FastCDC),
//     compute blob ids (keyed hash) — ids are known immediately, so trees
//     complete without waiting for compression →
//   savers (one per core): compress, encrypt and pack new chunks
//     (Repository::SaveBlob), which hands full packs to the uploaders.
// A directory's tree blob is encoded and stored by whichever thread completes
// its last child.
//
// Per-file problems (unreadable, vanished) are recorded and the file left
// out; problems with the repository end the run with an error.
// Thread-safety: one Run at a time; progress() may be read from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/id.h"
#include "model/snapshot.h"
#include "policy/path_filter.h"
#include "repo/repository.h"

namespace lifeboat {

struct ArchiverOptions {
  std::vector<std::string> paths;       // absolute, normalised (see NormalizeBackupPath)
  const PathFilter* exclude = nullptr;  // not owned; may be null
  std::vector<IfPresentRule> exclude_if_present;
  bool one_file_system = false;
  // Tree of the snapshot to compare with; unset = read every file (full).
  std::optional<Id> parent_tree;
  bool dry_run = false;  // compute everything, store nothing
  bool read_xattrs = true;
  // The parent snapshot recorded xattrs: an entry whose inode and ctime are
  // unchanged keeps them without reading (see StatOptions::previous).
  bool parent_has_xattrs = false;
  // Walk the paths once more in a separate thread just to count files and
  // bytes, so progress can show a percentage and ETA (costs one extra stat
  // per file; worth it for interactive use only).
  bool scan_totals = false;
  // 0 = the default: walkers max(cores, 16); readers one per core, and 4
  // more while files are read from the disk rather than the page cache (both
  // walkers and readers then wait more than they compute); savers one per core.
  int walker_threads = 0;  // directories listed and stat'ed at once
  int reader_threads = 0;  // files read at once
  int saver_threads = 0;   // chunks compressed and encrypted at once
};

struct ArchiveProgress {
  std::atomic<uint64_t> files_done{0}, dirs_done{0}, bytes_done{0};
  std::atomic<uint64_t> files_total{0}, bytes_total{0};  // grows as the walk proceeds
  std::atomic<bool> walk_finished{false};
  std::atomic<uint64_t> bytes_added{0};  // plaintext of new blobs
  std::atomic<uint64_t> errors{0};
  // Files whose first read waited for the disk (not in the page cache).
  std::atomic<uint64_t> files_read_uncached{0};
  // From the counting scan (scan_totals): final once scan_finished.
  std::atomic<uint64_t> scan_files{0}, scan_bytes{0};
  std::atomic<bool> scan_finished{false};
};

struct ArchiveIssue {
  std::string path;
  Status status;
};

struct ArchiveResult {
  Id tree;
  SnapshotSummary summary;
  std::vector<ArchiveIssue> errors;    // files/dirs left out (exit code 3)
  std::vector<ArchiveIssue> warnings;  // e.g. file changed while being read
};

class Archiver {
 public:
  Archiver(Repository& repo, ArchiverOptions options);
  ~Archiver();

  // Backs up options.paths. The caller holds a shared lock and, unless
  // dry_run, calls repo.Flush() before saving the snapshot (Run flushes too).
  Result<ArchiveResult> Run();

  // Backs up one stream (--stdin) as a file named `filename` at the root.
  Result<ArchiveResult> RunStream(int fd, const std::string& filename);

  // Asks a running Run to stop soon; it then returns kCancelled.
  void Cancel();

  const ArchiveProgress& progress() const { return progress_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ArchiveProgress progress_;
};

// Makes `path` absolute (relative to the current directory) and lexically
// clean: no "." or ".." components, no duplicate or trailing '/'.
std::string NormalizeBackupPath(const std::string& path);

}  // namespace lifeboat
