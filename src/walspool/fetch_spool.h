// The spool through which `archive-get --spool DIR` (or the lean
// lifeboat-wal-get in front of it) and the fetch worker exchange WAL files
// during recovery (src/walarchive/wal_prefetch.h runs the worker).
//
//   DIR/<system id>/in-BOOT/want           the file PostgreSQL asked for last
//   DIR/<system id>/in-BOOT/NAME           NAME, fetched and verified (GetWal)
//   DIR/<system id>/in-BOOT/NAME.missing   the archive does not have NAME
//   DIR/<system id>/in-BOOT/NAME.error     fetching NAME failed (the message)
//   DIR/<system id>/in-BOOT/worker.lock    held (flock) by the running worker
//
// BOOT identifies this boot of the machine (Linux's boot_id). The spool's
// files are written without fsync: only a crash of the whole machine can
// lose them, and the next boot uses another directory, so a file cut short
// by that crash is never served. Where the boot is not known the directory
// is DIR/<system id>/in and every file is synced.
//
// A fetched file is copied to PostgreSQL's destination by the archive-get
// call that wants it; markers are consumed by the call that reports them, so
// a later ask looks again. The worker fetches `want` itself first (whatever
// kind of file it is), then the next `window` segments of the same timeline,
// stops at the first one the archive lacks, removes fetched segments older
// than both `want` and the ask before it, and exits after a short idle time.
// Files in the spool were written by the worker only after GetWal verified
// them; the directory is private (0700).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace lifeboat {

class WalFetchSpool {
 public:
  WalFetchSpool(std::string spool_root, uint64_t system_id);
  const std::string& dir() const { return dir_; }
  bool durable() const { return durable_; }  // files are fsynced (boot unknown)
  Status Prepare() const;  // mkdir -p, mode 0700, owned by this user

  enum class State { kNone, kReady, kMissing, kError };
  // What the spool has for `wal_name`; for kError, *message gets the text.
  State Check(const std::string& wal_name, std::string* message) const;
  // Copies the fetched file to `dest` (atomically: a temporary file and a
  // rename; not synced), leaving it in the spool for a repeated ask.
  Status Take(const std::string& wal_name, const std::string& dest) const;
  void ConsumeMarkers(const std::string& wal_name) const;

  Status Want(const std::string& wal_name) const;  // records the ask
  std::string Wanted() const;                      // "" when none

  Result<int> TryLockWorker() const;  // TryLockFile of DIR/.../worker.lock

  // The restore_command side, whole: records the ask for `wal_name`, waits
  // (polling every millisecond, at most `timeout_seconds`) for the worker's
  // answer and copies the file to `dest`. Ok when copied; kNotFound when the
  // archive lacks it; any other failure as it is (markers consumed, so a
  // later ask looks again). Whenever no worker holds the lock, `no_worker`
  // gets the lock's fd (and owns it) to start one.
  Status Await(const std::string& wal_name, const std::string& dest, double timeout_seconds,
               const std::function<void(int lock_fd)>& no_worker) const;

  // Worker side: NAME.missing and NAME.error (the message, cut to 4 KiB).
  Status MarkMissing(const std::string& wal_name) const;
  Status MarkError(const std::string& wal_name, const std::string& message) const;

 private:
  std::string dir_;
  bool durable_ = true;
};

// Writes `data` to `path` through a temporary file (0600) in its directory
// and a rename, so that a reader sees all of it or nothing; when `durable`,
// the file is fdatasync'ed first and the directory fsync'ed after.
Status WriteFileAtomically(const std::string& path, ByteView data, bool durable);

// Opens (creating, 0600) and flocks `path` without blocking: the fd holding
// the lock, or -1 when another process holds it.
Result<int> TryLockFile(const std::string& path);

}  // namespace lifeboat
