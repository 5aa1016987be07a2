// The agent's persisted state (STATE_DIR/state.json): per component the last
// backup attempt, success and failure (with the consecutive failures, the
// last duration and bytes added), per repository the last prune and the
// size it measured, the last
// drill (with each component's result and measured time), and which alerts
// are active (alert de-duplication). All times are Unix seconds (UTC).
//
// Written atomically (temp file 0600 + fsync + rename + fsync of the
// directory); read defensively: unknown keys are ignored, wrong types and
// negative times fall back to "never", a file that is not JSON at all is
// reported (the caller moves it aside and starts afresh).
//
// Thread-safety: value types and free functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"

namespace lifeboat {

inline constexpr int kAgentStateVersion = 1;
inline constexpr const char* kAgentStateFile = "state.json";

// One recurring job (a component's backup, a repository's prune, the drill).
struct JobState {
  int64_t last_attempt = 0;  // start of the last run; 0: never
  int64_t last_success = 0;  // start of the last successful run
  int64_t last_failure = 0;  // end of the last failed run
  int consecutive_failures = 0;
  int64_t failures_total = 0;
  double last_duration_seconds = 0;
  uint64_t last_added_bytes = 0;
  std::string last_error;
};

// One component's result in the last drill that included it.
struct ComponentDrillState {
  int64_t time = 0;  // when that drill ran; 0: never drilled
  bool passed = false;
  bool restored = false;  // restored and checks passed (false: a real failure)
  double seconds = 0;     // measured recovery time
  std::string error;
};

// What a repository occupied, as measured by the last prune there.
struct RepositorySize {
  int64_t time = 0;  // when it was measured; 0: never
  uint64_t bytes = 0;
};

// One (kind, component) alert.
struct AlertMemory {
  bool active = false;   // the condition is bad and an alert was sent
  int64_t since = 0;     // when it became bad
  int64_t last_sent = 0;
};

struct AgentState {
  int64_t created = 0;  // when this state was first written (grace for "never backed up")
  // Databases whose log (WAL, binlogs) is shipped between base backups: the
  // recovery point `status` read out of the archive (Unix seconds), by
  // component, and when the agent last asked (the recovery-point probe).
  std::map<std::string, int64_t> recovery_points;
  int64_t last_probe = 0;
  std::map<std::string, JobState> backups;          // by component
  std::map<std::string, JobState> prunes;           // by repository
  JobState drill;
  std::map<std::string, ComponentDrillState> drills;  // by component
  std::map<std::string, AlertMemory> alerts;          // by AlertKey()
  std::map<std::string, RepositorySize> sizes;        // by repository
};

// A component's newest recoverable point (Unix seconds, 0: none): its last
// successful backup, or the newer point the probe found in its archived
// WAL or binlogs.
int64_t RecoveryPointOf(const AgentState& state, const std::string& component);

// "rpo_breach/uploads"; component may be empty (the application).
std::string AlertKey(std::string_view kind, std::string_view component);

nlohmann::json AgentStateToJson(const AgentState& state);
// Never fails on a JSON object (defaults for what is missing or wrong);
// kCorrupt when `json` is not an object of a known version.
Result<AgentState> AgentStateFromJson(const nlohmann::json& json);

// STATE_DIR/state.json; a missing file is an empty state with created = now.
// kCorrupt when the file is not JSON or not a state (the caller decides).
Result<AgentState> LoadAgentState(const std::string& dir, int64_t now);
Status SaveAgentState(const std::string& dir, const AgentState& state);

// Creates `dir` (and parents) with mode 0700 when missing; kIoError when it
// cannot be created or written.
Status EnsureStateDir(const std::string& dir);

// --state-dir default: /var/lib/lifeboat/agent for root, else
// $XDG_STATE_HOME/lifeboat, else ~/.local/state/lifeboat.
std::string DefaultStateDir(bool root, const char* xdg_state_home, const char* home);

}  // namespace lifeboat
