// lifeboat forget (apply a retention policy or remove named snapshots) and
// lifeboat prune (reclaim the space of data no snapshot references).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <iostream>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/snapshot_filter.h"
#include "policy/retention.h"
#include "prune/prune.h"
#include "repo/lock.h"
#include "mariadb/binlog_retention.h"
#include "walarchive/wal_retention.h"
#include "repo/lock.h"

namespace lifeboat {
namespace {

struct PruneOpts {
  std::string max_unused = "5%";
  bool dry_run = false;
};

Result<double> ParseMaxUnused(const std::string& text) {
  if (text == "unlimited") return 1.0;
  std::string t = text;
  bool percent = !t.empty() && t.back() == '%';
  if (percent) t.pop_back();
  try {
    size_t used = 0;
    double v = std::stod(t, &used);
    if (used != t.size() || v < 0 || (percent && v > 100) || (!percent && v > 1)) throw 0;
    return percent ? v / 100 : v;
  } catch (...) {
    return InvalidArgument("--max-unused '" + text + "' is not a percentage like '5%'");
  }
}

// "2026-12-01 10:00:00 UTC" for unix seconds (retention dates are UTC).
std::string FormatUtcSeconds(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int RunPrune(const GlobalOptions& global, Repository& repo, const PruneOpts& o) {
  if (Status s = RefuseInAppendOnlyMode(global, "prune"); !s.ok()) return ReportError(global, s);
  auto fraction = ParseMaxUnused(o.max_unused);
  if (!fraction.ok()) return ReportError(global, fraction.status());
  Status loaded = repo.LoadIndex();
  if (!loaded.ok()) return ReportError(global, loaded);
  PruneOptions popt;
  popt.max_unused_fraction = *fraction;
  popt.dry_run = o.dry_run;
  PruneProgress progress;
  popt.progress = &progress;
  Result<PruneResult> result = Status(Code::kInternal, "not run");
  {
    ProgressReporter reporter(
        global, "repacking",
        [&progress] {
          ProgressSample s;
          s.files_done = progress.packs_done;
          s.files_total = progress.packs_total;
          s.bytes_done = progress.bytes_done;
          s.bytes_total = progress.bytes_total;
          s.total_known = progress.packs_total > 0;
          s.unit = "packs";
          return s;
        },
        nullptr);
    result = Prune(repo, popt, [&global](std::string_view line) {
      if (global.verbose > 0) Say(global, std::string(line));
    });
  }
  if (!result.ok()) return ReportError(global, result.status());
  const PrunePlan& p = result->plan;

  // WAL retention: the archived WAL that no retained base backup needs.
  // After the packs, under the same exclusive lock (Prune released it: take
  // it again so that no backup postgres starts in between).
  auto wal = [&]() -> Result<WalRetentionPlan> {
    auto lock = RepoLock::Acquire(repo, /*exclusive=*/true);
    if (!lock.ok()) return lock.status();
    auto snapshots = repo.ListSnapshots();
    if (!snapshots.ok()) return snapshots.status();
    auto plan = PlanWalRetention(repo, *snapshots);
    if (!plan.ok() || o.dry_run) return plan;
    LB_RETURN_IF_ERROR(ApplyWalRetention(repo, *plan, [&global](std::string_view line) {
      if (global.verbose > 0) Say(global, std::string(line));
    }));
    return plan;
  }();
  if (!wal.ok()) return ReportError(global, wal.status().WithContext("WAL retention"));
  // Binlog retention (MariaDB): the same, for the binlogs retained dumps need.
  auto binlogs = [&]() -> Result<BinlogRetentionPlan> {
    auto lock = RepoLock::Acquire(repo, /*exclusive=*/true);
    if (!lock.ok()) return lock.status();
    auto snapshots = repo.ListSnapshots();
    if (!snapshots.ok()) return snapshots.status();
    auto plan = PlanBinlogRetention(repo, *snapshots);
    if (!plan.ok() || o.dry_run) return plan;
    LB_RETURN_IF_ERROR(ApplyBinlogRetention(repo, *plan, [&global](std::string_view line) {
      if (global.verbose > 0) Say(global, std::string(line));
    }));
    return plan;
  }();
  if (!binlogs.ok()) return ReportError(global, binlogs.status().WithContext("binlog retention"));
  uint64_t binlog_expire = 0, binlog_expire_bytes = 0, binlog_files = 0;
  std::vector<uint64_t> binlog_unprotected;  // servers without a retained dump
  for (const BinlogRetentionServer& s : binlogs->servers) {
    binlog_expire += s.expire.size();
    binlog_expire_bytes += s.bytes_expire;
    binlog_files += s.files_total;
    if (s.dumps == 0) binlog_unprotected.push_back(s.server_id);
  }
  uint64_t wal_expire = 0, wal_expire_bytes = 0, wal_files = 0;
  std::vector<uint64_t> wal_unprotected;  // clusters without a base backup
  for (const WalRetentionCluster& c : wal->clusters) {
    wal_expire += c.expire.size();
    wal_expire_bytes += c.bytes_expire;
    wal_files += c.files_total;
    if (c.base_backups == 0) wal_unprotected.push_back(c.system_id);
  }
  // What the repository occupies now (agent: lifeboat_repository_size_bytes).
  // A failed listing is not a failed prune: the space is freed either way.
  auto stored = StoredBytes(repo.backend());
  if (!stored.ok() && !global.quiet) {
    std::cerr << "lifeboat: unable to measure the repository's size: " << stored.status().ToString()
              << "\n";
  }
  if (global.json) {
    PrintJson({{"message_type", "prune_summary"},
               {"repository_bytes",
                stored.ok() ? nlohmann::json(*stored) : nlohmann::json(nullptr)},
               {"dry_run", o.dry_run},
               {"packs_total", p.packs_total},
               {"packs_delete", p.packs_delete},
               {"packs_repack", p.packs_repack},
               {"packs_unreferenced", p.packs_unreferenced},
               {"bytes_used", p.bytes_used},
               {"bytes_unused", p.bytes_unused},
               {"bytes_to_free", p.bytes_to_free},
               {"bytes_freed", result->bytes_freed},
               {"packs_deleted", result->packs_deleted},
               {"packs_written", result->packs_written},
               {"packs_locked", p.packs_locked},
               {"bytes_locked", p.bytes_locked},
               {"index_files_locked", p.index_files_locked},
               {"locked_until", p.locked_until > 0
                                    ? nlohmann::json(FormatUtcSeconds(p.locked_until))
                                    : nlohmann::json(nullptr)},
               {"wal_files", wal_files},
               {"wal_files_expire", wal_expire},
               {"wal_bytes_expire", wal_expire_bytes},
               {"wal_files_deleted", wal->files_deleted},
               {"wal_files_locked", wal->files_locked},
               {"wal_clusters_without_base_backup", wal_unprotected},
               {"binlog_files", binlog_files},
               {"binlog_files_expire", binlog_expire},
               {"binlog_bytes_expire", binlog_expire_bytes},
               {"binlog_files_deleted", binlogs->files_deleted},
               {"binlog_files_locked", binlogs->files_locked},
               {"binlog_servers_without_dump", binlog_unprotected}});
    return kExitOk;
  }
  Say(global, fmt::format("used:    {} blobs, {}", p.blobs_used, FormatBytes(p.bytes_used)));
  Say(global, fmt::format("unused:  {} blobs, {}", p.blobs_unused, FormatBytes(p.bytes_unused)));
  Say(global, fmt::format("plan:    delete {} packs, repack {} packs ({} of used data), "
                          "{} unreferenced packs",
                          p.packs_delete, p.packs_repack, FormatBytes(p.bytes_repack),
                          p.packs_unreferenced));
  if (p.packs_locked > 0) {
    Say(global, fmt::format("{} packs ({}) are under S3 Object Lock until {} at the latest and "
                            "were kept; run prune again after that date to reclaim them",
                            p.packs_locked, FormatBytes(p.bytes_locked),
                            FormatUtcSeconds(p.locked_until)));
  }
  // Locked index files matter only when they held something back.
  if (p.index_files_locked > 0 && (p.packs_locked > 0 || !p.nothing_to_do())) {
    Say(global, fmt::format("{} old index files are under S3 Object Lock and were kept, with "
                            "every pack they list",
                            p.index_files_locked));
  }
  if (wal_files > 0) {
    Say(global, fmt::format("WAL:     {} archived files, {} no retained base backup needs ({})",
                            wal_files, wal_expire, FormatBytes(wal_expire_bytes)));
    for (uint64_t id : wal_unprotected) {
      Say(global, fmt::format("WAL of PostgreSQL cluster {} is kept: no base backup of it is "
                              "retained",
                              id));
    }
    if (wal->files_locked > 0) {
      Say(global, fmt::format("{} WAL files are under S3 Object Lock until {} at the latest and "
                              "were kept",
                              wal->files_locked, FormatUtcSeconds(wal->locked_until)));
    }
    if (!o.dry_run && wal->files_deleted > 0) {
      Say(global, fmt::format("removed {} WAL files: freed {}", wal->files_deleted,
                              FormatBytes(wal->bytes_deleted)));
    }
  }
  if (binlog_files > 0) {
    Say(global, fmt::format("binlogs: {} archived files, {} no retained MariaDB dump needs ({})",
                            binlog_files, binlog_expire, FormatBytes(binlog_expire_bytes)));
    for (uint64_t id : binlog_unprotected) {
      Say(global, fmt::format("binlogs of MariaDB server_id {} are kept: no dump of it with a "
                              "binlog position is retained",
                              id));
    }
    if (binlogs->files_locked > 0) {
      Say(global, fmt::format("{} binlogs are under S3 Object Lock until {} at the latest and "
                              "were kept",
                              binlogs->files_locked, FormatUtcSeconds(binlogs->locked_until)));
    }
    if (!o.dry_run && binlogs->files_deleted > 0) {
      Say(global, fmt::format("removed {} binlogs: freed {}", binlogs->files_deleted,
                              FormatBytes(binlogs->bytes_deleted)));
    }
  }
  if (stored.ok()) Say(global, "repository: " + FormatBytes(*stored) + " stored");
  if (o.dry_run) {
    Say(global, fmt::format("dry run: would free about {}", FormatBytes(p.bytes_to_free)));
  } else if (p.nothing_to_do()) {
    Say(global, "nothing to prune");
  } else {
    Say(global, fmt::format("deleted {} packs, wrote {} packs: freed {}", result->packs_deleted,
                            result->packs_written, FormatBytes(result->bytes_freed)));
  }
  return kExitOk;
}

struct ForgetOpts {
  std::vector<std::string> ids;
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  std::string within;
  std::vector<std::string> keep_tags;
  std::string group_by = "host,paths";
  bool dry_run = false;
  bool prune = false;
  SnapshotFilterOptions filter;
  PruneOpts prune_opts;
};

enum class Removal { kRemoved, kLocked, kRefused };

// Removes one snapshot file unless the backend holds it under a retention
// lock (kept, said so: expected with Object Lock, not an error) or refuses
// the removal (kept, said so; the caller fails at the end). Other errors
// abort.
Result<Removal> RemoveUnlessLocked(const GlobalOptions& global, Repository& repo, const Id& id,
                                   nlohmann::json* kept) {
  const ObjectName name{ObjectType::kSnapshot, id.Hex()};
  auto keep = [&](Removal why, const std::string& message) {
    if (why == Removal::kRefused) {
      ReportItem(global, "error", "error", "snapshot " + id.Short(), message);
    } else {
      Say(global, "kept " + id.Short() + ": " + message);
    }
    kept->push_back({{"id", id.Hex()}, {"reason", message}});
    return why;
  };
  if (repo.backend().Capabilities().object_lock) {
    // Ask first: on a versioned bucket a DELETE of a locked object "succeeds"
    // by hiding it behind a delete marker.
    auto until = repo.backend().RetainUntil(name);
    if (!until.ok()) return until.status().WithContext("unable to remove snapshot " + id.Short());
    if (*until && **until > NowSeconds()) {
      return keep(Removal::kLocked, "under S3 Object Lock until " + FormatUtcSeconds(**until));
    }
  }
  Status s = repo.RemoveSnapshot(id);
  if (s.code() == Code::kPermissionDenied) {
    return keep(Removal::kRefused, "the storage refused to remove it: " + s.message());
  }
  if (!s.ok()) return s.WithContext("unable to remove snapshot " + id.Short());
  return Removal::kRemoved;
}

int RunForget(const GlobalOptions& global, const ForgetOpts& o) {
  if (Status s = RefuseInAppendOnlyMode(global, "forget"); !s.ok()) return ReportError(global, s);
  RetentionPolicy policy;
  policy.last = o.last;
  policy.hourly = o.hourly;
  policy.daily = o.daily;
  policy.weekly = o.weekly;
  policy.monthly = o.monthly;
  policy.yearly = o.yearly;
  if (!o.within.empty()) {
    auto within = ParseRetentionDuration(o.within);
    if (!within.ok()) return ReportError(global, within.status().WithContext("--keep-within"));
    policy.within_ns = *within;
  }
  for (const std::string& t : o.keep_tags) {
    std::vector<std::string> group;
    size_t start = 0;
    while (start <= t.size()) {
      size_t comma = t.find(',', start);
      if (comma == std::string::npos) comma = t.size();
      if (comma > start) group.push_back(t.substr(start, comma - start));
      start = comma + 1;
    }
    policy.keep_tags.push_back(group);
  }
  if (Status v = policy.Validate(); !v.ok()) return ReportError(global, v);
  if (policy.Empty() && o.ids.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "no policy and no snapshots given",
                                      "name snapshots to remove, or give --keep-* options"));
  }
  auto group_by = ParseGroupBy(o.group_by);
  if (!group_by.ok()) return ReportError(global, group_by.status());

