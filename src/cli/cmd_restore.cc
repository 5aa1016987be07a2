// lifeboat restore: restores a snapshot (or a path inside it) into a folder.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <iostream>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/snapshot_filter.h"
#include "policy/path_filter.h"
#include "repo/lock.h"
#include "restore/restorer.h"

namespace lifeboat {
namespace {

struct RestoreOpts {
  std::string snapshot;
  std::string target;
  std::vector<std::string> includes, iincludes, excludes, iexcludes;
  bool verify = false;
  bool allow_existing = false;
  bool delta = false;
  bool no_owner = false;
  SnapshotFilterOptions filter;
};

int RunRestore(const GlobalOptions& global, const RestoreOpts& o) {
  if (o.snapshot.empty()) {
    return ReportError(global, InvalidArgument("snapshot is required (an id or 'latest')"));
  }
  if (o.target.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "no target given",
                                      "use --target DIR (an empty or new folder)"));
  }
  std::string ref = o.snapshot, subpath;
  if (size_t colon = ref.find(':'); colon != std::string::npos) {
    subpath = ref.substr(colon + 1);
    ref = ref.substr(0, colon);
  }
  auto exclude = PathFilter::Create(o.excludes, o.iexcludes);
  if (!exclude.ok()) return ReportError(global, exclude.status());
  auto include = IncludeFilter::Create(o.includes, o.iincludes);
  if (!include.ok()) return ReportError(global, include.status());
  auto repo = OpenRepository(global);
  if (!repo.ok()) return ReportError(global, repo.status());
  auto lock = RepoLock::Acquire(**repo, false);
  if (!lock.ok()) return ReportError(global, lock.status());
  Status loaded = (*repo)->LoadIndex();
  if (!loaded.ok()) return ReportError(global, loaded);
  auto snap = ResolveSnapshot(**repo, ref, o.filter);
  if (!snap.ok()) return ReportError(global, snap.status());
  Say(global, "restoring snapshot " + snap->id.Short() + " of " +
                  (snap->snapshot.paths.empty() ? "" : snap->snapshot.paths[0]) + " at " +
                  FormatLocalTime(snap->snapshot.time_ns) + " to " + o.target);
  RestorerOptions ropt;
  ropt.target = o.target;
  ropt.exclude = exclude->empty() ? nullptr : &*exclude;
  ropt.include = include->empty() ? nullptr : &*include;
  ropt.verify = o.verify;
  ropt.allow_existing = o.allow_existing || o.delta;
  ropt.delta = o.delta;
  ropt.restore_owner = !o.no_owner;
  ropt.stop = &InterruptFlag();  // Ctrl-C/SIGTERM: stop, remove incomplete files
  Restorer restorer(**repo, ropt);
  InstallInterruptHandler();
  auto t0 = std::chrono::steady_clock::now();
  Result<RestoreResult> result = Status(Code::kInternal, "not run");
  {
    const RestoreProgress& p = restorer.progress();
    ProgressReporter reporter(
        global, "restore",
        RestoreSampler(p),
        nullptr);
    result = restorer.Restore(snap->snapshot.tree, subpath);
  }
  if (!result.ok()) return ReportError(global, result.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const RestoreError& e : result->errors) {
    ReportItem(global, "error", "error", e.path, e.status.message());
  }
  for (const RestoreError& e : result->verify_failures) {
    ReportItem(global, "verify_error", "verify failed", e.path, e.status.message());
  }
  if (global.json) {
    PrintJson({{"message_type", "summary"},
               {"snapshot_id", snap->id.Hex()},
               {"files_restored", result->files},
               {"dirs_restored", result->dirs},
               {"specials_restored", result->specials},
               {"bytes_restored", result->bytes},
               {"errors", result->errors.size()},
               {"verified_files", result->verified_files},
               {"verify_failures", result->verify_failures.size()},
               {"files_unchanged", result->files_unchanged},
               {"entries_removed", result->entries_removed},
               {"total_duration", seconds}});
  } else {
    Say(global, fmt::format("restored {} files, {} folders, {} other items, {} in {}", result->files,
                            result->dirs, result->specials, FormatBytes(result->bytes),
                            FormatSeconds(seconds)));
    if (o.delta) {
      Say(global, fmt::format("delta: {} files ({}) already matched and were kept, {} entries "
                              "not in the snapshot removed",
                              result->files_unchanged, FormatBytes(result->bytes_unchanged),
                              result->entries_removed));
    }
    if (o.verify) {
      Say(global, fmt::format("verified {} files: {}", result->verified_files,
                              result->verify_failures.empty()
                                  ? std::string("all match the repository")
                                  : fmt::format("{} differ", result->verify_failures.size())));
    }
  }
  if (!result->errors.empty() || !result->verify_failures.empty()) {
    if (!global.json) {
      std::cerr << "lifeboat: restore incomplete: " << result->errors.size() << " error(s), "
                << result->verify_failures.size() << " verify failure(s)\n";
    }
    return kExitFatal;
  }
  return kExitOk;
}

}  // namespace

void RegisterRestore(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<RestoreOpts>();
  CLI::App* cmd = app.add_subcommand("restore", "restore a snapshot into a folder");
  // Not ->required(): `restore postgres ...` leaves it empty (checked in RunRestore).
  cmd->add_option("snapshot", o->snapshot, "snapshot id, 'latest', or ID:PATH for a sub-path");
  cmd->add_option("-t,--target", o->target, "folder to restore into (must be empty or new)");
  cmd->add_option("-i,--include", o->includes, "restore only paths matching a pattern");
  cmd->add_option("--iinclude", o->iincludes, "like --include, ignoring case");
  cmd->add_option("-e,--exclude", o->excludes, "do not restore paths matching a pattern");
  cmd->add_option("--iexclude", o->iexcludes, "like --exclude, ignoring case");
  cmd->add_flag("--verify", o->verify, "re-read restored files and compare with the repository");
  cmd->add_flag("--allow-existing", o->allow_existing,
                "restore into a non-empty folder (existing files are not overwritten)");
  cmd->add_flag("--delta", o->delta,
                "make an existing target equal to the snapshot: files whose content already "
                "matches are kept (read, not rewritten), others rewritten, entries the snapshot "
                "does not have removed (not with --include/--exclude)");
  cmd->add_flag("--no-owner", o->no_owner, "do not restore owners even when running as root");
  AddSnapshotFilterOptions(cmd, &o->filter);
  CLI::App* postgres = RegisterRestorePostgres(*cmd, global, selected);  // restore postgres
  // restore sqlite|redis|git
  CLI::App* mariadb = RegisterRestoreMariaDb(*cmd, global, selected);    // restore mariadb
  std::vector<CLI::App*> sources = RegisterRestoreSources(*cmd, global, selected);
  cmd->callback([&global, o, selected, postgres, mariadb, sources] {
    if (postgres->parsed() || mariadb->parsed()) return;  // its own callback chose the command
    for (CLI::App* source : sources) {
      if (source->parsed()) return;
    }
    *selected = [&global, o] { return RunRestore(global, *o); };
  });
}

}  // namespace lifeboat
