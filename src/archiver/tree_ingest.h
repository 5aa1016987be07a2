// TreeIngest: builds a snapshot tree from entries that a source produces as a
// stream (a tar archive from PostgreSQL, later other databases) instead of
// from a walk of the local filesystem.
//
// The caller adds directories, symlinks and files (a file's bytes arrive in
// Write calls between BeginFile and EndFile, in any piece sizes). Entries may
// come in any order; missing parent directories are created implicitly (mode
// 0700, the time of their newest child) and take the metadata of a later
// AddDirectory for the same path. File content is cut into chunks by the same
// incremental ChunkScanner as file backups, chunks already in the repository
// are not stored again (a second ingest of unchanged data adds almost
// nothing), and new chunks are compressed, encrypted and packed by saver
// threads fed through a bounded queue with pooled buffers. Finish() stores
// the trees bottom-up and flushes the repository.
//
// Memory: one Node per entry (names and chunk ids, no content) plus the
// bounded queue. Paths are relative to the snapshot root ("pgdata/base/1");
// leading '/' and "." components are ignored, ".." and invalid names are
// kInvalidArgument. A path added twice is kAlreadyExists (a directory may be
// given explicitly once after being implied).
//
// Thread-safety: the Add/Begin/Write/End/Finish calls come from one thread;
// progress() may be read and Cancel() called from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "archiver/archiver.h"
#include "base/bytes.h"
#include "base/result.h"
#include "repo/repository.h"

namespace lifeboat {

struct NodeMeta {
  uint32_t mode = 0600;  // permission bits (st_mode & 07777)
  uint32_t uid = 0, gid = 0;
  std::string user, group;
  int64_t mtime_ns = 0;  // since the Unix epoch
};

struct IngestOptions {
  int saver_threads = 0;  // 0 = number of cores
};

class TreeIngest {
 public:
  // `repo` must have its index loaded (for dedup) and outlive the ingest; the
  // caller holds a shared lock.
  TreeIngest(Repository& repo, IngestOptions options = {});
  ~TreeIngest();
  TreeIngest(const TreeIngest&) = delete;
  TreeIngest& operator=(const TreeIngest&) = delete;

  Status AddDirectory(std::string_view path, const NodeMeta& meta);
  Status AddSymlink(std::string_view path, std::string_view target, const NodeMeta& meta);
  // Starts a regular file; its content follows in Write calls. The size is
  // what was written by EndFile.
  Status BeginFile(std::string_view path, const NodeMeta& meta);
  Status Write(ByteView data);
  Status EndFile();

  // Stores all trees, flushes the repository and returns the root tree with
  // the summary. No call may follow. A file still open is kInvalidArgument.
  Result<ArchiveResult> Finish();

  // Makes the next call (and a Finish) return kCancelled.
  void Cancel();

  // files_done, dirs_done, bytes_done, bytes_added are maintained.
  const ArchiveProgress& progress() const { return progress_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ArchiveProgress progress_;
};

}  // namespace lifeboat
