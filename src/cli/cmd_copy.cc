// lifeboat copy: copies snapshots from another repository (--from-repo) into
// this one, sending only the data this one lacks (src/copy). Also holds the
// --from-repo plumbing that `init --from-repo` shares: the source
// repository's own location, storage settings and password source, mirroring
// restic's --from-repo / --from-password-file / --from-password-command.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/snapshot_filter.h"
#include "copy/copier.h"
#include "repo/lock.h"
#include "storage/open_storage.h"

namespace lifeboat {

void AddFromRepoOptions(CLI::App* cmd, GlobalOptions* from) {
  cmd->add_option("--from-repo", from->repo, "source repository (LIFEBOAT_FROM_REPOSITORY)")
      ->envname("LIFEBOAT_FROM_REPOSITORY");
  cmd->add_option("--from-option", from->options,
                  "storage setting KEY=VALUE for the source repository, repeatable")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
  cmd->add_option("--from-password-file", from->password_file,
                  "read the source repository's password from a file "
                  "(LIFEBOAT_FROM_PASSWORD_FILE)")
      ->envname("LIFEBOAT_FROM_PASSWORD_FILE");
  cmd->add_option("--from-password-command", from->password_command,
                  "run a command and read the source repository's password from its output "
                  "(LIFEBOAT_FROM_PASSWORD_COMMAND)")
      ->envname("LIFEBOAT_FROM_PASSWORD_COMMAND");
}

// Its password never comes from the destination's settings; errors say
// "source repository".
Result<std::unique_ptr<Repository>> OpenFromRepository(const GlobalOptions& from) {
  if (from.repo.empty()) {
    return Status(Code::kInvalidArgument, "no source repository given",
                  "use --from-repo or set LIFEBOAT_FROM_REPOSITORY");
  }
  auto options = ParseStorageOptions(from.options);
  if (!options.ok()) return options.status().WithContext("--from-option");
  auto backend = OpenStorage(from.repo, *options);
  if (!backend.ok()) return backend.status().WithContext("source repository");
  auto password =
      GetPassword(from, false, "enter password for source repository: ", "LIFEBOAT_FROM_PASSWORD");
  if (!password.ok()) return password.status().WithContext("source repository");
  auto repo = Repository::Open(std::move(*backend), *password);
  if (!repo.ok()) {
    if (repo.status().code() == Code::kWrongPassword) {
      return Status(Code::kWrongPassword,
                    "wrong password for the source repository '" + from.repo + "'",
                    "check LIFEBOAT_FROM_PASSWORD / --from-password-file / "
                    "--from-password-command");
    }
    return repo.status().WithContext("source repository");
  }
  return repo;
}

namespace {

struct CopyOpts {
  GlobalOptions from;
  std::vector<std::string> snapshots;
  SnapshotFilterOptions filter;
  bool dry_run = false;
};

Result<std::unique_ptr<Repository>> OpenDestination(const GlobalOptions& global) {
  auto repo = OpenRepository(global);
  if (!repo.ok()) {
    if (repo.status().code() == Code::kWrongPassword) {
      return Status(Code::kWrongPassword,
                    "wrong password for the destination repository '" + global.repo + "'",
                    "check LIFEBOAT_PASSWORD / --password-file / --password-command");
    }
    return repo.status().WithContext("destination repository");
  }
  return repo;
}

int RunCopy(const GlobalOptions& global, const CopyOpts& o) {
  if (!o.from.repo.empty() && o.from.repo == global.repo) {
    return ReportError(global, InvalidArgument("source and destination are the same repository"));
  }
  auto src_or = OpenFromRepository(o.from);
  if (!src_or.ok()) return ReportError(global, src_or.status());
  auto dst_or = OpenDestination(global);
  if (!dst_or.ok()) return ReportError(global, dst_or.status());
  Repository& src = **src_or;
  Repository& dst = **dst_or;
  src.set_lock_wait(std::chrono::seconds(global.retry_lock_seconds));
  if (src.config().id == dst.config().id) {
    return ReportError(global, InvalidArgument("source and destination are the same repository"));
  }

  std::unique_ptr<RepoLock> src_lock, dst_lock;
  {
    auto l = RepoLock::Acquire(src, false);
    if (!l.ok()) return ReportError(global, l.status().WithContext("source repository"));
    src_lock = std::move(*l);
  }
  if (!o.dry_run) {
    auto l = RepoLock::Acquire(dst, false);
    if (!l.ok()) return ReportError(global, l.status().WithContext("destination repository"));
    dst_lock = std::move(*l);
  }
  Status loaded = src.LoadIndex();
  if (!loaded.ok())
    return ReportError(global, loaded.WithContext("unable to load the source index"));
  loaded = dst.LoadIndex();
  if (!loaded.ok()) {
    return ReportError(global, loaded.WithContext("unable to load the destination index"));
  }
  if (!o.dry_run) {
    auto adopted = dst.AdoptUnindexedPacks();
    if (adopted.ok() && *adopted > 0) {
      Say(global, fmt::format("reusing {} pack(s) left by an interrupted run", *adopted));
    }
  }

  std::vector<SnapshotEntry> selected;
  if (o.snapshots.empty()) {
    auto all = src.ListSnapshots();
    if (!all.ok()) return ReportError(global, all.status().WithContext("source repository"));
    for (SnapshotEntry& e : *all) {
      if (MatchesFilter(o.filter, e.snapshot)) selected.push_back(std::move(e));
    }
  } else {
    for (const std::string& ref : o.snapshots) {
      auto e = ResolveSnapshot(src, ref, o.filter);
      if (!e.ok()) return ReportError(global, e.status().WithContext("source repository"));
      bool dup = false;
      for (const SnapshotEntry& s : selected) dup = dup || s.id == e->id;
      if (!dup) selected.push_back(std::move(*e));
    }
  }
  auto existing = dst.ListSnapshots();
  if (!existing.ok()) {
    return ReportError(global, existing.status().WithContext("destination repository"));
  }

  Copier copier(src, dst, CopyOptions{o.dry_run, nullptr});
  bool same_key = SameMasterKey(src, dst);
  if (same_key) {
    Say(global, "same master key: blobs the destination has are not read again");
  } else {
    Say(global, "different master keys: every blob is read and re-hashed");
  }
  auto t0 = std::chrono::steady_clock::now();
  InstallInterruptHandler();
  Result<CopyResult> result = Status(Code::kInternal, "not run");
  {
    const CopyProgress& p = copier.progress();
    const uint64_t total = selected.size();
    ProgressReporter reporter(
        global, "copy",
        [&p, total] {
          ProgressSample s;
          s.files_done = p.snapshots_done;
          s.files_total = total;
          s.bytes_done = p.bytes_read;
          s.extra =
              fmt::format("sent {} blobs, {}", p.blobs_sent.load(), FormatBytes(p.bytes_sent));
          return s;
        },
        [&copier] { copier.Cancel(); });
    result = copier.Run(selected, *existing);
  }
  if (!result.ok()) {
    Status s = result.status();
    if (s.code() != Code::kCancelled) {
      s = s.WithHint("run the same command again: what was stored is reused");
    }
    return ReportError(global, s);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const CopyResult& r = *result;

  if (global.json) {
    nlohmann::json snaps = nlohmann::json::array();
    for (const CopiedSnapshot& c : r.snapshots) {
      nlohmann::json j = {{"source", c.source_id.Hex()}, {"skipped", c.skipped}};
      if (c.copy_id) j["copy"] = c.copy_id->Hex();
      snaps.push_back(j);
    }
    PrintJson({{"message_type", "copy_summary"},
               {"dry_run", o.dry_run},
               {"same_master_key", r.same_master_key},
               {"snapshots_copied", r.snapshots_copied},
               {"snapshots_skipped", r.snapshots_skipped},
               {"blobs_read", r.blobs_read},
               {"bytes_read", r.bytes_read},
               {"blobs_sent", r.blobs_sent},
               {"bytes_sent", r.bytes_sent},
               {"bytes_sent_stored", r.bytes_sent_stored},
               {"duration_seconds", seconds},
               {"snapshots", snaps}});
    return kExitOk;
  }
  for (const CopiedSnapshot& c : r.snapshots) {
    if (c.skipped) {
      if (global.verbose > 0) Say(global, "snapshot " + c.source_id.Short() + ": already copied");
    } else if (c.copy_id) {
      Say(global, "snapshot " + c.source_id.Short() + " copied as " + c.copy_id->Short());
    } else {
      Say(global, "snapshot " + c.source_id.Short() + " would be copied");
    }
  }
  Say(global,
      fmt::format("{} {} snapshot(s), skipped {} already copied; {} {} blobs, {} ({} "
                  "stored) in {}",
                  o.dry_run ? "would copy" : "copied", r.snapshots_copied, r.snapshots_skipped,
                  o.dry_run ? "would send" : "sent", r.blobs_sent, FormatBytes(r.bytes_sent),
                  FormatBytes(r.bytes_sent_stored), FormatSeconds(seconds)));
  if (o.dry_run) Say(global, "dry run: nothing was written");
  return kExitOk;
}

}  // namespace

void RegisterCopy(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<CopyOpts>();
  CLI::App* cmd = app.add_subcommand(
      "copy", "copy snapshots from another repository (--from-repo) into this one");
  AddFromRepoOptions(cmd, &o->from);
  cmd->add_option("snapshots", o->snapshots, "snapshots to copy (ids or 'latest'; default: all)");
  AddSnapshotFilterOptions(cmd, &o->filter);
  cmd->add_flag("-n,--dry-run", o->dry_run, "show what would be copied, write nothing");
  cmd->callback(
      [&global, o, selected] { *selected = [&global, o] { return RunCopy(global, *o); }; });
}

}  // namespace lifeboat
