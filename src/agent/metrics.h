// The agent's /metrics page in the Prometheus text exposition format
// (version 0.0.4): HELP and TYPE lines, then one sample per line with the
// labels app, component (or repository) escaped (\\, \", \n).
//
// Per component: lifeboat_last_success_timestamp_seconds,
// lifeboat_recovery_point_age_seconds (now - last success, computed at
// scrape time: a stopped or paused agent shows a growing age),
// lifeboat_rpo_seconds, lifeboat_rpo_met (0/1), lifeboat_rto_seconds,
// lifeboat_last_backup_duration_seconds, lifeboat_last_backup_added_bytes,
// lifeboat_backup_failures_total (counter), lifeboat_last_drill_success
// (0/1), lifeboat_last_drill_timestamp_seconds,
// lifeboat_drill_rto_measured_seconds. Per repository:
// lifeboat_last_prune_timestamp_seconds. Application: lifeboat_agent_up,
// lifeboat_agent_paused. Samples of something that never happened (no
// backup yet, no drill) are left out rather than given a fake value; the
// age then counts from when the agent state was created.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/state.h"
#include "appconfig/app_config.h"

namespace lifeboat {

// "a\"b" for a"b: backslash, double quote and newline escaped.
std::string EscapeLabelValue(std::string_view value);

std::string BuildMetrics(const AppConfig& config, const AgentState& state, int64_t now, bool paused);

}  // namespace lifeboat
