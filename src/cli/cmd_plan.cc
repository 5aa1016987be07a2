// lifeboat plan [--config F] [--json]: what lifeboat.toml implies — per
// component the backup schedule derived from its RPO, the retention, which
// repositories get which copies, the drills, and the 3-2-1 rule over the
// declared repositories (src/appconfig/plan.h).
//
// Exit status: 0 when the file is valid and every component meets 3-2-1;
// 1 when 3-2-1 is not met (the plan is still printed); 2 when the file
// cannot be read or is invalid (only the errors are printed, one
// "file:line:column: key: message" per line on stderr; with --json one
// object on stdout).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "appconfig/app_config.h"
#include "appconfig/plan.h"
#include "cli/commands.h"
#include "policy/duration.h"

namespace lifeboat {
namespace {

constexpr int kExitConfigError = 2;

struct PlanOpts {
  std::string config;
};

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

std::string D(int64_t seconds) { return FormatDurationSeconds(seconds); }

void PrintComponent(const GlobalOptions& global, const ComponentPlan& c) {
  auto row = [&](std::string_view label, const std::string& value) {
    Say(global, fmt::format("  {:<14}{}", label, value));
  };
  Say(global,
      fmt::format("\ncomponent {} ({}), restore order {}", c.name, c.kind, c.restore_order));
  row("objectives", fmt::format("rpo {}, rto {}", D(c.rpo_seconds), D(c.rto_seconds)));
  std::string backups;
  if (c.method == "wal-archiving") {
    backups = fmt::format("continuous WAL archiving, archive_timeout {}; base backup {}",
                          D(c.log_interval_seconds),
                          c.pinned_schedule.empty() ? "every " + D(c.backup_interval_seconds)
                                                    : "at '" + c.pinned_schedule + "' (UTC)");
  } else if (c.method == "binlog-shipping") {
    backups = fmt::format("binary logs shipped every {}; dump {}", D(c.log_interval_seconds),
                          c.pinned_schedule.empty() ? "every " + D(c.backup_interval_seconds)
                                                    : "at '" + c.pinned_schedule + "' (UTC)");
  } else {
    backups = c.pinned_schedule.empty() ? "a snapshot every " + D(c.backup_interval_seconds)
                                        : "snapshots at '" + c.pinned_schedule + "' (UTC)";
  }
  row("backups", backups);
  row("worst loss", D(c.worst_case_loss_seconds) +
                        " of data if the server dies just before the "
                        "next point");
  std::string retention = c.retention;
  if (c.pitr_window_seconds > 0) {
    retention += "; point-in-time recovery over the last " + D(c.pitr_window_seconds);
  }
  row("retention", retention);
  for (size_t i = 0; i < c.repositories.size(); ++i) {
    const RepositoryCopyPlan& r = c.repositories[i];
    std::string what = r.role == "backup" ? "backup" : "copy after each backup";
    if (r.retention_from_repository) what += "; its own retention: " + r.retention;
    row(i == 0 ? "repositories" : "", fmt::format("{} ({}) {}", r.repository, what, r.url));
  }
  if (!c.postgresql_conf.empty()) {
    row("postgresql.conf", "");
    for (const std::string& line : c.postgresql_conf) Say(global, "      " + line);
  }
  row("3-2-1", c.rule.ok() ? fmt::format("OK ({} copies; media {}; off-site: {})", c.rule.copies,
                                         Join(c.rule.media, ", "), Join(c.rule.offsite, ", "))
                           : "NOT MET: " + Join(c.rule.missing, "; "));
  for (const std::string& w : c.warnings) row("warning", w);
}

int RunPlan(const GlobalOptions& global, const PlanOpts& o) {
  auto path = FindAppConfigPath(o.config, std::getenv("LIFEBOAT_CONFIG"));
  if (!path.ok()) {
    ReportError(global, path.status());
    return kExitConfigError;
  }
  std::vector<ConfigError> errors;
  auto config = LoadAppConfig(*path, &errors);
  if (!config.ok()) {
    if (errors.empty()) {  // not readable
      ReportError(global, config.status());
      return kExitConfigError;
    }
    if (global.json) {
      nlohmann::json list = nlohmann::json::array();
      for (const ConfigError& e : errors) {
        list.push_back({{"file", e.path},
                        {"line", e.line},
                        {"column", e.column},
                        {"key", e.key},
                        {"message", e.message}});
      }
      PrintJson({{"message_type", "config_error"}, {"errors", list}});
    } else {
      std::cerr << config.status().message() << "\n";
    }
    return kExitConfigError;
  }
  const Plan plan = MakePlan(*config);
  if (global.json) {
    PrintJson(PlanToJson(plan));
    return plan.meets_321 ? kExitOk : kExitFatal;
  }
  Say(global, fmt::format("app {} ({})", plan.app_name, plan.config_path));
  Say(global, Rule321Statement() + "; the live data counts as copy 1 (media '" + kLiveDataMedia +
                  "', site '" + kOnsiteSite + "')");
  for (const ComponentPlan& c : plan.components) PrintComponent(global, c);
  Say(global, "");
  if (plan.drill.scheduled) {
    Say(global,
        fmt::format("drill:   every {} into {}: {} (in restore order)", D(plan.drill.every_seconds),
                    plan.drill.sandbox, Join(plan.drill.components, ", ")));
  } else {
    Say(global, "drill:   none");
  }
  Say(global, std::string("alerts:  ") + (plan.alerts ? "configured" : "none"));
  for (const std::string& w : plan.warnings) Say(global, "warning: " + w);
  Say(global, plan.meets_321 ? "\nthe 3-2-1 rule holds for every component"
                             : "\nthe 3-2-1 rule does NOT hold for every component");
  return plan.meets_321 ? kExitOk : kExitFatal;
}

}  // namespace

void RegisterPlan(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<PlanOpts>();
  CLI::App* cmd = app.add_subcommand(
      "plan",
      "show what lifeboat.toml implies: schedules from RPOs, retention, copies, drills, 3-2-1 "
      "(exit 0 valid and 3-2-1 met, 1 not met, 2 invalid file)");
  cmd->add_option("--config", o->config,
                  "the application file (default: LIFEBOAT_CONFIG, else ./lifeboat.toml)");
  cmd->callback(
      [&global, o, selected] { *selected = [&global, o] { return RunPlan(global, *o); }; });
}

}  // namespace lifeboat
