// Retention: which snapshots `lifeboat forget` keeps, with restic's `forget`
// semantics. A pure function over snapshot descriptors — it never reads or
// deletes anything; the caller removes what is not kept.
//
// Semantics (per group, see GroupByFlags):
//  * Snapshots are ordered newest first (ties: by id, ascending, so the result
//    does not depend on listing order).
//  * keep_tags: a snapshot carrying ALL tags of any one entry is kept
//    ("tags 'a,b'"). An empty entry matches every snapshot (as in restic).
//  * within: a snapshot is kept if its time is strictly after
//    (newest - within), where "newest" is the group's newest snapshot not in
//    the future relative to `now_ns` ("within 7d").
//  * last/hourly/daily/weekly/monthly/yearly = n: walking newest to oldest, a
//    snapshot is kept when its bucket differs from the bucket of the last
//    snapshot this rule kept, until n snapshots were kept by the rule; -1
//    means unlimited. "last" puts every snapshot in its own bucket. Like
//    restic (>= 0.17), if a rule still has count left when the walk reaches
//    the group's OLDEST snapshot, that snapshot is kept too even if its bucket
//    was already taken ("oldest daily snapshot"), which maximises the history
//    kept.
//  * Buckets are computed in UTC (restic uses the local time zone; lifeboat
//    uses UTC so that the outcome does not depend on where forget runs):
//    hour = YYYY-MM-DD-HH, day = YYYY-MM-DD, week = ISO-8601 week (year of the
//    week's Thursday + week number), month = YYYY-MM, year = YYYY.
//  * A snapshot kept for several rules lists every reason, in the order
//    tags, within, last, hourly, daily, weekly, monthly, yearly.
//  * An Empty() policy keeps every snapshot (reason "no policy"); the CLI
//    refuses an empty policy before getting here.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "policy/duration.h"

namespace lifeboat {

// What retention needs to know about one snapshot.
struct SnapshotRef {
  std::string id;       // full or short id, used for display and tie-breaking
  int64_t time_ns = 0;  // snapshot time, nanoseconds since the epoch (UTC)
  std::string hostname;
  std::vector<std::string> paths;
  std::vector<std::string> tags;
};

struct RetentionPolicy {
  static constexpr int kUnlimited = -1;

  // Counts: 0 = rule off, n > 0 = keep n, -1 = keep all (one per bucket).
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  // Keep everything newer than (newest snapshot time - within_ns); 0 = off.
  // Parse user input with ParseRetentionDuration.
  int64_t within_ns = 0;
  // Keep snapshots having ALL tags of any one entry (restic --keep-tag a,b).
  std::vector<std::vector<std::string>> keep_tags;

  // True if no rule is set (all counts 0, within 0, no keep_tags).
  bool Empty() const;
  // kInvalidArgument if a count is below -1 or within_ns is negative.
  Status Validate() const;
  // Human summary like restic's: "keep 7 daily, all weekly snapshots and all
  // snapshots within 30d of the newest", or "remove" when empty.
  std::string Describe() const;
};

// Which snapshot attributes split snapshots into independent groups.
struct GroupByFlags {
  bool host = false;
  bool paths = false;
  bool tags = false;

  static GroupByFlags Default() { return GroupByFlags{true, true, false}; }  // "host,paths"
  // Canonical text: "host,paths,tags" subset in that order; "" for none.
  std::string ToString() const;
  bool operator==(const GroupByFlags&) const = default;
};

// Parses restic's --group-by value: comma-separated "host", "paths", "tags"
// (singular "path"/"tag" accepted too; surrounding spaces and empty items are
// ignored). "" means no grouping. Unknown items → kInvalidArgument.
Result<GroupByFlags> ParseGroupBy(std::string_view text);

// One group's key, for display. A field not grouped by is empty. paths and
// tags are the sorted values joined with ",".
struct GroupKey {
  std::string hostname;
  std::string paths;
  std::string tags;
  bool operator==(const GroupKey&) const = default;
};

struct RetentionDecision {
  SnapshotRef snapshot;
  bool keep = false;
  // Why it is kept (empty when removed): "last snapshot", "hourly snapshot",
  // "daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot",
  // "oldest daily snapshot", "within 7d", "tags 'a,b'", "no policy".
  std::vector<std::string> reasons;
};

struct RetentionGroup {
  GroupKey key;
  std::vector<RetentionDecision> decisions;  // newest first
};

// Splits `snapshots` into groups (ordered by hostname, then sorted paths, then
// sorted tags) and decides, per group, what `policy` keeps. Every input
// snapshot appears in exactly one decision. `now_ns`: snapshots newer than
// this are ignored when finding the newest snapshot for `within` (as restic
// does with the clock); the default disables that check.
// REQUIRES: policy.Validate().ok() (other negative counts act as -1: keep more,
// never less).
std::vector<RetentionGroup> ApplyRetention(std::vector<SnapshotRef> snapshots,
                                           const RetentionPolicy& policy, GroupByFlags group_by,
                                           int64_t now_ns = std::numeric_limits<int64_t>::max());

// Convenience: ids of snapshots not kept, across all groups, in group order.
std::vector<std::string> RemovedIds(const std::vector<RetentionGroup>& groups);

}  // namespace lifeboat
