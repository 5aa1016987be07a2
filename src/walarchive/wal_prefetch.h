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

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
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
  std::string dir_;
};

struct WalFetchWorkerOptions {
  uint64_t segment_size = 16u << 20;  // as in FindWalGaps
  int window = 8;                     // segments fetched ahead of the ask
  int threads = 2;                    // fetches in parallel
  double idle_exit_seconds = 2.0;     // return after this long without a new ask
  // Also return once this is set (a worker run inside `restore postgres
  // --start`, stopped when recovery is over); nullptr: never.
  const std::atomic<bool>* stop = nullptr;
  // When >= 0, fetched files are chowned to this user and group: root
  // restores for a server that runs as `postgres`, which must read them.
  int owner_uid = -1, owner_gid = -1;
};

// The segment after `wal_name` on the same timeline ("" if `wal_name` is not
// a plain segment name). `segment_size` as in FindWalGaps.
std::string NextWalSegment(const std::string& wal_name, uint64_t segment_size);

// The worker: fetches what is wanted and `window` segments ahead with
// `threads` in parallel; returns after `idle_exit_seconds` without a new ask
// or when *options.stop is set.
void RunWalFetchWorker(Repository& repo, uint64_t system_id, const WalFetchSpool& spool,
                       const WalFetchWorkerOptions& options,
                       const std::function<void(const std::string&)>& log);

// The worker on a thread of this process, holding the worker lock, so that
// archive-get calls find their files without starting a worker of their own.
// `restore postgres --start` runs one from before the files are restored
// until recovery is over: the repository is already open there, and the
// first segments arrive while the files are still being written (otherwise
// the first two archive-get calls each pay a repository open, ~0.5 s).
class WalPrefetchThread {
 public:
  WalPrefetchThread() = default;
  WalPrefetchThread(const WalPrefetchThread&) = delete;
  WalPrefetchThread& operator=(const WalPrefetchThread&) = delete;
  ~WalPrefetchThread() { Stop(); }

  // Takes the worker lock of `spool` (Prepare()d), records `first` as the
  // ask, and starts fetching. Ok without starting when another worker holds
  // the lock (it serves the calls). `repo` must outlive Stop().
  Status Start(Repository& repo, uint64_t system_id, const WalFetchSpool& spool,
               const std::string& first, WalFetchWorkerOptions options);
  void Stop();  // idempotent; releases the lock
  bool running() const { return thread_.joinable(); }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace lifeboat
