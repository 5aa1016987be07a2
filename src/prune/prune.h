// Prune: reclaims the space of data no snapshot references any more (after
// `forget`), of duplicate blob copies and of packs left by interrupted
// backups — without ever making a referenced blob unreachable, even if it is
// killed at any instant.
//
// How: load every index file; mark the blobs used by all snapshots (walking
// their trees); per pack count used and unused bytes (a used blob stored in
// several packs counts as used in one of them only). Packs with no used blob
// are deleted; partly used packs are repacked — their used blobs copied into
// new packs — most-unused first, until the unused space left is at most
// `max_unused_fraction` of the repository; packs in the backend that no index
// lists are deleted. The order of writes makes every step crash-safe
// (docs/FORMAT.md "Crash safety"):
//   1. store the new packs (repacked blobs, in their stored form, read and
//      checked by several threads) and index files listing them;
//   2. write a new, complete index (kept + new packs) whose files name every
//      old index file and those of step 1 in `supersedes`;
//   3. delete the old index files and those of step 1;
//   4. delete the unused, repacked and unreferenced packs.
// Stopped anywhere, every blob a snapshot references is still listed by some
// index file in a pack that exists; what is left over (extra packs, old index
// files) is removed by the next prune.
//
// Object Lock: when the backend reports Capabilities().object_lock, prune asks
// RetainUntil for every pack it would delete or repack and for every old
// index file it would delete. A locked object is never removed: a locked pack
// is kept as it is (not repacked), and a locked index file is kept together
// with every pack it lists (so the union of all index files never names a
// pack that is gone). PrunePlan reports what was kept and until when.
//
// Prune takes the repository's exclusive lock itself and fails with kLocked
// (as RepoLock::Acquire reports it) while a backup or another prune holds a
// lock. It refuses (kCorrupt, nothing changed) when an index file, a snapshot
// or a tree cannot be read or a referenced blob is missing: run `check`.
//
// Afterwards the Repository's in-memory index (Repository::index()) no longer
// matches the repository: open the repository again before further use.
// Thread-safety: one Prune per repository at a time (the lock enforces it).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/id.h"
#include "base/result.h"
#include "repo/repository.h"

namespace lifeboat {

// Live counters of the repacking, for a progress display (read from another
// thread while prune runs).
struct PruneProgress {
  std::atomic<uint64_t> packs_total{0};  // packs to repack, set once planned
  std::atomic<uint64_t> packs_done{0};
  std::atomic<uint64_t> bytes_total{0};  // used bytes to copy
  std::atomic<uint64_t> bytes_done{0};
};

struct PruneOptions {
  // Repack partly used packs only while the unused space left exceeds this
  // fraction of the repository's size after prune (restic --max-unused 5%).
  // 0 repacks every partly used pack; 1 repacks none.
  double max_unused_fraction = 0.05;
  // Upper bound on the bytes of used blobs copied by repacking.
  uint64_t max_repack_bytes = UINT64_MAX;
  // Plan only: report what would happen, change nothing.
  bool dry_run = false;
  // Updated while repacking when set; must outlive the call.
  PruneProgress* progress = nullptr;
};

struct PrunePlan {
  uint64_t index_files = 0;
  uint64_t index_files_superseded = 0;  // left by an interrupted prune: index is rewritten

  // Packs listed in the index and present in the backend.
  uint64_t packs_total = 0;
  uint64_t packs_keep = 0;
  uint64_t packs_repack = 0;
  uint64_t packs_delete = 0;        // no used blob left
  uint64_t packs_unreferenced = 0;  // in the backend, in no index: deleted too
  uint64_t packs_missing = 0;       // in the index, not in the backend (holding no used blob)

  uint64_t blobs_used = 0;       // distinct blobs referenced by snapshots
  uint64_t blobs_unused = 0;     // stored blob copies not needed (incl. duplicates)
  uint64_t blobs_duplicate = 0;  // of those, extra copies of used blobs
  uint64_t blobs_repack = 0;     // used blobs that will be copied

  uint64_t bytes_total = 0;         // size of the indexed packs
  uint64_t bytes_used = 0;          // stored size of the used blobs (one copy each)
  uint64_t bytes_unused = 0;        // stored size of the unused blob copies
  uint64_t bytes_repack = 0;        // stored size of the used blobs that will be copied
  uint64_t bytes_unused_after = 0;  // unused bytes left in kept packs
  uint64_t bytes_unreferenced = 0;  // size of the unreferenced packs
  uint64_t bytes_to_free = 0;       // sizes of all packs to delete (before the repacked copies)

  // Kept because the backend holds them under a retention lock (Object Lock).
  uint64_t packs_locked = 0;        // packs that would have been deleted or repacked
  uint64_t bytes_locked = 0;        // their size
  uint64_t index_files_locked = 0;  // old index files that could not be deleted
  int64_t locked_until = 0;         // latest retain-until of those (unix seconds)

  std::vector<Id> delete_packs;                 // indexed packs with no used blob
  std::vector<Id> repack_packs;                 // indexed packs to rewrite
  std::vector<std::string> unreferenced_packs;  // backend names in no index

  // Whether anything would change.
  bool nothing_to_do() const {
    return delete_packs.empty() && repack_packs.empty() && unreferenced_packs.empty() &&
           packs_missing == 0 && index_files_superseded == 0;
  }
};

struct PruneResult {
  PrunePlan plan;
  uint64_t packs_written = 0;  // new packs holding repacked blobs
  uint64_t bytes_written = 0;  // their size
  uint64_t packs_deleted = 0;  // packs removed (unused, repacked, unreferenced)
  uint64_t bytes_freed = 0;    // removed bytes minus bytes_written
  std::vector<Id> new_index_files;
  uint64_t index_files_deleted = 0;
};

// Prunes `repo` as described above. `log`, if given, receives one line per
// step ("repacking 3 packs", ...). On failure nothing referenced is lost; the
// status names the step that failed.
Result<PruneResult> Prune(Repository& repo, const PruneOptions& options,
                          std::function<void(std::string_view)> log = nullptr);

}  // namespace lifeboat
