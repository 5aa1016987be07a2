// The result of a restore drill as a value: per component what was restored
// from where, the checks, the measured wall time against the RTO; built by
// `lifeboat drill`, written as report.json and report.md, stored in the
// repository as a snapshot (source "drill", tags app=APP and drill) and read
// back by `status` and `runbook`.
//
// The JSON form is the stored format (docs/FORMAT.md, "Drill reports"); the
// snapshot's source_info carries a flat summary (DrillSourceInfo) so that
// readers need not load the tree.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/component_kind.h"
#include "base/result.h"

namespace lifeboat {

inline constexpr int kDrillReportVersion = 1;
inline constexpr const char* kDrillSource = "drill";
inline constexpr const char* kDrillTag = "drill";

struct ComponentDrill {
  std::string name;
  std::string kind;
  std::string repository;  // configured name of the repository restored from
  std::string snapshot_id;  // hex; empty when none was found
  int64_t snapshot_time_ns = 0;
  double restore_seconds = 0;  // restore (and server start)
  double verify_seconds = 0;
  double seconds = 0;  // restore + start + verify: the measured recovery time
  int64_t rto_seconds = 0;  // 0: none declared
  bool restored = false;
  std::vector<CheckResult> checks;
  std::string error;  // restore/start/stop problem; empty when none

  bool checks_ok() const;
  bool rto_met() const { return RtoMet(seconds, rto_seconds); }
  // Restored, every check passed, within the RTO.
  bool ok() const { return restored && error.empty() && checks_ok() && rto_met(); }
  static bool RtoMet(double seconds, int64_t rto_seconds) {
    return rto_seconds <= 0 || seconds <= static_cast<double>(rto_seconds);
  }
};

struct DrillReport {
  std::string app;
  std::string host;
  std::string sandbox;  // the run's directory
  int64_t started_ns = 0, finished_ns = 0;
  double total_seconds = 0;
  std::vector<ComponentDrill> components;  // in restore order

  bool ok() const;
  // One sentence per failure: "uploads: check 'test -d ...' failed: exit
  // status 1", "db: took 12m03s, RTO 10m", ...; empty when ok().
  std::vector<std::string> Failures() const;
  // Whether any component failed only by missing its RTO (restored, checks ok).
  bool AnyRtoMissed() const;
};

nlohmann::json DrillReportToJson(const DrillReport& report);
// kCorrupt when the JSON is not a drill report of a known version.
Result<DrillReport> DrillReportFromJson(const nlohmann::json& json);
std::string DrillReportMarkdown(const DrillReport& report);

// Flat summary for the snapshot's source_info: "result" (passed|failed),
// "total_seconds", "components" (comma-separated names) and per component
// "NAME.result", "NAME.seconds", "NAME.rto_seconds", "NAME.snapshot".
std::map<std::string, std::string> DrillSourceInfo(const DrillReport& report);

// What a reader needs from the last drill of one component, from source_info.
struct LastDrill {
  bool found = false;   // the component was in the drill
  bool passed = false;
  double seconds = 0;
  int64_t rto_seconds = 0;
};
LastDrill LastDrillOf(const std::map<std::string, std::string>& source_info,
                      const std::string& component);

}  // namespace lifeboat
