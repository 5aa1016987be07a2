// Helpers for a restored PostgreSQL server: waiting until it has left
// recovery and reading the point it recovered to. Ordinary (non-replication)
// libpq connections over TCP on 127.0.0.1.
// Thread-safety: free functions, no shared state.
#pragma once

#include <functional>
#include <string>

#include "base/result.h"

namespace lifeboat {

struct PgRecoveredPoint {
  std::string last_replay_time;  // pg_last_xact_replay_timestamp(); empty if none replayed
  std::string current_lsn;       // pg_current_wal_lsn() once out of recovery
  std::string timeline;          // of the WAL the server writes now
};

// Polls 127.0.0.1:`port` as `user` (empty: libpq's default) until the server
// accepts connections and pg_is_in_recovery() is false, for at most
// `timeout_seconds`. kUnavailable on timeout, naming the last problem seen.
// `on_poll`, when given, runs before every wait between polls (e.g. to
// promote a standby once it has replayed the archive).
Result<PgRecoveredPoint> WaitUntilOutOfRecovery(int port, const std::string& user,
                                                int timeout_seconds,
                                                const std::function<void()>& on_poll = {});

}  // namespace lifeboat
