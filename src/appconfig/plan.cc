// The plan derived from lifeboat.toml (see plan.h).
#include "appconfig/plan.h"

#include <algorithm>

#include "policy/duration.h"

namespace lifeboat {
namespace {

// Quotes a word for /bin/sh unless it is plainly safe.
std::string ShellQuote(const std::string& word) {
  const bool safe = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("/._-:=@,+%").find(c) != std::string_view::npos;
  });
  if (safe) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// postgresql.conf string literal.
std::string ConfQuote(const std::string& value) {
  std::string out = "'";
  for (char c : value) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string DescribeRetention(const RetentionSpec& spec) {
  if (!spec.declared || spec.policy.Empty()) return "keep everything (no retention declared)";
  return spec.policy.Describe();
}

// The period of base backups / dumps for a database: daily unless the
// retention keeps nothing finer than weekly snapshots.
int64_t BaseBackupPeriod(const RetentionSpec& spec) {
  const RetentionPolicy& p = spec.policy;
  const bool finer_than_weekly = p.last != 0 || p.hourly != 0 || p.daily != 0;
  const bool weekly_or_coarser = p.weekly != 0 || p.monthly != 0 || p.yearly != 0;
  if (spec.declared && !finer_than_weekly && weekly_or_coarser) return 7 * 86400;
  return 86400;
}

ComponentPlan PlanComponent(const AppConfig& config, const ComponentConfig& c) {
  ComponentPlan p;
  p.name = c.name;
  p.kind = c.kind;
  p.rpo_seconds = c.rpo_seconds;
  p.rto_seconds = c.rto_seconds;
  p.retention = DescribeRetention(c.retention);
  p.pitr_window_seconds = c.retention.pitr_window_seconds;
  if (c.schedule) p.pinned_schedule = c.schedule->text;
  const int64_t half = c.rpo_seconds / 2;

  if (c.kind == "postgres") {
    p.method = "wal-archiving";
    p.log_interval_seconds = std::max<int64_t>(half, 1);
    p.worst_case_loss_seconds = p.log_interval_seconds;
    p.backup_interval_seconds = c.schedule ? 0 : BaseBackupPeriod(c.retention);
    const RepositoryConfig* first =
        c.repositories.empty() ? nullptr : config.FindRepository(c.repositories.front());
    p.postgresql_conf.push_back("archive_mode = on");
    if (first) {
      p.postgresql_conf.push_back("archive_command = " + ConfQuote(ArchivePushCommand(*first)));
    }
    p.postgresql_conf.push_back("archive_timeout = " + std::to_string(p.log_interval_seconds));
    p.postgresql_conf.push_back("wal_level = replica");
    if (p.log_interval_seconds < 60) {
      p.warnings.push_back(
          "archive_timeout under 1 minute: PostgreSQL archives a full 16 MiB WAL "
          "segment each time, even when idle");
    }
    if (c.retention.pitr_window_seconds == 0) {
      p.warnings.push_back(
          "no pitr_window: WAL is kept only as long as the base backups it "
          "follows");
    }
  } else if (c.kind == "mariadb") {
    p.method = "binlog-shipping";
    p.log_interval_seconds = std::max(half, kMinBackupIntervalSeconds);
    p.worst_case_loss_seconds = p.log_interval_seconds;
    p.backup_interval_seconds = c.schedule ? 0 : 86400;
    if (p.log_interval_seconds > half) {
      p.warnings.push_back("rpo " + FormatDurationSeconds(c.rpo_seconds) +
                           " leaves no margin: binary logs are shipped at most once a minute");
    }
  } else {
    p.method = "snapshots";
    if (c.schedule) {
      p.worst_case_loss_seconds = c.schedule->MaxGapSeconds();
    } else {
      p.backup_interval_seconds = std::max(half, kMinBackupIntervalSeconds);
      p.worst_case_loss_seconds = p.backup_interval_seconds;
      if (p.backup_interval_seconds > half) {
        p.warnings.push_back("rpo " + FormatDurationSeconds(c.rpo_seconds) +
                             " leaves no margin: backups run at most once a minute");
      }
    }
  }

  if (!c.retention.declared || c.retention.policy.Empty()) {
    p.warnings.push_back("no retention: every snapshot is kept forever");
  }
  if (c.verify.empty()) {
    p.warnings.push_back("no verify checks: a drill can only show that the restore ran");
  }

  std::vector<CopyHolder> holders;
  for (size_t i = 0; i < c.repositories.size(); ++i) {
    const RepositoryConfig* r = config.FindRepository(c.repositories[i]);
    if (!r) continue;  // the parser refuses unknown names
    RepositoryCopyPlan copy;
    copy.repository = r->name;
    copy.url = r->url;
    copy.role = i == 0 ? "backup" : "copy";
    if (r->retention && r->retention->declared) {
      copy.retention = DescribeRetention(*r->retention);
      copy.retention_from_repository = true;
    } else {
      copy.retention = p.retention;
    }
    p.repositories.push_back(std::move(copy));
    holders.push_back({r->name, r->media, r->site});
  }
  p.rule = EvaluateRule321(holders);
  return p;
}

nlohmann::json Seconds(int64_t seconds) {
  return {{"seconds", seconds}, {"text", FormatDurationSeconds(seconds)}};
}

}  // namespace

std::string ArchivePushCommand(const RepositoryConfig& repo) {
  std::string cmd = "lifeboat --repo " + ShellQuote(repo.url);
  if (!repo.password_file.empty()) {
    cmd += " --password-file " + ShellQuote(repo.password_file);
  } else {
    cmd += " --password-command " + ShellQuote(repo.password_command);
  }
  for (const auto& [key, value] : repo.options) cmd += " -o " + ShellQuote(key + "=" + value);
  return cmd + " postgres archive-push %p";
}

Plan MakePlan(const AppConfig& config) {
  Plan plan;
  plan.app_name = config.app_name;
  plan.config_path = config.path;
  int position = 0;
  for (const ComponentConfig* c : config.InRestoreOrder()) {
    plan.components.push_back(PlanComponent(config, *c));
    plan.components.back().restore_order = ++position;
  }
  plan.meets_321 = !plan.components.empty();
  for (const ComponentPlan& c : plan.components) plan.meets_321 = plan.meets_321 && c.rule.ok();

  if (config.drill) {
    plan.drill.scheduled = true;
    plan.drill.every_seconds = config.drill->every_seconds;
    plan.drill.sandbox = config.drill->sandbox;
    for (const ComponentPlan& c : plan.components) {
      const auto& names = config.drill->components;
      if (std::find(names.begin(), names.end(), c.name) != names.end()) {
        plan.drill.components.push_back(c.name);
      }
    }
    for (const ComponentPlan& c : plan.components) {
      if (std::find(plan.drill.components.begin(), plan.drill.components.end(), c.name) ==
          plan.drill.components.end()) {
        plan.warnings.push_back("component '" + c.name +
                                "' is never drilled: its RTO is not "
                                "measured");
      }
    }
  } else {
    plan.warnings.push_back("no [drill]: restores are never tested and RTOs never measured");
  }
  plan.alerts =
      config.alerts && (!config.alerts->command.empty() || !config.alerts->webhook.empty());
  if (!plan.alerts) {
    plan.warnings.push_back(
        "no [alerts] command or webhook: failures are only visible in "
        "status and metrics");
  }
  return plan;
}

nlohmann::json PlanToJson(const Plan& plan) {
  nlohmann::json components = nlohmann::json::array();
  for (const ComponentPlan& c : plan.components) {
    nlohmann::json repos = nlohmann::json::array();
    for (const RepositoryCopyPlan& r : c.repositories) {
      repos.push_back({{"repository", r.repository},
                       {"url", r.url},
                       {"role", r.role},
                       {"retention", r.retention},
                       {"retention_from_repository", r.retention_from_repository}});
    }
    nlohmann::json j = {{"name", c.name},
                        {"kind", c.kind},
                        {"restore_order", c.restore_order},
                        {"rpo", Seconds(c.rpo_seconds)},
                        {"rto", Seconds(c.rto_seconds)},
                        {"method", c.method},
                        {"worst_case_loss", Seconds(c.worst_case_loss_seconds)},
                        {"retention", c.retention},
                        {"repositories", repos},
                        {"rule_321",
                         {{"ok", c.rule.ok()},
                          {"copies", c.rule.copies},
                          {"media", c.rule.media},
                          {"offsite", c.rule.offsite},
                          {"missing", c.rule.missing}}},
                        {"warnings", c.warnings}};
    if (c.backup_interval_seconds > 0) j["backup_interval"] = Seconds(c.backup_interval_seconds);
    if (!c.pinned_schedule.empty()) j["schedule"] = c.pinned_schedule;
    if (c.log_interval_seconds > 0) j["log_interval"] = Seconds(c.log_interval_seconds);
    if (c.pitr_window_seconds > 0) j["pitr_window"] = Seconds(c.pitr_window_seconds);
    if (!c.postgresql_conf.empty()) j["postgresql_conf"] = c.postgresql_conf;
    components.push_back(std::move(j));
  }
  nlohmann::json drill = {{"scheduled", plan.drill.scheduled}};
  if (plan.drill.scheduled) {
    drill["every"] = Seconds(plan.drill.every_seconds);
    drill["sandbox"] = plan.drill.sandbox;
    drill["components"] = plan.drill.components;
  }
  return {{"message_type", "plan"},      {"app", plan.app_name},     {"config", plan.config_path},
          {"components", components},    {"drill", drill},           {"alerts", plan.alerts},
          {"meets_321", plan.meets_321}, {"warnings", plan.warnings}};
}

}  // namespace lifeboat
