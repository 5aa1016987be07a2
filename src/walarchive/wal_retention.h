// WAL retention: removes the archived WAL files that no retained PostgreSQL
// base backup needs any more, run by `prune` after the packs.
//
// The rule, per cluster (system identifier): with P the smallest WAL position
// (the log/segment part of the file name, the last 16 hex digits) of
// start_wal_file over the cluster's retained base backups, a segment,
// .partial segment or .backup label whose position is below P is expired;
// everything at or after P is kept on every timeline, and timeline .history
// files are always kept (they are tiny and recovery needs the whole chain).
// Positions only grow along a timeline history, and every retained backup
// starts at P or later, so every retained backup can still replay to any
// point after its start. A cluster with no retained base backup keeps all its
// WAL (a backup may be about to be taken; expiring it is a decision for a
// person) and is reported.
//
// Under S3 Object Lock, a locked WAL object is kept and reported, like packs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "repo/repository.h"

namespace lifeboat {

struct WalRetentionCluster {
  uint64_t system_id = 0;
  uint64_t base_backups = 0;  // retained base backups of this cluster
  std::string keep_from;      // oldest start_wal_file; "" when no base backup (keep all)
  uint64_t files_total = 0;
  uint64_t bytes_total = 0;
  struct Expired {
    std::string object;  // object name in wal/
    uint64_t size = 0;   // stored bytes
  };
  std::vector<Expired> expire;  // to remove
  uint64_t bytes_expire = 0;
};

struct WalRetentionPlan {
  std::vector<WalRetentionCluster> clusters;  // by system id
  uint64_t files_locked = 0;                  // expired but under a retention lock: kept
  int64_t locked_until = 0;                   // latest retain-until of those (unix seconds)
  uint64_t files_deleted = 0;
  uint64_t bytes_deleted = 0;
};

// The WAL file names of `names` (all of one cluster) that are older than
// `keep_from` (a WAL file name) by the rule above. Pure; for tests.
std::vector<std::string> WalFilesBefore(const std::vector<std::string>& names,
                                        std::string_view keep_from);

// Plans WAL retention from the repository's wal/ listing and its snapshots
// (source "postgres", source_info system_identifier and start_wal_file). A
// PostgreSQL snapshot without those fields makes it fail (kCorrupt): keeping
// WAL it might need is impossible to decide.
Result<WalRetentionPlan> PlanWalRetention(Repository& repo,
                                          const std::vector<SnapshotEntry>& snapshots);

// Removes the planned objects, skipping (and counting) locked ones when the
// backend has Object Lock. `log` gets one line per cluster.
Status ApplyWalRetention(Repository& repo, WalRetentionPlan& plan,
                         const std::function<void(std::string_view)>& log = nullptr);

}  // namespace lifeboat
