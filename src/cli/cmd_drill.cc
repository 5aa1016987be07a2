// lifeboat drill [COMPONENT...] [--config F]: proves that the application
// can be recovered. For each component in restore order, from the first of
// its repositories that can be opened, the newest snapshot tagged
// app=APP,component=NAME is restored into a fresh run directory below the
// [drill] sandbox (files, command: RUN/NAME; postgres: RUN/NAME/pgdata
// recovered to the end of the archived WAL and started on a free loopback
// port; sqlite, git: RUN/NAME/BASENAME; redis: RUN/NAME/redis/dump.rdb
// served by a throw-away redis-server on a free loopback port), the
// component's verify checks run against it, the server is stopped, and the
// wall time (restore + start + verify) is compared with the RTO.
//
// The report goes to RUN/report.json and RUN/report.md and into the first
// repository as a snapshot (source "drill", tags app=APP and drill) holding
// both files, with a summary in its source_info for `status` and `runbook`.
// The restored data is removed; the report files stay.
//
// A restore error, a failed check or an RTO miss fails the drill: exit 1 and
// one alert per failed component (drill_failed, or rto_missed when only the
// time was over).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <optional>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>

#include "app/alert.h"
#include "app/component_kind.h"
#include "app/drill_report.h"
#include "archiver/tree_ingest.h"
#include "cli/app_support.h"
#include "cli/commands.h"
#include "model/time_format.h"
#include "policy/duration.h"
#include "repo/lock.h"

namespace lifeboat {
namespace {

inline constexpr const char* kDefaultSandbox = "/var/tmp/lifeboat-drill";

struct DrillOpts {
  std::string config;
  std::vector<std::string> components;
  bool keep = false;
};

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Status WriteFile0600(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "unable to write '" + path + "'");
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return ErrnoStatus(e, "unable to write '" + path + "'");
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) return ErrnoStatus(errno, "unable to write '" + path + "'");
  return Status::Ok();
}

// Stores report.json and report.md as a "drill" snapshot.
Result<Id> StoreReport(const GlobalOptions& global, const RepositoryConfig& config,
                       const DrillReport& report, const std::string& json_text,
                       const std::string& markdown) {
  LB_ASSIGN_OR_RETURN(auto repo, OpenConfiguredRepository(global, config));
  LB_ASSIGN_OR_RETURN(auto lock, RepoLock::Acquire(*repo, false));
  Status loaded = repo->LoadIndex();
  if (!loaded.ok()) return loaded.WithContext("unable to load the index");
  TreeIngest ingest(*repo);
  NodeMeta meta;
  meta.mode = 0600;
  meta.uid = geteuid();
  meta.gid = getegid();
  meta.mtime_ns = report.finished_ns;
  const std::pair<const char*, const std::string*> files[] = {{"report.json", &json_text},
                                                              {"report.md", &markdown}};
  for (const auto& [name, text] : files) {
    Status s = ingest.BeginFile(name, meta);
    if (s.ok()) s = ingest.Write(AsBytes(*text));
    if (s.ok()) s = ingest.EndFile();
    if (!s.ok()) return s;
  }
  LB_ASSIGN_OR_RETURN(ArchiveResult archived, ingest.Finish());
  Snapshot snap;
  snap.time_ns = report.started_ns;
  snap.hostname = report.host;
  snap.username = LocalUsername();
  snap.uid = geteuid();
  snap.gid = getegid();
  snap.paths = {"/lifeboat-drill/" + report.app};
  snap.tags = {"app=" + report.app, kDrillTag};
  snap.tree = archived.tree;
  snap.kind = BackupKind::kFull;
  snap.source = kDrillSource;
  snap.source_info = DrillSourceInfo(report);
  snap.program_version = std::string("lifeboat ") + kLifeboatVersion;
  snap.summary = archived.summary;
  snap.summary.bytes_added_stored = repo->write_stats().bytes_added_stored;
  snap.summary.backup_start_ns = report.started_ns;
  snap.summary.backup_end_ns = report.finished_ns;
  snap.summary.duration_seconds = report.total_seconds;
  return repo->SaveSnapshot(snap);
}

