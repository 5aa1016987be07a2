// WAL prefetch for recovery: `archive-get --spool DIR` hands fetching to a
// background worker that opens the repository once and fetches the segments
// PostgreSQL will ask for next, a bounded window ahead, in parallel.
//
// Recovery runs restore_command once per segment, one after the other; with a
// repository opened per call (password derivation, key file) that dominates
// replay. With the spool the command only exchanges files:
//
//   DIR/<system id>/in/want           the file PostgreSQL asked for last
//   DIR/<system id>/in/NAME           NAME, fetched and verified (GetWal)
//   DIR/<system id>/in/NAME.missing   the archive does not have NAME
//   DIR/<system id>/in/NAME.error     fetching NAME failed (the message)
//   DIR/<system id>/in/worker.lock    held (flock) by the running worker
//
// A fetched file is moved (or copied) to PostgreSQL's destination by the
// archive-get call that wants it; markers are consumed by the call that
// reports them, so a later ask looks again. The worker fetches `want` itself
// first (whatever kind of file it is), then the next `window` segments of
// the same timeline, stops at the first one the archive lacks, removes
// fetched segments older than `want`, and exits after a short idle time.
// Files in the spool were written by the worker only after GetWal verified
// them; the directory is private (0700).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "repo/repository.h"

namespace lifeboat {

class WalFetchSpool {
 public:
  WalFetchSpool(std::string spool_root, uint64_t system_id);
  const std::string& dir() const { return dir_; }
  Status Prepare() const;  // mkdir -p, mode 0700, owned by this user

  enum class State { kNone, kReady, kMissing, kError };
  // What the spool has for `wal_name`; for kError, *message gets the text.
  State Check(const std::string& wal_name, std::string* message) const;
  // Moves the fetched file to `dest` (rename, or copy + fsync across
  // filesystems; atomic either way).
  Status Take(const std::string& wal_name, const std::string& dest) const;
  void ConsumeMarkers(const std::string& wal_name) const;

  Status Want(const std::string& wal_name) const;  // records the ask
  std::string Wanted() const;                      // "" when none

  Result<int> TryLockWorker() const;  // as WalSpool::TryLockWorker

 private:
  friend void RunWalFetchWorker(Repository&, uint64_t, const WalFetchSpool&, uint64_t, int, int,
                                double, const std::function<void(const std::string&)>&);
  std::string dir_;
};

// The segment after `wal_name` on the same timeline ("" if `wal_name` is not
// a plain segment name). `segment_size` as in FindWalGaps.
std::string NextWalSegment(const std::string& wal_name, uint64_t segment_size);

// The worker: fetches what is wanted and `window` segments ahead with
// `threads` in parallel; returns after `idle_exit_seconds` without a new ask.
void RunWalFetchWorker(Repository& repo, uint64_t system_id, const WalFetchSpool& spool,
                       uint64_t segment_size, int window, int threads, double idle_exit_seconds,
                       const std::function<void(const std::string&)>& log);

}  // namespace lifeboat
