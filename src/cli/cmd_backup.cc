// lifeboat backup: backs up files and folders (or standard input, or the
// standard output of a command with --stdin-from-command) into a new
// snapshot — incremental by default, --differential or --full on request.
#include <malloc.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <iostream>

#include "archiver/archiver.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "model/time_format.h"
#include "policy/path_filter.h"
#include "repo/lock.h"
#include "sources/child_process.h"

namespace lifeboat {
namespace {

// source_info key of a files snapshot whose nodes carry their xattrs (not
// made with --no-xattrs): the next backup may reuse them (StatOptions).
constexpr const char* kXattrsRecorded = "xattrs";

struct BackupOpts {
  std::vector<std::string> paths;
  std::vector<std::string> excludes, iexcludes, exclude_files, exclude_if_present;
  bool exclude_caches = false;
  bool one_file_system = false;
  std::vector<std::string> tags;
  std::string host;
  std::string parent;
  bool dry_run = false;
  bool use_stdin = false;
  // With --stdin-from-command, `paths` holds the command and its arguments.
  bool stdin_from_command = false;
  std::string stdin_filename;  // default "stdin", or the command's name + ".out"
  bool full = false, differential = false;
  bool no_xattrs = false;
  int read_concurrency = 0;  // 0 = the archiver's default
};

Result<PathFilter> BuildExcludeFilter(const BackupOpts& o) {
  std::vector<std::string> patterns = o.excludes;
  for (const std::string& file : o.exclude_files) {
    auto contents = ReadPasswordFile(file);  // reads a whole small text file
    if (!contents.ok()) return contents.status().WithContext("--exclude-file");
    LB_ASSIGN_OR_RETURN(auto more, ParsePatternFile(*contents + "\n"));
    patterns.insert(patterns.end(), more.begin(), more.end());
  }
  return PathFilter::Create(patterns, o.iexcludes);
}

std::vector<std::string> SortedPaths(std::vector<std::string> p) {
  std::sort(p.begin(), p.end());
  return p;
}

// The snapshot to compare with: for incremental the newest snapshot of the
// same host and paths, for differential the newest full one.
Result<std::optional<SnapshotEntry>> ChooseParent(Repository& repo, const BackupOpts& o,
                                                  BackupKind kind, const std::string& host,
                                                  const std::vector<std::string>& paths,
                                                  const std::string& source) {
  if (kind == BackupKind::kFull) return std::optional<SnapshotEntry>();
  if (!o.parent.empty()) {
    LB_ASSIGN_OR_RETURN(SnapshotEntry e, repo.FindSnapshot(o.parent));
    return std::optional<SnapshotEntry>(e);
  }
  auto sorted = SortedPaths(paths);
  auto match = [&](const Snapshot& s) {
    return s.hostname == host && s.source == source && SortedPaths(s.paths) == sorted &&
           (kind != BackupKind::kDifferential || s.kind == BackupKind::kFull);
  };
  auto found = repo.FindSnapshot("latest", match);
  if (found.ok()) return std::optional<SnapshotEntry>(*found);
  if (found.status().code() == Code::kNotFound) return std::optional<SnapshotEntry>();
  return found.status();
}

int RunBackup(const GlobalOptions& global, const BackupOpts& o) {
  // The snapshot's time is when the command started, before any waiting.
  const int64_t start_ns = NowNs();
  // Chunk-sized buffers (256 KiB - 8 MiB) come and go all through a backup; a
  // fixed mmap threshold returns them to the system at once instead of letting
  // glibc raise the threshold and keep them in per-thread heaps (measured:
  // 257 MB → 157 MB peak RSS on the 2 GB benchmark, same speed). Restore is
  // faster with glibc's default, so this is set here only.
  mallopt(M_MMAP_THRESHOLD, 256 << 10);
  if (o.full && o.differential) {
    return ReportError(global, InvalidArgument("--full and --differential exclude each other"));
  }
  if (o.use_stdin && o.stdin_from_command) {
    return ReportError(global, InvalidArgument("--stdin and --stdin-from-command exclude each other"));
  }
  if (o.stdin_from_command && o.paths.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "--stdin-from-command needs a command",
                                      "put it after --: backup --stdin-from-command -- CMD ARGS..."));
  }
  const bool from_command = o.stdin_from_command;
  const bool stream = o.use_stdin || from_command;
  if (o.use_stdin && !o.paths.empty()) {
    return ReportError(global, InvalidArgument("--stdin takes no paths"));
  }
  const std::string stream_name =
      !o.stdin_filename.empty() ? o.stdin_filename
      : from_command            ? ProgramBaseName(o.paths[0]) + ".out"
                                : std::string("stdin");
  if (!stream && o.paths.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "nothing to back up",
                                      "name at least one file or folder, or use --stdin"));
  }
  auto exclude = BuildExcludeFilter(o);
  if (!exclude.ok()) return ReportError(global, exclude.status());
  ArchiverOptions aopt;
  for (const std::string& spec : o.exclude_if_present) {
    auto rule = ParseExcludeIfPresent(spec);
    if (!rule.ok()) return ReportError(global, rule.status());
    aopt.exclude_if_present.push_back(*rule);
  }
  if (o.exclude_caches) aopt.exclude_if_present.push_back(CacheDirTagRule());
  std::vector<std::string> paths;
  for (const std::string& p : from_command ? std::vector<std::string>() : o.paths) {
    std::string abs = NormalizeBackupPath(p);
    if (access(abs.c_str(), F_OK) != 0 && errno == ENOENT) {
      return ReportError(global, Status(Code::kNotFound, "'" + p + "' does not exist"));
    }
    paths.push_back(abs);
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());

  auto repo_or = OpenRepository(global);
  if (!repo_or.ok()) return ReportError(global, repo_or.status());
  Repository& repo = **repo_or;
  std::unique_ptr<RepoLock> lock;
  if (!o.dry_run) {
    auto l = RepoLock::Acquire(repo, false);
    if (!l.ok()) return ReportError(global, l.status());
    lock = std::move(*l);
  }
  Status loaded = repo.LoadIndex();
  if (!loaded.ok()) return ReportError(global, loaded.WithContext("unable to load the index"));
  if (!o.dry_run) {
    auto adopted = repo.AdoptUnindexedPacks();
    if (adopted.ok() && *adopted > 0) {
      Say(global, fmt::format("reusing {} pack(s) left by an interrupted backup", *adopted));
    }
  }

  const std::string host = o.host.empty() ? LocalHostname() : o.host;
  const std::string source = from_command ? "command" : o.use_stdin ? "stdin" : "files";
  BackupKind kind = o.full ? BackupKind::kFull
                           : o.differential ? BackupKind::kDifferential : BackupKind::kIncremental;
  std::vector<std::string> snapshot_paths =
      stream ? std::vector<std::string>{"/" + stream_name} : paths;
  auto parent = ChooseParent(repo, o, kind, host, snapshot_paths, source);
  if (!parent.ok()) return ReportError(global, parent.status());
  if (!stream && *parent) {
    Say(global, "using parent snapshot " + (*parent)->id.Short() + " (" +
                    std::string(BackupKindName((*parent)->snapshot.kind)) + ", " +
                    FormatLocalTime((*parent)->snapshot.time_ns) + ")");
  }
  // With nothing to compare against every byte is read: that is a full backup.
  if (!*parent) kind = BackupKind::kFull;

  aopt.paths = paths;
  aopt.exclude = exclude->empty() ? nullptr : &*exclude;
  aopt.one_file_system = o.one_file_system;
  if (*parent) aopt.parent_tree = (*parent)->snapshot.tree;
  aopt.dry_run = o.dry_run;
  aopt.read_xattrs = !o.no_xattrs;
  aopt.reader_threads = o.read_concurrency;
  if (*parent) {
    const auto& info = (*parent)->snapshot.source_info;
    auto it = info.find(kXattrsRecorded);
    aopt.parent_has_xattrs = it != info.end() && it->second == "true";
  }
  aopt.scan_totals = !global.quiet && (global.json || isatty(STDERR_FILENO));

  auto t0 = std::chrono::steady_clock::now();
  Archiver archiver(repo, aopt);
  InstallInterruptHandler();
  // The command starts once the repository is open and locked, so a
  // repository problem does not leave it running. Its standard error and
  // input stay the terminal's; its arguments are never recorded (they may
  // hold secrets), only the program's name.
  std::unique_ptr<ChildProcess> child;
  if (from_command) {
    ChildOptions copts;
    copts.capture_stderr = false;
    auto started = ChildProcess::Start(o.paths, copts);
    if (!started.ok()) return ReportError(global, started.status());
    child = std::move(*started);
  }
  Result<ArchiveResult> result = Status(Code::kInternal, "not run");
  {
    const ArchiveProgress& p = archiver.progress();
    ProgressReporter reporter(
        global, "backup",
        [&p] {
          ProgressSample s;
          s.files_done = p.files_done;
          s.bytes_done = p.bytes_done;
          s.total_known = p.scan_finished || p.walk_finished;
          s.files_total = p.scan_finished ? p.scan_files.load() : p.files_total.load();
          s.bytes_total = p.scan_finished ? p.scan_bytes.load() : p.bytes_total.load();
          s.errors = p.errors;
          s.extra = "added " + FormatBytes(p.bytes_added);
          return s;
        },
        [&archiver] { archiver.Cancel(); });
    result = child  ? archiver.RunStream(child->stdout_fd(), stream_name)
             : stream ? archiver.RunStream(STDIN_FILENO, stream_name)
                      : archiver.Run();
  }
  std::optional<ExitStatus> child_status;
  if (child) {
    if (!result.ok()) child->Terminate();
    child->CloseStdout();
    child_status = child->Wait();
  }
  if (!result.ok()) return ReportError(global, result.status());
  if (child_status && !child_status->success()) {
    return ReportError(global,
                       Status(Code::kIoError,
                              "command '" + ProgramBaseName(o.paths[0]) + "' failed with " +
                                  child_status->Describe() + "; no snapshot was saved",
                              "the backup of its output is incomplete: fix the command and run "
                              "the backup again"));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  for (const ArchiveIssue& w : result->warnings) {
    ReportItem(global, "warning", "warning", w.path, w.status.message(), /*is_warning=*/true);
  }
  for (const ArchiveIssue& e : result->errors) {
    ReportItem(global, "error", "error", e.path, e.status.message());
  }

  Snapshot snap;
  snap.time_ns = start_ns;
  snap.hostname = host;
  snap.username = LocalUsername();
  snap.uid = geteuid();
  snap.gid = getegid();
  snap.paths = snapshot_paths;
  snap.tags = SplitTags(o.tags);
  snap.tree = result->tree;
  if (*parent) snap.parent = (*parent)->id;
  snap.kind = kind;
  snap.source = source;
  if (child_status) {
    snap.source_info = {{"program", ProgramBaseName(o.paths[0])},
                        {"exit_status", std::to_string(child_status->code)}};
  } else if (!stream && aopt.read_xattrs) {
    snap.source_info[kXattrsRecorded] = "true";
  }
  snap.program_version = std::string("lifeboat ") + kLifeboatVersion;
  snap.summary = result->summary;
  snap.summary.bytes_added_stored = repo.write_stats().bytes_added_stored;
  snap.summary.backup_start_ns = start_ns;
  snap.summary.backup_end_ns = NowNs();
  snap.summary.duration_seconds = seconds;

  std::optional<Id> snapshot_id;
  if (!o.dry_run) {
    auto id = repo.SaveSnapshot(snap);
    if (!id.ok()) return ReportError(global, id.status().WithContext("unable to save the snapshot"));
    snapshot_id = *id;
  }
  const SnapshotSummary& s = snap.summary;
  if (global.json) {
    nlohmann::json j = {{"message_type", "summary"},
                        {"files_new", s.files_new},
                        {"files_changed", s.files_changed},
                        {"files_unmodified", s.files_unmodified},
                        {"dirs_new", s.dirs_new},
                        {"dirs_changed", s.dirs_changed},
                        {"dirs_unmodified", s.dirs_unmodified},
                        {"data_added", s.bytes_added},
                        {"data_added_stored", s.bytes_added_stored},
                        {"total_files_processed", s.files_total},
                        {"total_bytes_processed", s.bytes_total},
                        {"total_duration", seconds},
                        // Files whose first read waited for the disk: a
                        // backup slowed by a cold page cache shows here.
                        {"files_read_from_disk", archiver.progress().files_read_uncached.load()},
                        {"kind", std::string(BackupKindName(kind))},
                        {"errors", s.errors},
                        {"warnings", result->warnings.size()},
                        {"dry_run", o.dry_run}};
    if (snapshot_id) j["snapshot_id"] = snapshot_id->Hex();
    if (*parent) j["parent"] = (*parent)->id.Hex();
    PrintJson(j);
  } else {
    Say(global, "");
    Say(global, fmt::format("Files:       {:>6} new, {:>6} changed, {:>6} unmodified", s.files_new,
                            s.files_changed, s.files_unmodified));
    Say(global, fmt::format("Dirs:        {:>6} new, {:>6} changed, {:>6} unmodified", s.dirs_new,
                            s.dirs_changed, s.dirs_unmodified));
    Say(global, fmt::format("{} {} ({} stored)", o.dry_run ? "Would add:  " : "Added to the repository:",
                            FormatBytes(s.bytes_added), FormatBytes(s.bytes_added_stored)));
    Say(global, "");
    Say(global, fmt::format("processed {} files, {} in {} ({} backup)", s.files_total,
                            FormatBytes(s.bytes_total), FormatSeconds(seconds), BackupKindName(kind)));
    if (snapshot_id) Say(global, "snapshot " + snapshot_id->Short() + " saved");
    if (o.dry_run) Say(global, "dry run: nothing was written");
  }
  if (!result->errors.empty()) {
    if (!global.json) {
      std::cerr << "lifeboat: " << result->errors.size()
                << " file(s) could not be read; the snapshot does not contain them\n";
    }
    return kExitIncomplete;
  }
  return kExitOk;
}

}  // namespace