// Restores, verifies and cleans up one component; fills `d`.
void DrillComponent(const GlobalOptions& global, const AppConfig& app, const ComponentConfig& c,
                    const std::string& run_dir, bool keep, ComponentDrill* d) {
  const ComponentKind* kind = FindComponentKind(c.kind);
  if (!kind) {
    d->error = UnsupportedKind(c).message();
    return;
  }
  // The first repository that can be opened and holds a snapshot.
  const RepositoryConfig* from = nullptr;
  std::optional<SnapshotEntry> snapshot;
  std::string problems;
  for (const std::string& name : c.repositories) {
    const RepositoryConfig* rc = app.FindRepository(name);
    auto repo = OpenConfiguredRepository(global, *rc);
    if (!repo.ok()) {
      problems += (problems.empty() ? "" : "; ") + repo.status().message();
      continue;
    }
    auto newest = NewestTagged(**repo, ComponentTags(app, c));
    if (!newest.ok()) {
      problems += (problems.empty() ? "" : "; ") + name + ": " + newest.status().message();
      if (newest.status().code() == Code::kNotFound) {
        from = rc;  // opened, but nothing to restore: that is the answer
        break;
      }
      continue;
    }
    from = rc;
    snapshot = *newest;
    break;
  }
  if (from) d->repository = from->name;
  if (!snapshot) {
    d->error = "nothing to restore: " + problems;
    return;
  }
  d->snapshot_id = snapshot->id.Hex();
  d->snapshot_time_ns = snapshot->snapshot.time_ns;

  const std::string component_dir = run_dir + "/" + c.name;
  Status made = MakeTraversableDir(component_dir);
  if (!made.ok()) {
    d->error = made.message();
    return;
  }
  int port = 0;
  if (kind->NeedsPort()) {
    auto p = FreeLoopbackPort();
    if (!p.ok()) {
      d->error = p.status().message();
      return;
    }
    port = *p;
  }
  const RestoreTarget target = kind->DrillTarget(c, component_dir, port);
  Say(global, fmt::format("{}: restoring snapshot {} ({}) from {}", c.name,
                          d->snapshot_id.substr(0, 8), FormatLocalTime(d->snapshot_time_ns),
                          from->name));
  auto t0 = std::chrono::steady_clock::now();
  ChildRun restore;
  if (Status ready = kind->BeforeRestore(c, target); !ready.ok()) {
    restore.error = ready.message();
    restore.process.exit_code = -1;
  } else {
    restore = RunLifeboatOn(*from, kind->RestoreArgs(app, c, d->snapshot_id, target));
  }
  d->restore_seconds = Since(t0);
  if (!restore.ok()) {
    d->error = "restore failed: " + restore.error;
  } else if (Status started = kind->AfterRestore(c, target); !started.ok()) {
    d->error = "restored, but " + started.message();
  } else {
    d->restored = true;
    auto t1 = std::chrono::steady_clock::now();
    d->checks = kind->Verify(c, target);
    d->verify_seconds = Since(t1);
  }
  d->seconds = Since(t0);
  Status stopped = kind->Stop(c, target);
  if (!stopped.ok() && d->restored) d->error = stopped.message();
  if (!keep) {
    std::error_code ec;
    std::filesystem::remove_all(component_dir, ec);
    if (ec) {
      std::cerr << "lifeboat: warning: unable to remove '" << component_dir << "': " << ec.message()
                << "\n";
    }
  }
}