  auto repo_or = OpenRepository(global);
  if (!repo_or.ok()) return ReportError(global, repo_or.status());
  Repository& repo = **repo_or;
  std::vector<Id> to_remove;
  {
    std::unique_ptr<RepoLock> lock;
    if (!o.dry_run) {
      auto l = RepoLock::Acquire(repo, false);
      if (!l.ok()) return ReportError(global, l.status());
      lock = std::move(*l);
    }
    if (!o.ids.empty()) {
      for (const std::string& ref : o.ids) {
        auto e = repo.FindSnapshot(ref);
        if (!e.ok()) return ReportError(global, e.status());
        to_remove.push_back(e->id);
        Say(global, "remove " + e->id.Short() + " (named on the command line)");
      }
    } else {
      auto all = repo.ListSnapshots();
      if (!all.ok()) return ReportError(global, all.status());
      std::vector<SnapshotRef> refs;
      for (const SnapshotEntry& e : *all) {
        if (!MatchesFilter(o.filter, e.snapshot)) continue;
        refs.push_back({e.id.Hex(), e.snapshot.time_ns, e.snapshot.hostname, e.snapshot.paths,
                        e.snapshot.tags});
      }
      auto groups = ApplyRetention(refs, policy, *group_by, NowNs());
      nlohmann::json jgroups = nlohmann::json::array();
      Say(global, "applying policy: " + policy.Describe());
      for (const RetentionGroup& g : groups) {
        std::string key;
        if (!g.key.hostname.empty()) key += "host " + g.key.hostname;
        if (!g.key.paths.empty()) key += (key.empty() ? "" : ", ") + std::string("paths ") + g.key.paths;
        if (!g.key.tags.empty()) key += (key.empty() ? "" : ", ") + std::string("tags ") + g.key.tags;
        Say(global, "\nsnapshots for " + (key.empty() ? std::string("all") : key) + ":");
        nlohmann::json keep = nlohmann::json::array(), remove = nlohmann::json::array();
        for (const RetentionDecision& d : g.decisions) {
          std::string reasons;
          for (const std::string& r : d.reasons) reasons += (reasons.empty() ? "" : ", ") + r;
          Say(global, fmt::format("  {} {}  {}  {}", d.keep ? "keep  " : "remove",
                                  d.snapshot.id.substr(0, 8), FormatLocalTime(d.snapshot.time_ns),
                                  d.keep ? reasons : std::string("no rule keeps it")));
          (d.keep ? keep : remove).push_back({{"id", d.snapshot.id}, {"reasons", d.reasons}});
          if (!d.keep) to_remove.push_back(*Id::FromHex(d.snapshot.id));
        }
        jgroups.push_back({{"host", g.key.hostname}, {"paths", g.key.paths}, {"tags", g.key.tags},
                           {"keep", keep}, {"remove", remove}});
      }
      if (global.json) PrintJson({{"message_type", "forget"}, {"dry_run", o.dry_run}, {"groups", jgroups}});
    }
    if (o.dry_run) {
      Say(global, fmt::format("\ndry run: would remove {} snapshot(s)", to_remove.size()));
      return kExitOk;
    }
    size_t removed = 0, locked = 0, refused = 0;
    nlohmann::json kept = nlohmann::json::array();
    for (const Id& id : to_remove) {
      auto r = RemoveUnlessLocked(global, repo, id, &kept);
      if (!r.ok()) return ReportError(global, r.status());
      removed += *r == Removal::kRemoved;
      locked += *r == Removal::kLocked;
      refused += *r == Removal::kRefused;
    }
    Say(global, fmt::format("\nremoved {} snapshot(s)", removed));
    if (locked > 0) {
      Say(global, fmt::format("kept {} snapshot(s) the storage holds under S3 Object Lock; forget "
                              "them again after their retention ends",
                              locked));
    }
    if (global.json) {
      PrintJson({{"message_type", "forget_summary"},
                 {"removed", removed},
                 {"kept_locked", locked},
                 {"refused", refused},
                 {"kept", kept}});
    }
    if (refused > 0) {
      return ReportError(
          global, Status(Code::kPermissionDenied,
                         fmt::format("{} snapshot(s) could not be removed: the storage refused",
                                     refused),
                         "an append-only server or a retention lock keeps them; forget from an "
                         "account allowed to delete"));
    }
  }
  if (o.prune) {
    Say(global, "\npruning");
    return RunPrune(global, repo, o.prune_opts);
  }
  return kExitOk;
}

}  // namespace

