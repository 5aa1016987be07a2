// Alert de-duplication: which alert conditions hold now (pure function of
// the configuration, plan, state and time) and, per (kind, component),
// whether to send: once on the transition into the bad state, again only
// after `repeat` seconds of it staying bad ([alerts] repeat, default 6h;
// 0: never repeat), and once more with "resolved": true in the JSON when it
// clears. The memory lives in the agent state (AgentState::alerts).
//
// Conditions:
//  * rpo_breach: now - last success > RPO (never backed up: counted from
//    when the agent state was created);
//  * backup_failed: the component's last backup attempt failed;
//  * drill_failed / rto_missed: the component's part of the last drill (the
//    agent runs the drill child with LIFEBOAT_ALERTS_BY_AGENT so that the
//    child does not send these itself: they are sent exactly once, here);
//  * rule_321: the plan's 3-2-1 evaluation of the component is not met.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/state.h"
#include "app/alert.h"
#include "appconfig/app_config.h"
#include "appconfig/plan.h"

namespace lifeboat {

// Set in the environment of the agent's children: SendAlert skips these
// kinds (comma-separated), the agent sends them de-duplicated.
inline constexpr const char* kAlertsByAgentEnv = "LIFEBOAT_ALERTS_BY_AGENT";
inline constexpr const char* kAlertsByAgentKinds = "backup_failed,drill_failed,rto_missed";

struct AlertCondition {
  AlertKind kind = AlertKind::kRpoBreach;
  std::string component;
  bool bad = false;
  std::string message;  // describes the bad state (empty when good)
  nlohmann::json details = nlohmann::json::object();
};

std::vector<AlertCondition> EvaluateAlertConditions(const AppConfig& config, const Plan& plan,
                                                    const AgentState& state, int64_t now);

enum class AlertAction { kNone, kFire, kRepeat, kResolve };

AlertAction DecideAlert(const AlertMemory& memory, bool bad, int64_t now, int64_t repeat_seconds);
// The memory after `action` was taken at `now`.
AlertMemory ApplyAlertAction(AlertMemory memory, AlertAction action, int64_t now);

}  // namespace lifeboat