int RunDrill(const GlobalOptions& global, const DrillOpts& o) {
  auto app = LoadAppConfigForCli(o.config);
  if (!app.ok()) return ReportError(global, app.status());
  std::vector<std::string> names = o.components;
  if (names.empty() && app->drill) names = app->drill->components;
  auto selected = SelectComponents(*app, names, /*restore_order=*/true);
  if (!selected.ok()) return ReportError(global, selected.status());
  const std::string sandbox =
      app->drill && !app->drill->sandbox.empty() ? app->drill->sandbox : kDefaultSandbox;

  DrillReport report;
  report.app = app->app_name;
  report.host = LocalHostname();
  report.started_ns = NowNs();
  const std::string stamp = FormatTimeRfc3339(report.started_ns).substr(0, 19);
  std::string run_name = "run-" + stamp + "-" + std::to_string(getpid());
  for (char& ch : run_name) {
    if (ch == ':') ch = '-';
  }
  report.sandbox = sandbox + "/" + run_name;
  Status made = MakeTraversableDir(report.sandbox);
  if (!made.ok()) return ReportError(global, made.WithHint("set [drill] sandbox to a writable folder"));
  Say(global, fmt::format("drill of {} in {}", report.app, report.sandbox));

  // SIGTERM / SIGINT (the agent stopping, Ctrl-C) reach the restore or
  // verify command running in our process group as well: we wait for it,
  // stop what the drill started and clean up, then store no report (an
  // interrupted drill proves nothing either way).
  InstallInterruptHandler();
  auto t0 = std::chrono::steady_clock::now();
  for (const ComponentConfig* c : *selected) {
    if (Interrupted()) break;
    ComponentDrill d;
    d.name = c->name;
    d.kind = c->kind;
    d.rto_seconds = c->rto_seconds;
    DrillComponent(global, *app, *c, report.sandbox, o.keep, &d);
    std::string rto = d.rto_seconds > 0 ? FormatDurationSeconds(d.rto_seconds) : "none";
    std::string verdict = d.ok() ? "passed" : (d.restored && d.error.empty() && d.checks_ok())
                                                  ? "RTO MISSED"
                                                  : "FAILED";
    Say(global, fmt::format("{}: {} in {} (restore {}, verify {}; RTO {}), {} of {} checks passed",
                            d.name, verdict, FormatSeconds(d.seconds),
                            FormatSeconds(d.restore_seconds), FormatSeconds(d.verify_seconds), rto,
                            std::count_if(d.checks.begin(), d.checks.end(),
                                          [](const CheckResult& k) { return k.ok; }),
                            d.checks.size()));
    if (!d.error.empty() && !global.json) std::cerr << "lifeboat: " << d.name << ": " << d.error << "\n";
    for (const CheckResult& k : d.checks) {
      if (!k.ok && !global.json) {
        std::cerr << "lifeboat: " << d.name << ": check failed: " << k.check << ": " << k.detail
                  << "\n";
      }
    }
    report.components.push_back(std::move(d));
  }
  report.total_seconds = Since(t0);
  report.finished_ns = NowNs();
  if (Interrupted()) {
    if (!o.keep) {
      std::error_code ec;
      std::filesystem::remove_all(report.sandbox, ec);
    }
    return ReportError(global, Status(Code::kCancelled, "drill interrupted; no report stored"));
  }

  const nlohmann::json json = DrillReportToJson(report);
  const std::string json_text = json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const std::string markdown = DrillReportMarkdown(report);
  bool stored_ok = true;
  const std::pair<const char*, const std::string*> files[] = {{"report.json", &json_text},
                                                              {"report.md", &markdown}};
  for (const auto& [file, text] : files) {
    Status s = WriteFile0600(report.sandbox + "/" + std::string(file), *text);
    if (!s.ok()) {
      stored_ok = false;
      ReportError(global, s);
    }
  }
  std::string stored_id;
  if (!app->repositories.empty()) {
    const RepositoryConfig* first = nullptr;
    // The first repository in the file that can be opened takes the report.
    for (const RepositoryConfig& rc : app->repositories) {
      auto id = StoreReport(global, rc, report, json_text, markdown);
      if (id.ok()) {
        first = &rc;
        stored_id = id->Hex();
        break;
      }
      std::cerr << "lifeboat: unable to store the drill report in '" << rc.name
                << "': " << id.status().message() << "\n";
    }
    if (!first) stored_ok = false;
    else Say(global, "report stored in " + first->name + " as snapshot " + stored_id.substr(0, 8));
  }

  const bool ok = report.ok();
  if (!ok && app->alerts) {
    for (const ComponentDrill& d : report.components) {
      if (d.ok()) continue;
      const bool only_rto = d.restored && d.error.empty() && d.checks_ok();
      DrillReport one;
      one.components = {d};
      std::string message = "restore drill of " + d.name + " failed";
      std::vector<std::string> why = one.Failures();
      if (!why.empty()) message = why.front();
      Alert alert{report.app,
                  only_rto ? AlertKind::kRtoMissed : AlertKind::kDrillFailed,
                  d.name,
                  message,
                  NowNs(),
                  {{"report", report.sandbox + "/report.json"},
                   {"seconds", d.seconds},
                   {"rto_seconds", d.rto_seconds},
                   {"snapshot", d.snapshot_id},
                   {"failures", why}}};
      for (const std::string& p : SendAlert(*app->alerts, alert).problems) {
        std::cerr << "lifeboat: alert not delivered: " << p << "\n";
      }
    }
  }
  if (global.json) {
    nlohmann::json summary = json;
    summary["message_type"] = "summary";
    summary["report_snapshot"] = stored_id;
    summary["report_files"] = {report.sandbox + "/report.json", report.sandbox + "/report.md"};
    PrintJson(summary);
  } else {
    Say(global, fmt::format("drill {} in {}; report: {}/report.md", ok ? "PASSED" : "FAILED",
                            FormatSeconds(report.total_seconds), report.sandbox));
  }
  if (!ok) {
    if (!global.json) {
      for (const std::string& f : report.Failures()) std::cerr << "lifeboat: drill: " << f << "\n";
    }
    return kExitFatal;
  }
  return stored_ok ? kExitOk : kExitFatal;
}

}  // namespace

void RegisterDrill(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<DrillOpts>();
  CLI::App* cmd = app.add_subcommand(
      "drill",
      "restore the latest snapshot of each component into the sandbox, verify it, measure the "
      "recovery time against the RTO, store the report; exit 1 (and alert) when it fails");
  cmd->add_option("components", o->components,
                  "components to drill (default: [drill] components, else all)");
  cmd->add_option("--config", o->config,
                  "the application file (default: LIFEBOAT_CONFIG, else ./lifeboat.toml)");
  cmd->add_flag("--keep", o->keep, "keep the restored data in the sandbox (for inspection)");
  cmd->callback(
      [&global, o, selected] { *selected = [&global, o] { return RunDrill(global, *o); }; });
}

}  // namespace lifeboat
