// lifeboat recover --to-time T --target ROOT [--config F] [COMPONENT...]
// [--dry-run] [--start] [--delta]: brings the whole application back to one
// moment T, each component into ROOT/NAME, in restore order:
//
//   postgres: the newest base backup whose end is not after T, restored
//             into ROOT/NAME/pgdata with recovery_target_time = T (started
//             on a free loopback port only with --start; otherwise the way
//             to start it is printed);
//   mariadb:  the newest dump whose end is not after T, loaded into a new
//             mariadbd (data directory ROOT/NAME/mariadb/data) with the
//             archived binlogs replayed to T (whole seconds), then stopped;
//   files, sqlite, redis, git, command: the newest snapshot of the
//             component taken at or before T, restored below ROOT/NAME as
//             `drill` would (files: the snapshot paths under ROOT/NAME;
//             sqlite, git: ROOT/NAME/BASENAME; redis: ROOT/NAME/redis/
//             dump.rdb; command: ROOT/NAME/FILENAME).
//
// Snapshots are looked for in the component's repositories in order; the
// first one that opens and holds a snapshot at or before T is used. A
// component directory that exists and is not empty is refused (--delta:
// files and postgres restore over it, rewriting only what differs).
// Each restore is lifeboat's own restore command run as a child
// (app/component_kind.h), so one failing component never stops the
// others; exit 1 when any failed.
#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>

#include "app/component_kind.h"
#include "app/process.h"
#include "cli/app_support.h"
#include "cli/commands.h"
#include "cli/target_time.h"
#include "model/time_format.h"

namespace lifeboat {
namespace {

struct RecoverOpts {
  std::string config;
  std::vector<std::string> components;
  std::string to_time;
  std::string target;
  bool dry_run = false;
  bool start = false;
  bool delta = false;
};

// The moment a snapshot of this kind can be recovered to on its own: the
// end of a database backup (consistent only from there), else the
// snapshot's time.
int64_t PointOf(const ComponentConfig& c, const Snapshot& s) {
  if ((c.kind == "postgres" || c.kind == "mariadb") && s.summary.backup_end_ns > 0) {
    return s.summary.backup_end_ns;
  }
  return s.time_ns;
}

// Whether `dir` is missing or an empty directory.
Result<bool> MissingOrEmpty(const std::string& dir) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return true;
    return ErrnoStatus(errno, "unable to look at '" + dir + "'");
  }
  if (!S_ISDIR(st.st_mode)) return false;
  std::error_code ec;
  bool empty = std::filesystem::is_empty(dir, ec);
  if (ec) return IoError("unable to list '" + dir + "': " + ec.message());
  return empty;
}

std::string Ago(int64_t ns) {
  if (ns <= 0) return "0s";
  return FormatSeconds(static_cast<double>(ns) / 1e9);
}

struct Chosen {
  const RepositoryConfig* repo = nullptr;
  std::optional<SnapshotEntry> snapshot;
  std::string problem;  // when no snapshot
};

Chosen ChooseSnapshot(const GlobalOptions& global, const AppConfig& app, const ComponentConfig& c,
                      int64_t t_ns) {
  Chosen out;
  std::string problems;
  const std::vector<std::string> tags = ComponentTags(app, c);
  for (const std::string& name : c.repositories) {
    const RepositoryConfig* rc = app.FindRepository(name);
    auto repo = OpenConfiguredRepository(global, *rc);
    if (!repo.ok()) {
      problems += (problems.empty() ? "" : "; ") + repo.status().message();
      continue;
    }
    auto list = (*repo)->ListSnapshots();
    if (!list.ok()) {
      problems += (problems.empty() ? "" : "; ") + name + ": " + list.status().message();
      continue;
    }
    const SnapshotEntry* best = nullptr;
    int64_t oldest = 0;
    size_t tagged = 0;
    for (const SnapshotEntry& e : *list) {
      bool match = std::all_of(tags.begin(), tags.end(), [&e](const std::string& t) {
        return std::find(e.snapshot.tags.begin(), e.snapshot.tags.end(), t) !=
               e.snapshot.tags.end();
      });
      if (!match) continue;
      ++tagged;
      const int64_t point = PointOf(c, e.snapshot);
      if (oldest == 0 || point < oldest) oldest = point;
      if (point > t_ns) continue;
      if (!best || point > PointOf(c, best->snapshot)) best = &e;
    }
    if (best) {
      out.repo = rc;
      out.snapshot = *best;
      return out;
    }
    problems += (problems.empty() ? "" : "; ") + name + ": " +
                (tagged == 0 ? std::string("no snapshot of the component")
                             : fmt::format("{} snapshot{}, the oldest recoverable at {}", tagged,
                                           tagged == 1 ? "" : "s",
                                           FormatTimeRfc3339(oldest)));
  }
  out.problem = "no snapshot at or before " + FormatTimeRfc3339(t_ns) +
                (problems.empty() ? "" : " (" + problems + ")");
  return out;
}

