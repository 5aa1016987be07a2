#include "agent/metrics.h"

#include <fmt/format.h>

#include <functional>
#include <vector>

namespace lifeboat {

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

namespace {

std::string Num(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v)) && v < 9e15 && v > -9e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  return fmt::format("{:.3f}", v);
}

class Writer {
 public:
  explicit Writer(std::string app) : app_(std::move(app)) {}
  void Family(const char* name, const char* type, const char* help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    name_ = name;
  }
  void Sample(const char* label, const std::string& value, double v) {
    out_ += fmt::format("{}{{app=\"{}\"", name_, EscapeLabelValue(app_));
    if (label) out_ += fmt::format(",{}=\"{}\"", label, EscapeLabelValue(value));
    out_ += "} " + Num(v) + "\n";
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string app_, out_;
  const char* name_ = "";
};

}  // namespace

std::string BuildMetrics(const AppConfig& config, const AgentState& state, int64_t now, bool paused) {
  Writer w(config.app_name);
  const JobState never;
  auto backup = [&](const ComponentConfig& c) -> const JobState& {
    auto it = state.backups.find(c.name);
    return it == state.backups.end() ? never : it->second;
  };
  const ComponentDrillState no_drill;
  auto drill = [&](const ComponentConfig& c) -> const ComponentDrillState& {
    auto it = state.drills.find(c.name);
    return it == state.drills.end() ? no_drill : it->second;
  };
  // One family over all components; `value` returns false to leave one out.
  auto family = [&](const char* name, const char* type, const char* help,
                    const std::function<bool(const ComponentConfig&, double*)>& value) {
    w.Family(name, type, help);
    for (const ComponentConfig& c : config.components) {
      double v = 0;
      if (value(c, &v)) w.Sample("component", c.name, v);
    }
  };
  auto age = [&](const ComponentConfig& c) {
    const int64_t point = RecoveryPointOf(state, c.name);
    const int64_t since = point > 0 ? point : state.created;
    return static_cast<double>(std::max<int64_t>(0, now - since));
  };

  w.Family("lifeboat_agent_up", "gauge", "1 while the agent is running and serving");
  w.Sample(nullptr, "", 1);
  w.Family("lifeboat_agent_paused", "gauge", "1 when the agent starts no jobs (--paused)");
  w.Sample(nullptr, "", paused ? 1 : 0);
  family("lifeboat_last_success_timestamp_seconds", "gauge",
         "start of the last successful backup (Unix time)", [&](const ComponentConfig& c, double* v) {
           *v = static_cast<double>(backup(c).last_success);
           return backup(c).last_success > 0;
         });
  family("lifeboat_recovery_point_age_seconds", "gauge",
         "seconds since the newest recovery point: the last successful backup, or for "
         "databases the newest transaction in the archived WAL/binlogs (since the agent's first "
         "start when none)",
         [&](const ComponentConfig& c, double* v) {
           *v = age(c);
           return true;
         });
  family("lifeboat_rpo_seconds", "gauge", "recovery point objective", [](const ComponentConfig& c, double* v) {
    *v = static_cast<double>(c.rpo_seconds);
    return c.rpo_seconds > 0;
  });
  family("lifeboat_rpo_met", "gauge", "1 when the recovery point age is within the RPO",
         [&](const ComponentConfig& c, double* v) {
           *v = RecoveryPointOf(state, c.name) > 0 &&
                        (c.rpo_seconds <= 0 || age(c) <= static_cast<double>(c.rpo_seconds))
                    ? 1
                    : 0;
           return true;
         });
  family("lifeboat_rto_seconds", "gauge", "recovery time objective", [](const ComponentConfig& c, double* v) {
    *v = static_cast<double>(c.rto_seconds);
    return c.rto_seconds > 0;
  });
  family("lifeboat_last_backup_duration_seconds", "gauge",
         "wall time of the last successful backup (backup and copies)", [&](const ComponentConfig& c, double* v) {
           *v = backup(c).last_duration_seconds;
           return backup(c).last_success > 0;
         });
  family("lifeboat_last_backup_added_bytes", "gauge", "new data the last successful backup added",
         [&](const ComponentConfig& c, double* v) {
           *v = static_cast<double>(backup(c).last_added_bytes);
           return backup(c).last_success > 0;
         });
  family("lifeboat_backup_failures_total", "counter", "failed backup runs",
         [&](const ComponentConfig& c, double* v) {
           *v = static_cast<double>(backup(c).failures_total);
           return true;
         });
  family("lifeboat_last_drill_success", "gauge", "1 when the component passed its last restore drill",
         [&](const ComponentConfig& c, double* v) {
           *v = drill(c).passed ? 1 : 0;
           return drill(c).time > 0;
         });
  family("lifeboat_last_drill_timestamp_seconds", "gauge", "when the last restore drill ran (Unix time)",
         [&](const ComponentConfig& c, double* v) {
           *v = static_cast<double>(drill(c).time);
           return drill(c).time > 0;
         });
  family("lifeboat_drill_rto_measured_seconds", "gauge",
         "recovery time measured by the last restore drill", [&](const ComponentConfig& c, double* v) {
           *v = drill(c).seconds;
           return drill(c).time > 0 && drill(c).restored;
         });
  w.Family("lifeboat_last_prune_timestamp_seconds", "gauge",
           "last successful retention run (forget + prune) in the repository (Unix time)");
  for (const auto& [repo, s] : state.prunes) {
    if (s.last_success > 0 && config.FindRepository(repo)) {
      w.Sample("repository", repo, static_cast<double>(s.last_success));
    }
  }
  w.Family("lifeboat_repository_size_bytes", "gauge",
           "bytes the repository occupies (keys, packs, index, snapshots, WAL and binlogs), "
           "as measured by the last prune");
  for (const auto& [repo, size] : state.sizes) {
    if (size.time > 0 && config.FindRepository(repo)) {
      w.Sample("repository", repo, static_cast<double>(size.bytes));
    }
  }
  return w.Take();
}

}  // namespace lifeboat
