#include "agent/scheduler.h"

#include <algorithm>
#include <climits>

#include "app/component_kind.h"
#include "policy/duration.h"

namespace lifeboat {

std::string_view JobKindName(JobKind kind) {
  switch (kind) {
    case JobKind::kBackup: return "backup";
    case JobKind::kDrill: return "drill";
    case JobKind::kPrune: return "prune";
  }
  return "unknown";
}

std::string Job::Name() const {
  std::string n(JobKindName(kind));
  return target.empty() ? n : n + " " + target;
}

int64_t RetryDelaySeconds(int consecutive_failures, int64_t period) {
  const int64_t cap = std::max(period, kFirstRetrySeconds);
  int64_t delay = kFirstRetrySeconds;
  for (int i = 1; i < consecutive_failures && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

int64_t NextDue(const JobState& s, int64_t period, const PinnedSchedule* pinned) {
  int64_t due = 0;  // never succeeded: at once
  if (s.last_success > 0) {
    due = pinned && !pinned->minutes_of_week.empty() ? pinned->NextRunAfter(s.last_success)
                                                     : s.last_success + std::max<int64_t>(period, 1);
  }
  if (s.consecutive_failures > 0) {
    const int64_t p = pinned ? pinned->MaxGapSeconds() : period;
    due = std::max(due, s.last_failure + RetryDelaySeconds(s.consecutive_failures, p));
  }
  return due;
}

std::vector<std::string> PrunedRepositories(const AppConfig& config) {
  std::vector<std::string> out;
  for (const RepositoryConfig& r : config.repositories) {
    bool any = r.retention && r.retention->declared;
    for (const ComponentConfig& c : config.components) {
      if (!c.retention.declared) continue;
      if (std::find(c.repositories.begin(), c.repositories.end(), r.name) != c.repositories.end()) {
        any = true;
      }
    }
    if (any) out.push_back(r.name);
  }
  return out;
}

std::vector<std::string> ForgetArgs(const AppConfig& config, const ComponentConfig& component,
                                    const RepositoryConfig& repo) {
  const RetentionPolicy* p = nullptr;
  if (repo.retention && repo.retention->declared) p = &repo.retention->policy;
  else if (component.retention.declared) p = &component.retention.policy;
  if (!p || p->Empty()) return {};
  std::vector<std::string> args = {"forget", "--tag", ComponentTagFilter(config, component),
                                   "--group-by", "tags"};
  const std::pair<const char*, int> counts[] = {{"--keep-last", p->last},     {"--keep-hourly", p->hourly},
                                                {"--keep-daily", p->daily},   {"--keep-weekly", p->weekly},
                                                {"--keep-monthly", p->monthly}, {"--keep-yearly", p->yearly}};
  for (const auto& [flag, n] : counts) {
    if (n != 0) args.insert(args.end(), {flag, std::to_string(n)});
  }
  if (p->within_ns > 0) args.insert(args.end(), {"--keep-within", FormatRetentionDuration(p->within_ns)});
  return args;
}

std::vector<Job> AllJobs(const AppConfig& config, const Plan& plan, const AgentState& state) {
  std::vector<Job> jobs;
  static const JobState kNever;
  auto get = [](const std::map<std::string, JobState>& m, const std::string& k) -> const JobState& {
    auto it = m.find(k);
    return it == m.end() ? kNever : it->second;
  };
  for (const ComponentPlan& cp : plan.components) {
    const ComponentConfig* c = config.FindComponent(cp.name);
    if (!c) continue;
    const PinnedSchedule* pinned = c->schedule ? &*c->schedule : nullptr;
    Job j;
    j.kind = JobKind::kBackup;
    j.target = cp.name;
    j.period = pinned ? pinned->MaxGapSeconds() : std::max(cp.backup_interval_seconds, kMinBackupIntervalSeconds);
    j.scale = cp.rpo_seconds > 0 ? cp.rpo_seconds : j.period;
    j.due = NextDue(get(state.backups, cp.name), j.period, pinned);
    jobs.push_back(j);
  }
  if (plan.drill.scheduled && plan.drill.every_seconds > 0) {
    Job j;
    j.kind = JobKind::kDrill;
    j.period = j.scale = plan.drill.every_seconds;
    // A drill of nothing fails: the first drill is due once every drilled
    // component has been backed up (then at once: recovery is proven early).
    int64_t first_backup = 0;
    for (const auto& [name, s] : state.backups) {
      if (s.last_success > 0 && (first_backup == 0 || s.last_success < first_backup)) {
        first_backup = s.last_success;
      }
    }
    JobState d = state.drill;
    j.due = NextDue(d, j.period, nullptr);
    if (d.last_success == 0 && d.consecutive_failures == 0) {
      j.due = first_backup > 0 ? first_backup : INT64_MAX;
    }
    // Run after every component's first backup at least.
    bool all_backed = true;
    for (const std::string& name : plan.drill.components) {
      if (get(state.backups, name).last_success == 0) all_backed = false;
    }
    if (!all_backed) j.due = INT64_MAX;
    if (j.due != INT64_MAX) jobs.push_back(j);
  }
  for (const std::string& repo : PrunedRepositories(config)) {
    Job j;
    j.kind = JobKind::kPrune;
    j.target = repo;
    j.period = j.scale = kPruneIntervalSeconds;
    const JobState& s = get(state.prunes, repo);
    j.due = NextDue(s, j.period, nullptr);
    // Never pruned: a day after the agent first ran, not at once.
    if (s.last_success == 0 && s.consecutive_failures == 0) j.due = state.created + kPruneIntervalSeconds;
    jobs.push_back(j);
  }
  return jobs;
}

std::vector<Job> DueJobs(const std::vector<Job>& jobs, int64_t now) {
  std::vector<Job> due;
  for (const Job& j : jobs) {
    if (j.due <= now) due.push_back(j);
  }
  auto overdue = [now](const Job& j) {
    return static_cast<double>(now - j.due) / static_cast<double>(std::max<int64_t>(j.scale, 1));
  };
  std::stable_sort(due.begin(), due.end(), [&overdue](const Job& a, const Job& b) {
    const double oa = overdue(a), ob = overdue(b);
    if (oa != ob) return oa > ob;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.target < b.target;
  });
  return due;
}

int64_t NextWake(const std::vector<Job>& jobs) {
  int64_t next = INT64_MAX;
  for (const Job& j : jobs) next = std::min(next, j.due);
  return next;
}

int64_t RecoveryPointProbeInterval(const AppConfig& config) {
  int64_t interval = 0;
  for (const ComponentConfig& c : config.components) {
    if ((c.kind != "postgres" && c.kind != "mariadb") || c.rpo_seconds <= 0) continue;
    const int64_t one = std::clamp<int64_t>(c.rpo_seconds / 4, 60, 900);
    interval = interval == 0 ? one : std::min(interval, one);
  }
  return interval;
}

}  // namespace lifeboat