int RunRecover(const GlobalOptions& global, const RecoverOpts& o) {
  auto app = LoadAppConfigForCli(o.config);
  if (!app.ok()) return ReportError(global, app.status());
  auto t_ns = ParseTargetTime(o.to_time);
  if (!t_ns.ok()) return ReportError(global, t_ns.status());
  if (o.target.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "recover needs --target ROOT",
                                      "each component is restored below ROOT/NAME"));
  }
  const std::string root = std::filesystem::absolute(o.target).lexically_normal().string();
  auto selected = SelectComponents(*app, o.components, /*restore_order=*/true);
  if (!selected.ok()) return ReportError(global, selected.status());
  const std::string pg_time = FormatPostgresTime(*t_ns);
  const int64_t now = NowNs();
  Say(global, fmt::format("recovering {} to {}{} into {}{}", app->app_name,
                          FormatTimeRfc3339(*t_ns), *t_ns > now ? " (in the future: the newest data)" : "",
                          root, o.dry_run ? " (dry run: nothing is restored)" : ""));

  // SIGTERM / SIGINT reach the restore running in our process group as
  // well: we wait for it, stop a server started for it, and go no further.
  InstallInterruptHandler();
  bool all_ok = true;
  std::vector<std::string> failed;
  nlohmann::json jcomponents = nlohmann::json::array();
  for (const ComponentConfig* c : *selected) {
    if (Interrupted()) {
      all_ok = false;
      failed.push_back(c->name);
      jcomponents.push_back({{"component", c->name},
                             {"kind", c->kind},
                             {"ok", false},
                             {"error", "interrupted before it was reached"}});
      continue;
    }
    nlohmann::json jc = {{"component", c->name}, {"kind", c->kind}};
    auto fail = [&](const std::string& message) {
      all_ok = false;
      failed.push_back(c->name);
      jc["ok"] = false;
      jc["error"] = message;
      if (global.json) PrintJson({{"message_type", "recover_item"}, {"component", c->name},
                                  {"ok", false}, {"error", message}});
      else std::cerr << "lifeboat: " << c->name << ": FAILED: " << message << "\n";
      jcomponents.push_back(jc);
    };
    const ComponentKind* kind = FindComponentKind(c->kind);
    if (!kind) {
      fail("kind " + c->kind + " is not supported by recover yet; restore it with `lifeboat restore " +
           c->kind + "` (see the README)");
      continue;
    }
    Chosen chosen = ChooseSnapshot(global, *app, *c, *t_ns);
    if (!chosen.snapshot) {
      fail(chosen.problem);
      continue;
    }
    const Snapshot& snap = chosen.snapshot->snapshot;
    const std::string id = chosen.snapshot->id.Hex();
    const int64_t point = PointOf(*c, snap);
    const std::string component_dir = root + "/" + c->name;
    auto empty = MissingOrEmpty(component_dir);
    if (!empty.ok()) {
      fail(empty.status().message());
      continue;
    }
    const bool delta_ok = o.delta && (c->kind == "files" || c->kind == "postgres");
    if (!*empty && !delta_ok) {
      fail("'" + component_dir + "' is not empty" +
           (o.delta ? " (--delta works for files and postgres components only)"
                    : "; recover into a new --target, or use --delta (files, postgres)"));
      continue;
    }
    int port = 0;
    const bool is_pg = c->kind == "postgres";
    if (((is_pg && o.start) || c->kind == "mariadb") && !o.dry_run) {
      auto p = FreeLoopbackPort();
      if (!p.ok()) {
        fail(p.status().message());
        continue;
      }
      port = *p;
    }
    RestoreTarget target = kind->DrillTarget(*c, component_dir, port);
    target.drill = false;
    target.recover = true;
    target.to_time = pg_time;
    target.start = o.start;
    target.delta = delta_ok;
    target.port = port;
    const std::vector<std::string> args = kind->RestoreArgs(*app, *c, id, target);

    jc["repository"] = chosen.repo->name;
    jc["snapshot_id"] = id;
    jc["snapshot_time"] = FormatTimeRfc3339(snap.time_ns);
    jc["target"] = target.dir;
    std::string range;
    std::string recovery_point;
    if (c->kind == "mariadb") {
      auto get = [&snap](const char* k) {
        auto it = snap.source_info.find(k);
        return it == snap.source_info.end() ? std::string("?") : it->second;
      };
      range = fmt::format("binlogs from {}:{} (the dump's position) replayed up to {} (whole "
                          "seconds)",
                          get("binlog_file"), get("binlog_pos"), pg_time.substr(0, 19));
      jc["binlog_from"] = get("binlog_file") + ":" + get("binlog_pos");
      jc["backup_end"] = FormatTimeRfc3339(point);
      recovery_point = pg_time.substr(0, 19) + " UTC";
      jc["recovery_point"] = recovery_point;
      jc["recovery_point_basis"] = "target time, rounded down to the second";
    } else if (is_pg) {
      auto get = [&snap](const char* k) {
        auto it = snap.source_info.find(k);
        return it == snap.source_info.end() ? std::string("?") : it->second;
      };
      range = fmt::format("WAL from {} (the base backup's start, timeline {}) replayed up to {}",
                          get("start_lsn"), get("timeline"), pg_time);
      jc["wal_from_lsn"] = get("start_lsn");
      jc["backup_end"] = FormatTimeRfc3339(point);
      recovery_point = FormatTimeRfc3339(*t_ns);
      jc["recovery_point"] = recovery_point;
      jc["recovery_point_basis"] = "target time (recovery_target_time)";
    } else {
      recovery_point = FormatTimeRfc3339(point);
      jc["recovery_point"] = recovery_point;
      jc["recovery_point_basis"] = "snapshot time";
      jc["before_target_seconds"] = static_cast<double>(*t_ns - point) / 1e9;
    }
    if (!range.empty()) jc["log_range"] = range;
    jc["command"] = ShellJoin(args);

    Say(global, fmt::format("{} ({}): snapshot {} of {} from {} -> {}", c->name, c->kind,
                            id.substr(0, 8), FormatLocalTime(snap.time_ns), chosen.repo->name,
                            target.dir));
    if (!range.empty()) Say(global, "  " + range);
    if (o.dry_run) {
      Say(global, "  would run: lifeboat " + ShellJoin(args));
      jc["ok"] = true;
      jc["dry_run"] = true;
      jcomponents.push_back(jc);
      continue;
    }
    Status made = MakeTraversableDir(component_dir);
    if (!made.ok()) {
      fail(made.message());
      continue;
    }
    if (Status ready = kind->BeforeRestore(*c, target); !ready.ok()) {
      (void)kind->Stop(*c, target);  // whatever did start
      fail(ready.message());
      continue;
    }
    ChildRun restore = RunLifeboatOn(*chosen.repo, args);
    // A server started for the restore (mariadb) is stopped; its data stays.
    Status stopped = kind->Stop(*c, target);
    if (!restore.ok()) {
      fail("restore failed: " + restore.error);
      continue;
    }
    if (!stopped.ok()) {
      fail("restored, but " + stopped.message());
      continue;
    }
    if (is_pg && o.start && restore.summary.is_object()) {
      std::string last = restore.summary.value("last_replay_time", "");
      if (!last.empty()) {
        recovery_point = last;
        jc["recovery_point"] = last;
        jc["recovery_point_basis"] = "last replayed transaction";
      }
      jc["recovered_lsn"] = restore.summary.value("recovered_lsn", "");
      jc["port"] = port;
    }
    jc["ok"] = true;
    jcomponents.push_back(jc);
    if (global.json) {
      nlohmann::json item = jc;
      item["message_type"] = "recover_item";
      PrintJson(item);
    }
    if (is_pg) {
      Say(global, "  recovery point: " + recovery_point +
                      (jc.value("recovery_point_basis", "") == "last replayed transaction"
                           ? " (the last transaction replayed)"
                           : " (the target; the last transaction replayed is the last one "
                             "committed before it)"));
      if (o.start) {
        Say(global, fmt::format("  running on 127.0.0.1:{}; stop it with: {}", port,
                                ShellJoin({PostgresBinDir(*c) + "/pg_ctl", "-D", target.dir,
                                           "stop"})));
      } else {
        Say(global, "  not started; start it (as the postgres user) with:");
        Say(global, "    " + ShellJoin({PostgresBinDir(*c) + "/pg_ctl", "-D", target.dir, "-l",
                                        target.dir + "/recover.log", "-o", "-p PORT", "start"}) +
                        "   # replays WAL up to the target, then promotes");
      }
    } else if (c->kind == "mariadb") {
      Say(global, "  recovery point: " + recovery_point + "; the server is stopped, start it with:");
      Say(global, "    " + ShellJoin({"mariadbd", "--no-defaults", "--datadir=" + target.dir + "/data",
                                      "--socket=" + target.dir + "/mysqld.sock", "--port=3306"}));
    } else {
      Say(global, fmt::format("  recovery point: {} ({} before the target)",
                              FormatLocalTime(point), Ago(*t_ns - point)));
    }
  }
  if (global.json) {
    PrintJson({{"message_type", "summary"},
               {"app", app->app_name},
               {"to_time", FormatTimeRfc3339(*t_ns)},
               {"target", root},
               {"dry_run", o.dry_run},
               {"ok", all_ok},
               {"failed", failed},
               {"components", jcomponents}});
  } else if (!all_ok) {
    std::string names;
    for (const std::string& n : failed) names += (names.empty() ? "" : ", ") + n;
    std::cerr << "lifeboat: recover: " << failed.size() << " of " << selected->size()
              << " components failed (" << names << "); the others were recovered\n";
  } else {
    Say(global, fmt::format("{} components {} to {}", selected->size(),
                            o.dry_run ? "would be recovered" : "recovered",
                            FormatTimeRfc3339(*t_ns)));
  }
  return all_ok ? kExitOk : kExitFatal;
}

}  // namespace

