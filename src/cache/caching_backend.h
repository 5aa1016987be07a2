// CachingBackend: a Backend decorator that keeps a local copy of repository
// metadata, so that listing snapshots, reading trees and incremental backups
// against a remote repository do not download the same bytes again.
//
// What is cached (in one directory per repository, see CacheDirFor):
//  - whole index files, snapshots and key files: all named by the SHA-256 of
//    their bytes, which is checked on every read from the cache;
//  - whole packs that hold only tree blobs, as told by a PackClassifier (the
//    repository writes trees into packs of their own, docs/FORMAT.md
//    "Tree packs"); a pack is hashed once per process before its first
//    ranged read is served from the cache.
// The config is never cached: it is the one object whose name is not its
// hash, it is tiny, and reading it fresh on every open means a repository
// re-created at the same location is never mistaken for the old one.
//
// The cache holds only bytes that are in the repository (still encrypted).
// It is safe to delete at any time: every entry is written to a temporary
// file and renamed into place (a crash never leaves a partial entry under a
// real name), every entry is verified against its name when read, and a
// missing or damaged entry (which is deleted) only costs a download. Failing
// to write the cache is never an error: the cache is best effort.
// List always asks the inner backend, and drops cache entries of objects
// that no longer exist (removed by prune or forget from another machine).
// Directories are created 0700, files 0600.
//
// Trimming and last use: besides the drops on List, DropPacksNotIn (wired
// by AttachCache to run after every index load) deletes cached packs that
// the repository's index no longer names, so packs removed by a prune on
// another machine leave the cache without a listing of the packs. Open
// touches `last-used` in the directory (its mtime is the last use that
// `lifeboat cache --cleanup` judges by, see cache_dirs.h) and puts a
// CACHEDIR.TAG in the cache root so backup tools skip the cache.
//
// Ownership: owns the inner backend and the classifier.
// Thread-safety: all Backend methods may be called concurrently (as the
// contract requires); SetPackClassifier may be called at any time.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "backend/backend.h"
#include "base/bytes.h"
#include "base/id.h"
#include "base/result.h"

namespace lifeboat {

// Tells the cache which packs hold only tree blobs and so are worth keeping
// whole. Implementations must be thread-safe.
class PackClassifier {
 public:
  virtual ~PackClassifier() = default;
  // A pack already in the repository (named by its id in hex).
  virtual bool IsTreePack(const std::string& name) = 0;
  // A pack being stored, given all its bytes (untrusted: false if unreadable).
  virtual bool IsTreePackData(ByteView pack) = 0;
};

// What the cache did, for tests and `-v` output.
struct CacheStats {
  std::atomic<uint64_t> hits{0};          // loads served from the cache
  std::atomic<uint64_t> misses{0};        // cacheable loads that went to the inner backend
  std::atomic<uint64_t> damaged{0};       // entries that failed verification (deleted)
  std::atomic<uint64_t> dropped{0};       // entries deleted because List no longer had them
  std::atomic<uint64_t> write_errors{0};  // entries that could not be written (ignored)
};

class CachingBackend final : public Backend {
 public:
  // Wraps `inner`, caching in `dir` (this repository's own directory, an
  // absolute path; created with mode 0700, parents included, if missing).
  // On failure `inner` is left untouched, so the caller can go on without
  // a cache.
  static Result<std::unique_ptr<CachingBackend>> Open(std::unique_ptr<Backend>&& inner,
                                                      std::string dir);
  ~CachingBackend() override;

  // Until set, no pack is cached. Replaces an earlier classifier.
  void SetPackClassifier(std::unique_ptr<PackClassifier> classifier);

  // Records the id of the repository cached here (RepoConfig::id), shown by
  // `lifeboat cache`. Best effort, like every cache write.
  void RecordRepositoryId(const std::string& id);

  // Deletes cached packs for which `indexed` is false, except entries
  // written less than an hour ago: another process on this machine may have
  // stored that pack and not indexed it yet. Returns how many were deleted
  // (also counted in stats().dropped). Call with a complete index only.
  size_t DropPacksNotIn(const std::function<bool(const Id&)>& indexed);

  const std::string& dir() const { return dir_; }
  const CacheStats& stats() const { return stats_; }
  Backend& inner() { return *inner_; }

  std::string Location() const override { return inner_->Location(); }
  BackendCapabilities Capabilities() const override { return inner_->Capabilities(); }
  Status Create() override { return inner_->Create(); }
  Status Save(const ObjectName& name, ByteView data) override;
  Result<Bytes> Load(const ObjectName& name, uint64_t offset = 0, uint64_t length = 0) override;
  Result<uint64_t> Stat(const ObjectName& name) override { return inner_->Stat(name); }
  Status Remove(const ObjectName& name) override;
  Status List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) override;
  // Forwarded as is: a partial listing says nothing about what to drop.
  Status ListPrefix(ObjectType type, std::string_view name_prefix,
                    const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_->ListPrefix(type, name_prefix, fn);
  }
  std::string StagingDir() const override { return inner_->StagingDir(); }
  Status SaveStaged(const ObjectName& name, StagedFile& file) override;
  Result<std::optional<int64_t>> RetainUntil(const ObjectName& name) override {
    return inner_->RetainUntil(name);
  }

 private:
  CachingBackend(std::unique_ptr<Backend> inner, std::string dir);

  std::string EntryPath(const ObjectName& name) const;
  std::shared_ptr<PackClassifier> classifier() const;
  // The cached object if present and its bytes hash to its name; a damaged
  // entry is deleted. nullopt when absent or damaged.
  std::optional<Bytes> ReadWholeEntry(const ObjectName& name);
  // Writes an entry atomically (temp + rename); failures only counted.
  void WriteEntry(const ObjectName& name, ByteView data);
  void DropEntry(const ObjectName& name);
  // A range of a cached tree pack, hashing the pack first if this process
  // has not yet. nullopt when absent or damaged (then deleted).
  std::optional<Result<Bytes>> ReadPackRange(const ObjectName& name, uint64_t offset,
                                             uint64_t length);
  Result<Bytes> LoadPack(const ObjectName& name, uint64_t offset, uint64_t length);
  void DropStaleEntries(ObjectType type, const std::unordered_set<std::string>& live);

  std::unique_ptr<Backend> inner_;
  const std::string dir_;
  mutable std::mutex mu_;
  std::shared_ptr<PackClassifier> classifier_;      // guarded by mu_
  std::unordered_set<std::string> verified_packs_;  // guarded by mu_
  // Serialises the download of one pack so concurrent readers of its blobs
  // fetch it once (striped by name).
  std::array<std::mutex, 16> pack_fetch_mu_;
  CacheStats stats_;
};

// $XDG_CACHE_HOME/lifeboat, else $HOME/.cache/lifeboat; empty if neither
// variable is set to an absolute path.
std::string DefaultCacheRoot();

// The cache directory of the repository at `location` (Backend::Location())
// under `root`: root/<first 32 hex digits of SHA-256(location)>, so that the
// location (which may name a host and user) is not spelled out on disk.
std::string CacheDirFor(const std::string& root, const std::string& location);

}  // namespace lifeboat
