// WAL prefetch for recovery: `archive-get --spool DIR` hands fetching to a
// background worker that opens the repository once and fetches the segments
// PostgreSQL will ask for next, a bounded window ahead, in parallel.
//
// Recovery runs restore_command once per segment, one after the other; with a
// repository opened per call (password derivation, key file) that dominates
// replay. With the spool (walspool/fetch_spool.h) the command only exchanges
// files with the worker here.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "repo/repository.h"
#include "walspool/fetch_spool.h"

namespace lifeboat {

struct WalFetchWorkerOptions {
  uint64_t segment_size = 16u << 20;  // as in FindWalGaps
  int window = 8;                     // segments fetched ahead of the ask
  int threads = 2;                    // fetches in parallel
  double idle_exit_seconds = 2.0;     // return after this long without a new ask
  // Also return once this is set (a worker run inside `restore postgres
  // --start`, stopped when recovery is over); nullptr: never.
  const std::atomic<bool>* stop = nullptr;
  // Set once PostgreSQL asked for a segment the archive does not have (it
  // has read every segment before it) or for one served from a stream-wal
  // partial (the archive's last): recovery will have replayed all the
  // archive holds once it needs more (the cue to promote a standby, which
  // finishes what it has read first); nullptr: not reported.
  std::atomic<bool>* exhausted = nullptr;
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
  // PostgreSQL asked for a segment past the end of the archive.
  bool exhausted() const { return exhausted_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> exhausted_{false};
  std::thread thread_;
};

}  // namespace lifeboat
