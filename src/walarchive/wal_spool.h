// Asynchronous WAL archiving: a spool directory through which a background
// worker tells `archive-push --async` calls that their segment is archived.
//
// PostgreSQL runs archive_command once per segment, one at a time; opening
// the repository (a password KDF, a key file read) then costs more than
// pushing a segment. With --async the command only checks the spool:
//
//   SPOOL/<system id>/NAME.ok     NAME is durably in the repository
//   SPOOL/<system id>/NAME.error  pushing NAME failed (the message inside)
//   SPOOL/<system id>/worker.lock held (flock) by the running worker
//
// If neither marker exists it starts the worker (unless one runs) and waits
// for one. The worker opens the repository once, pushes every segment that
// pg_wal/archive_status marks .ready (so it runs ahead of PostgreSQL, in
// parallel), writes NAME.ok only after PushWal returned (the object is
// durable), and exits after a short idle time. An .error is consumed by the
// archive-push call that reports it (so PostgreSQL's retry is a new
// attempt); a .ok stays until the segment is no longer .ready (PostgreSQL
// renamed it .done) and the worker sweeps it.
//
// The foreground never reports success without a .ok written after a
// successful push of that name for that system id: losing the spool (or the
// worker) only costs a re-push, which is idempotent.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "repo/repository.h"
#include "walspool/fetch_spool.h"  // TryLockFile

namespace lifeboat {

class WalSpool {
 public:
  // SPOOL/<system id>, created (0700) on first use.
  WalSpool(std::string spool_root, uint64_t system_id);

  const std::string& dir() const { return dir_; }
  Status Prepare() const;  // mkdir -p, mode 0700

  enum class State { kNone, kOk, kError };
  // The marker for `wal_name`; for kError, *message gets its contents.
  State Check(const std::string& wal_name, std::string* message) const;
  Status MarkOk(const std::string& wal_name) const;
  Status MarkError(const std::string& wal_name, const std::string& message) const;
  void Consume(const std::string& wal_name) const;  // removes both markers

  // Takes the worker lock without blocking: an open fd holding it, or -1
  // when another process holds it. The lock lives as long as the fd (and is
  // inherited across fork).
  Result<int> TryLockWorker() const;

  // Removes the markers of names not in `ready` (sorted), keeping `keep`.
  void Sweep(const std::vector<std::string>& ready, const std::string& keep) const;

 private:
  std::string dir_;
};

// The WAL file names PostgreSQL has marked ready for archiving
// (PGDATA/pg_wal/archive_status/NAME.ready), sorted.
Result<std::vector<std::string>> ReadyWalFiles(const std::string& pgdata);

struct WorkerOptions {
  int threads = 4;             // segments pushed in parallel
  double idle_exit_seconds = 2.0;  // exit after this long with nothing to push
};

// The worker loop: pushes every .ready segment lacking a marker, writes
// markers, sweeps stale ones, and returns after `idle_exit_seconds` without
// work. `log` receives one line per failure.
void RunWalWorker(Repository& repo, uint64_t system_id, const std::string& pgdata,
                  const WalSpool& spool, const WorkerOptions& options,
                  const std::function<void(const std::string&)>& log);

}  // namespace lifeboat
