// Suspicious change rate (issue 6): after each backup `run` compares what
// the new snapshot changed with the component's recent history. Mass
// encryption by ransomware, a runaway job rewriting every upload or a
// wrong mount all show up as a backup that changes or adds far more than
// usual; this decides when that is worth an alert (change_rate).
//
// Rule: with at least kMinChangeHistory earlier snapshots (the newest
// kChangeHistory are used), fire when
//   files changed + new  > max(factor x median of the history, min_files), or
//   bytes added          > max(factor x median of the history, min_bytes).
// Fewer earlier snapshots: no baseline, no alert.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "appconfig/app_config.h"
#include "model/snapshot.h"

namespace lifeboat {

inline constexpr size_t kChangeHistory = 10;
inline constexpr size_t kMinChangeHistory = 3;

// What one backup changed.
struct ChangeFigures {
  uint64_t files_changed = 0;  // changed + new files
  uint64_t bytes_added = 0;    // plaintext bytes of new blobs
};

ChangeFigures FiguresOf(const SnapshotSummary& summary);

struct ChangeRateDecision {
  bool fire = false;
  size_t history = 0;  // earlier snapshots compared with
  uint64_t median_files = 0, median_bytes = 0;
  uint64_t files_threshold = 0, bytes_threshold = 0;
  // When fire: "1200 files changed or new (usual 3, threshold 100); 2.1 GiB
  // added (usual 1.0 MiB, threshold 1.0 GiB)" naming what crossed.
  std::string message;
};

// `history`: the earlier snapshots' figures, newest first (only the first
// kChangeHistory are used).
ChangeRateDecision EvaluateChangeRate(const ChangeFigures& now,
                                      const std::vector<ChangeFigures>& history,
                                      const ChangeAlertSettings& settings);

}  // namespace lifeboat