void RegisterForget(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<ForgetOpts>();
  CLI::App* cmd = app.add_subcommand("forget", "remove snapshots by id or by retention policy");
  cmd->add_option("snapshots", o->ids, "snapshot ids to remove");
  cmd->add_option("-l,--keep-last", o->last, "keep the last N snapshots (-1: all)");
  cmd->add_option("-H,--keep-hourly", o->hourly, "keep the last N hourly snapshots");
  cmd->add_option("-d,--keep-daily", o->daily, "keep the last N daily snapshots");
  cmd->add_option("-w,--keep-weekly", o->weekly, "keep the last N weekly snapshots");
  cmd->add_option("-m,--keep-monthly", o->monthly, "keep the last N monthly snapshots");
  cmd->add_option("-y,--keep-yearly", o->yearly, "keep the last N yearly snapshots");
  cmd->add_option("--keep-within", o->within, "keep snapshots newer than DURATION (e.g. 7d, 1y2m)");
  cmd->add_option("--keep-tag", o->keep_tags, "keep snapshots with these tags (repeatable)");
  cmd->add_option("-g,--group-by", o->group_by, "group by host,paths,tags (default host,paths)");
  cmd->add_flag("-n,--dry-run", o->dry_run, "only show what would be removed");
  cmd->add_flag("--prune", o->prune, "run prune afterwards");
  cmd->add_option("--max-unused", o->prune_opts.max_unused, "with --prune: see 'prune --help'");
  AddSnapshotFilterOptions(cmd, &o->filter);
  cmd->callback([&global, o, selected] { *selected = [&global, o] { return RunForget(global, *o); }; });

  auto p = std::make_shared<PruneOpts>();
  CLI::App* prune = app.add_subcommand("prune", "remove data no snapshot references");
  prune->add_option("--max-unused", p->max_unused,
                    "tolerate this much unused space before repacking (default 5%; 'unlimited')");
  prune->add_flag("-n,--dry-run", p->dry_run, "only show what would be done");
  prune->callback([&global, p, selected] {
    *selected = [&global, p]() -> int {
      if (Status s = RefuseInAppendOnlyMode(global, "prune"); !s.ok()) {
        return ReportError(global, s);
      }
      auto repo = OpenRepository(global);
      if (!repo.ok()) return ReportError(global, repo.status());
      return RunPrune(global, **repo, *p);
    };
  });
}

}  // namespace lifeboat