void RegisterRecover(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<RecoverOpts>();
  CLI::App* cmd = app.add_subcommand(
      "recover",
      "bring the application (lifeboat.toml) back to one moment: databases to --to-time, the "
      "others from their newest snapshot at or before it, each into ROOT/NAME");
  cmd->add_option("components", o->components, "components to recover (default: all)");
  cmd->add_option("--to-time", o->to_time,
                  "the moment, 'YYYY-MM-DD HH:MM:SS[.frac][Z|+HH:MM]' (no zone: UTC)")
      ->required();
  cmd->add_option("-t,--target", o->target, "root folder; each component goes to ROOT/NAME")
      ->required();
  cmd->add_option("--config", o->config,
                  "the application file (default: LIFEBOAT_CONFIG, else ./lifeboat.toml)");
  cmd->add_flag("-n,--dry-run", o->dry_run, "say what would be restored, restore nothing");
  cmd->add_flag("--start", o->start,
                "start each recovered PostgreSQL server on a free 127.0.0.1 port and wait until "
                "it reached the target");
  cmd->add_flag("--delta", o->delta,
                "files and postgres: restore over an existing ROOT/NAME, rewriting what differs");
  cmd->callback(
      [&global, o, selected] { *selected = [&global, o] { return RunRecover(global, *o); }; });
}

}  // namespace lifeboat
