// Binlog retention: removes the archived binlogs that no retained MariaDB
// logical backup needs any more, run by `prune` after the packs and WAL.
//
// The rule, per server (server_id): with K the oldest binlog_file over the
// server's retained `mariadb` snapshots that record a binlog position, a
// binlog of K's base name with a smaller sequence number is expired; K and
// everything after it are kept, as are files of another base name (their
// order relative to K is unknown). A server with no such retained snapshot
// keeps all its binlogs (a dump may be about to be taken; expiring them is a
// decision for a person). Dumps without a position (binary logging off) need
// no binlogs and do not count.
//
// Under S3 Object Lock, a locked binlog object is kept and reported.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "repo/repository.h"

namespace lifeboat {

struct BinlogRetentionServer {
  uint64_t server_id = 0;
  uint64_t dumps = 0;     // retained dumps of this server with a binlog position
  std::string keep_from;  // oldest binlog_file; "" when no dump (keep all)
  uint64_t files_total = 0;
  struct Expired {
    std::string object;  // object name in wal/
    uint64_t size = 0;   // stored bytes
  };
  std::vector<Expired> expire;
  uint64_t bytes_expire = 0;
};

struct BinlogRetentionPlan {
  std::vector<BinlogRetentionServer> servers;  // by server_id
  uint64_t files_locked = 0;
  int64_t locked_until = 0;
  uint64_t files_deleted = 0;
  uint64_t bytes_deleted = 0;
};

// The binlog names of `names` (one server) older than `keep_from` by the rule
// above. Pure; for tests.
std::vector<std::string> BinlogFilesBefore(const std::vector<std::string>& names,
                                           std::string_view keep_from);

// Plans retention from the wal/ listing ("mariadb." objects only) and the
// snapshots. A `mariadb` snapshot with a binlog_file but no valid server_id,
// or an invalid binlog_file, makes it fail (kCorrupt): nothing is removed.
Result<BinlogRetentionPlan> PlanBinlogRetention(Repository& repo,
                                                const std::vector<SnapshotEntry>& snapshots);

// Removes the planned objects, skipping (and counting) locked ones.
Status ApplyBinlogRetention(Repository& repo, BinlogRetentionPlan& plan,
                            const std::function<void(std::string_view)>& log = nullptr);

}  // namespace lifeboat
