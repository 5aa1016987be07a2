#include "agent/alerting.h"

#include <fmt/format.h>

#include "policy/duration.h"

namespace lifeboat {

std::vector<AlertCondition> EvaluateAlertConditions(const AppConfig& config, const Plan& plan,
                                                    const AgentState& state, int64_t now) {
  std::vector<AlertCondition> out;
  for (const ComponentPlan& cp : plan.components) {
    const ComponentConfig* c = config.FindComponent(cp.name);
    if (!c) continue;
    auto b = state.backups.find(c->name);
    const JobState none;
    const JobState& s = b == state.backups.end() ? none : b->second;

    AlertCondition rpo{AlertKind::kRpoBreach, c->name};
    const int64_t point = RecoveryPointOf(state, c->name);
    const int64_t since = point > 0 ? point : state.created;
    if (c->rpo_seconds > 0 && since > 0 && now - since > c->rpo_seconds) {
      rpo.bad = true;
      rpo.message = point > 0
                        ? fmt::format("RPO breached for {}: newest recovery point {} ago, RPO {}",
                                      c->name, FormatDurationSeconds(now - point),
                                      FormatDurationSeconds(c->rpo_seconds))
                        : fmt::format("RPO breached for {}: no backup in {}, RPO {}", c->name,
                                      FormatDurationSeconds(now - since),
                                      FormatDurationSeconds(c->rpo_seconds));
      rpo.details = {{"age_seconds", now - since}, {"rpo_seconds", c->rpo_seconds}};
      if (s.last_success > 0) rpo.details["last_success"] = s.last_success;
      if (point > 0) rpo.details["recovery_point"] = point;
    }
    out.push_back(rpo);

    AlertCondition failed{AlertKind::kBackupFailed, c->name};
    if (s.consecutive_failures > 0) {
      failed.bad = true;
      failed.message = fmt::format("backup of {} failed: {}", c->name, s.last_error);
      failed.details = {{"consecutive_failures", s.consecutive_failures}};
    }
    out.push_back(failed);

    AlertCondition drill{AlertKind::kDrillFailed, c->name};
    AlertCondition rto{AlertKind::kRtoMissed, c->name};
    if (auto d = state.drills.find(c->name); d != state.drills.end() && d->second.time > 0) {
      const ComponentDrillState& ds = d->second;
      if (!ds.passed && !ds.restored) {
        drill.bad = true;
        drill.message = ds.error.empty() ? "restore drill of " + c->name + " failed"
                                         : "restore drill failed: " + ds.error;
        drill.details = {{"drill_time", ds.time}};
      } else if (!ds.passed) {
        rto.bad = true;
        rto.message = fmt::format("restore drill of {} took {:.1f}s, RTO {}", c->name, ds.seconds,
                                  FormatDurationSeconds(c->rto_seconds));
        rto.details = {{"seconds", ds.seconds}, {"rto_seconds", c->rto_seconds}};
      }
    }
    out.push_back(drill);
    out.push_back(rto);

    AlertCondition rule{AlertKind::kRule321, c->name};
    if (!cp.rule.ok()) {
      rule.bad = true;
      std::string why;
      for (const std::string& m : cp.rule.missing) why += (why.empty() ? "" : "; ") + m;
      rule.message = fmt::format("3-2-1 not met for {}: {}", c->name, why);
      rule.details = {{"missing", cp.rule.missing}};
    }
    out.push_back(rule);
  }
  return out;
}

AlertAction DecideAlert(const AlertMemory& m, bool bad, int64_t now, int64_t repeat_seconds) {
  if (bad && !m.active) return AlertAction::kFire;
  if (bad && repeat_seconds > 0 && now - m.last_sent >= repeat_seconds) return AlertAction::kRepeat;
  if (!bad && m.active) return AlertAction::kResolve;
  return AlertAction::kNone;
}

AlertMemory ApplyAlertAction(AlertMemory m, AlertAction action, int64_t now) {
  switch (action) {
    case AlertAction::kNone: break;
    case AlertAction::kFire:
      m.active = true;
      m.since = now;
      m.last_sent = now;
      break;
    case AlertAction::kRepeat: m.last_sent = now; break;
    case AlertAction::kResolve:
      m.active = false;
      m.last_sent = now;
      break;
  }
  return m;
}

}  // namespace lifeboat
