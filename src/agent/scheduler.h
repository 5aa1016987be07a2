// What the agent runs and when, as pure functions of the configuration, the
// plan, the persisted state and the time (Unix seconds, injected: tests use a
// fake clock).
//
// Jobs:
//  * backup of a component (`lifeboat run COMPONENT`: backup into the first
//    repository + copy to the others) every plan backup_interval (files &
//    co.: rpo/2; postgres: the base-backup period, WAL goes through
//    archive_command, not the agent), or at the times of its pinned
//    schedule;
//  * prune of a repository (`forget` per component with a retention, then
//    `prune`) once a day, when any retention applies to it;
//  * the drill (`lifeboat drill`) every [drill] every.
// A job that never succeeded is due at once (a fresh state directory backs
// every component up once at start: that proves the pipeline end to end and
// costs one deduplicated snapshot). Otherwise it is due one period after its
// last success (or at the first pinned time after it). Catch-up: a job
// overdue by many periods is due once, not once per missed period, because
// only the last success counts. A failing job is retried after 1 min,
// doubling per consecutive failure, capped at its period.
//
// Order: jobs run one at a time (never two conflicting ones: the simplest
// correct choice, as every job writes to the repositories), most overdue
// first relative to its RPO (backups) or its period (others); ties: backups
// before the drill before prunes, then by name.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/state.h"
#include "appconfig/app_config.h"
#include "appconfig/plan.h"

namespace lifeboat {

inline constexpr int64_t kPruneIntervalSeconds = 24 * 3600;
inline constexpr int64_t kFirstRetrySeconds = 60;

enum class JobKind { kBackup, kDrill, kPrune };
std::string_view JobKindName(JobKind kind);  // "backup", "drill", "prune"

struct Job {
  JobKind kind = JobKind::kBackup;
  std::string target;      // component (backup), repository (prune), "" (drill)
  int64_t due = 0;         // Unix seconds; <= now: due
  int64_t period = 0;      // nominal seconds between runs (pinned: the longest gap)
  int64_t scale = 0;       // what "overdue" is measured against: the RPO, else the period
  std::string Name() const;  // "backup uploads", "prune onsite", "drill"
};

// Delay before retrying after `consecutive_failures` (>= 1) failures.
int64_t RetryDelaySeconds(int consecutive_failures, int64_t period);

// When a job with this history is next due. `pinned` replaces the period
// when not null.
int64_t NextDue(const JobState& state, int64_t period, const PinnedSchedule* pinned);

// Every job the configuration implies, with its due time.
std::vector<Job> AllJobs(const AppConfig& config, const Plan& plan, const AgentState& state);

// The jobs due at `now`, in the order they should run.
std::vector<Job> DueJobs(const std::vector<Job>& jobs, int64_t now);

// The earliest due time (INT64_MAX when there are no jobs).
int64_t NextWake(const std::vector<Job>& jobs);

// How often the agent asks `status` for the recovery point of databases
// that ship their log (postgres WAL, mariadb binlogs) between base backups:
// a quarter of the smallest such RPO, between 1 and 15 minutes; 0 when the
// application has no such component (backups alone set the point).
int64_t RecoveryPointProbeInterval(const AppConfig& config);

// Repositories that get a prune job: those with their own retention or
// holding a component with a declared retention.
std::vector<std::string> PrunedRepositories(const AppConfig& config);

// `forget` arguments for one component in one repository (the repository's
// retention overrides the component's), without --prune; empty when no
// retention applies (keep everything).
std::vector<std::string> ForgetArgs(const AppConfig& config, const ComponentConfig& component,
                                    const RepositoryConfig& repo);

}  // namespace lifeboat
