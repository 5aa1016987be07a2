// The cache root as a whole: one directory per repository (CacheDirFor), and
// what `lifeboat cache` shows and cleans up. A repository's directory holds,
// besides the cached objects, two small marker files:
//  - `last-used`: empty; its mtime is set whenever the repository is opened
//    with the cache (CachingBackend::Open), so "last used" costs one utime
//    per open and no bookkeeping;
//  - `repository`: the repository's id (RepoConfig::id), for display: the
//    directory's own name is a hash of the location, which is not spelled out.
// Like restic's `cache --cleanup`, caches of repositories not used for a
// number of days are deleted whole; every cache is safe to delete anyway.
// Only directories whose names CacheDirFor could have produced are listed or
// removed, so a mistaken --cache-dir does not delete unrelated files; links
// are never followed.
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace lifeboat {

inline constexpr std::string_view kCacheLastUsedFile = "last-used";
inline constexpr std::string_view kCacheRepositoryFile = "repository";

// Creates `dir`/last-used or sets its mtime to now. Best effort.
void TouchLastUsed(const std::string& dir);

struct CacheDirInfo {
  std::string name;           // directory name under the root
  std::string path;           // root/name
  std::string repository_id;  // from the `repository` file; empty if unknown
  uint64_t size = 0;          // bytes of the regular files in it (0 unless asked for)
  int64_t last_used_ns = 0;   // mtime of `last-used`, else of the directory
};

// The repository caches under `root`, sorted by name. An absent root is an
// empty list. `with_size`: also sum their file sizes (walks every file).
Result<std::vector<CacheDirInfo>> ListCacheDirs(const std::string& root, bool with_size);

// Whether a cache last used at `last_used_ns` counts as unused at `now_ns`:
// more than `max_unused_days` whole days ago.
bool CacheUnusedFor(int64_t last_used_ns, int64_t now_ns, int max_unused_days);

// Deletes the caches under `root` that CacheUnusedFor says are unused at
// `now_ns` (max_unused_days >= 0) and returns them. A cache that cannot be
// deleted is an error naming it; the ones deleted before it stay deleted.
Result<std::vector<CacheDirInfo>> RemoveUnusedCacheDirs(const std::string& root,
                                                        int max_unused_days, int64_t now_ns);

}  // namespace lifeboat
