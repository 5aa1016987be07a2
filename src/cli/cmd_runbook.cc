// lifeboat runbook [--config F] [--restore-root DIR] [--program PATH]: prints
// the application's recovery runbook in Markdown (app/runbook.h), with the
// durations of the last drill read from the newest "drill" snapshot in the
// first repository that can be opened.
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/drill_report.h"
#include "app/process.h"
#include "app/runbook.h"
#include "cli/app_support.h"
#include "cli/commands.h"

namespace lifeboat {
namespace {

struct RunbookOpts {
  std::string config;
  std::string restore_root = "/";
  std::string program;
};

int RunRunbook(const GlobalOptions& global, const RunbookOpts& o) {
  auto app = LoadAppConfigForCli(o.config);
  if (!app.ok()) return ReportError(global, app.status());
  RunbookOptions ro;
  ro.lifeboat = o.program.empty() ? SelfExecutable() : o.program;
  ro.restore_root = o.restore_root;
  ro.generated_ns = NowNs();
  for (const RepositoryConfig& rc : app->repositories) {
    auto repo = OpenConfiguredRepository(global, rc);
    if (!repo.ok()) {
      std::cerr << "lifeboat: " << repo.status().message() << "\n";
      continue;
    }
    auto drill = NewestTagged(**repo, {"app=" + app->app_name, kDrillTag});
    if (drill.ok()) {
      ro.last_drill = drill->snapshot.source_info;
      ro.last_drill_time_ns = drill->snapshot.time_ns;
    }
    break;
  }
  std::cout << BuildRunbook(*app, ro);
  return kExitOk;
}

}  // namespace

void RegisterRunbook(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<RunbookOpts>();
  CLI::App* cmd = app.add_subcommand(
      "runbook",
      "print the application's recovery runbook (Markdown): prerequisites, then per component "
      "in restore order the exact commands and the last drill's durations");
  cmd->add_option("--config", o->config,
                  "the application file (default: LIFEBOAT_CONFIG, else ./lifeboat.toml)");
  cmd->add_option("--restore-root", o->restore_root,
                  "restore files components below this folder (default /: their original "
                  "places); PostgreSQL into ROOT/var/lib/postgresql/lifeboat-NAME");
  cmd->add_option("--program", o->program,
                  "the lifeboat program to write in the commands (default: this binary's path)");
  cmd->callback(
      [&global, o, selected] { *selected = [&global, o] { return RunRunbook(global, *o); }; });
}

}  // namespace lifeboat
