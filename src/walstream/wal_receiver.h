// WalReceiver: the long-running body of `lifeboat postgres stream-wal`.
// Speaks PostgreSQL's physical streaming replication protocol over a libpq
// replication connection (IDENTIFY_SYSTEM, optionally
// CREATE_REPLICATION_SLOT ... PHYSICAL, READ_REPLICATION_SLOT,
// START_REPLICATION [SLOT s] PHYSICAL lsn TIMELINE tli), writes the WAL into
// a local spool (WalStreamSpool) and stores
//   - every completed segment as exactly the WAL archive object
//     archive-push would store (write-once, idempotent: archive_command and
//     stream-wal may both run against one repository), and
//   - at every flush interval the current partial segment as a stream
//     partial object ("<segment>.<valid bytes>.stream", docs/FORMAT.md §14).
// The flush position reported to the server (and so the slot's restart
// point) is what is durable in the local spool (fsync'ed): a crash of the
// receiver loses nothing the server has released.
//
// Start position, in order: the slot's restart_lsn; the end of what the
// spool holds (its newest partial segment, else its newest completed one);
// the newest segment of the timeline in the repository; the server's
// current position. Always rounded down to the start of its segment.
// Timelines: the server's current timeline is streamed and its .history
// file stored; when the server ends the stream (a timeline switch or a
// shutdown) the receiver stores its partial and reconnects.
//
// Thread-safety: one thread; the stop flag may be set from a signal handler.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"
#include "repo/repository.h"

namespace lifeboat {

struct WalReceiverOptions {
  std::string conninfo;  // "" = libpq's environment only
  std::string slot;      // "" = no slot (WAL may be removed before it is streamed)
  bool create_slot = false;
  std::string spool_dir;        // must exist, mode 0700; files go in spool_dir/<system id>/
  double flush_interval = 1.0;  // seconds between fsync + status + partial upload
  double max_backoff = 30.0;    // seconds between reconnection attempts, at most
  int max_attempts = 0;         // failed connections in a row before giving up (0 = never)
  const volatile std::sig_atomic_t* stop = nullptr;  // set (by a signal) to stop cleanly
  std::function<void(const std::string&)> log;       // progress lines
  bool verbose = false;
};

struct WalReceiverStats {
  uint64_t segments_stored = 0;
  uint64_t partials_stored = 0;
  uint64_t bytes_received = 0;
  uint64_t flush_lsn = 0;
};

// Runs until *options.stop is set (then: flush, store the partial, return
// Ok) or a permanent failure (bad slot, wrong cluster, unsupported server,
// a gap in the stream). Connection failures are retried with backoff.
Status RunWalReceiver(Repository& repo, const WalReceiverOptions& options,
                      WalReceiverStats* stats);

}  // namespace lifeboat