void RegisterBackup(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<BackupOpts>();
  CLI::App* cmd = app.add_subcommand("backup", "back up files and folders into a new snapshot");
  cmd->add_option("paths", o->paths, "files and folders to back up");
  cmd->add_option("-e,--exclude", o->excludes, "exclude paths matching a pattern (repeatable)");
  cmd->add_option("--iexclude", o->iexcludes, "like --exclude, ignoring case");
  cmd->add_option("--exclude-file", o->exclude_files, "read exclude patterns from a file");
  cmd->add_option("--exclude-if-present", o->exclude_if_present,
                  "skip the contents of folders containing FILE[:HEADER]");
  cmd->add_flag("--exclude-caches", o->exclude_caches, "skip folders holding a CACHEDIR.TAG");
  cmd->add_flag("-x,--one-file-system", o->one_file_system, "do not cross filesystem boundaries");
  cmd->add_option("--tag", o->tags, "add tags to the snapshot (repeatable, or comma-separated)");
  cmd->add_option("-H,--host", o->host, "hostname recorded in the snapshot");
  cmd->add_option("--parent", o->parent, "compare with this snapshot instead of the latest one");
  cmd->add_flag("-n,--dry-run", o->dry_run, "do everything but write to the repository");
  cmd->add_flag("--stdin", o->use_stdin, "back up standard input as one file");
  cmd->add_flag("--stdin-from-command", o->stdin_from_command,
                "run the command given after -- (directly, no shell) and back up its standard "
                "output as one file; its failure fails the backup");
  cmd->add_option("--stdin-filename", o->stdin_filename,
                  "file name for --stdin (default 'stdin') or --stdin-from-command (default: the "
                  "program's name + '.out')");
  cmd->add_flag("--full", o->full, "read and hash every file again, trusting no metadata");
  cmd->add_flag("--differential", o->differential,
                "compare with the latest full snapshot instead of the latest one");
  cmd->add_flag("--no-xattrs", o->no_xattrs, "do not record extended attributes");
  cmd->add_option("--read-concurrency", o->read_concurrency,
                  "files read at once (default: one per core, four more while files come from "
                  "the disk rather than the page cache); fewer suit a spinning disk, more a "
                  "network filesystem")
      ->check(CLI::Range(1, 256));
  CLI::App* postgres = RegisterBackupPostgres(*cmd, global, selected);  // backup postgres
  // backup sqlite|redis|git
  CLI::App* mariadb = RegisterBackupMariaDb(*cmd, global, selected);    // backup mariadb
  std::vector<CLI::App*> sources = RegisterBackupSources(*cmd, global, selected);
  cmd->callback([&global, o, selected, postgres, mariadb, sources] {
    if (postgres->parsed() || mariadb->parsed()) return;  // its own callback chose the command
    for (CLI::App* source : sources) {
      if (source->parsed()) return;
    }
    *selected = [&global, o] { return RunBackup(global, *o); };
  });
}

}  // namespace lifeboat
