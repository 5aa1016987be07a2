// The plan: what a lifeboat.toml implies, as a pure function of AppConfig —
// per component how often it is backed up (derived from its RPO, with
// margin), what is kept, which repositories receive which copies; the drill
// schedule; and the 3-2-1 evaluation of the declared repositories.
//
// Derivation rules:
//  * files, sqlite, redis, git, command: a snapshot every rpo/2 (never more
//    often than once a minute), so that a backup that runs late or takes a
//    while still lands within the RPO. A pinned schedule replaces the
//    interval (the parser already refused one whose gaps exceed the RPO).
//  * postgres: continuous WAL archiving (archive_mode = on, archive_command
//    = lifeboat ... postgres archive-push %p into the first repository,
//    archive_timeout = rpo/2, at least 1s) plus base backups: daily, or
//    weekly when the retention keeps nothing finer than weeks; a pinned
//    schedule replaces that period.
//  * mariadb: binary-log shipping every rpo/2 (at least 1 minute) plus daily
//    dumps (or per the pinned schedule).
//  * Every backup goes to the component's first repository; `lifeboat copy`
//    brings it to each other one right after.
//  * 3-2-1 per component over its repositories (rule_321.h: the live data is
//    copy 1, on disk, on site).
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "appconfig/app_config.h"
#include "appconfig/rule_321.h"

namespace lifeboat {

inline constexpr int64_t kMinBackupIntervalSeconds = 60;

struct RepositoryCopyPlan {
  std::string repository;  // name
  std::string url;
  std::string role;                        // "backup" (the first) or "copy"
  std::string retention;                   // RetentionPolicy::Describe(), or "keep everything"
  bool retention_from_repository = false;  // the repository's own retention applies
};

struct ComponentPlan {
  std::string name;
  std::string kind;
  int restore_order = 0;  // position in the restore sequence, 1-based
  int64_t rpo_seconds = 0, rto_seconds = 0;
  // "snapshots", "wal-archiving" (postgres) or "binlog-shipping" (mariadb).
  std::string method;
  // Snapshot kinds: time between snapshots. Databases: between base
  // backups / dumps. 0 when a pinned schedule is used.
  int64_t backup_interval_seconds = 0;
  std::string pinned_schedule;  // as written, or empty
  // Databases: WAL archive_timeout / binlog shipping period; else 0.
  int64_t log_interval_seconds = 0;
  // The most data lost if the server dies just before the next point.
  int64_t worst_case_loss_seconds = 0;
  std::vector<std::string> postgresql_conf;  // postgres: lines to set
  std::string retention;                     // RetentionPolicy::Describe() or "keep everything"
  int64_t pitr_window_seconds = 0;
  std::vector<RepositoryCopyPlan> repositories;
  Rule321Result rule;
  std::vector<std::string> warnings;
};

struct DrillPlan {
  bool scheduled = false;
  int64_t every_seconds = 0;
  std::string sandbox;
  std::vector<std::string> components;  // in restore order
};

struct Plan {
  std::string app_name;
  std::string config_path;
  std::vector<ComponentPlan> components;  // in restore order
  DrillPlan drill;
  bool alerts = false;  // an alert command or webhook is configured
  bool meets_321 = false;
  std::vector<std::string> warnings;  // app-wide
};

Plan MakePlan(const AppConfig& config);

// The plan as one JSON object (durations in seconds and as text).
nlohmann::json PlanToJson(const Plan& plan);

// The command PostgreSQL runs to archive a WAL segment into `repo` (quoted
// for /bin/sh; single quotes doubled for postgresql.conf by the caller).
std::string ArchivePushCommand(const RepositoryConfig& repo);

}  // namespace lifeboat
