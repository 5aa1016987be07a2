// Shared by the commands over lifeboat.toml (run, drill, status, runbook):
// finding and loading the file, choosing components, running lifeboat's own
// subcommands against a configured repository as child processes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/process.h"
#include "appconfig/app_config.h"
#include "cli/global.h"
#include "repo/repository.h"

namespace lifeboat {

// --config, else LIFEBOAT_CONFIG, else ./lifeboat.toml; every config error
// is in the Status message (one per line).
Result<AppConfig> LoadAppConfigForCli(const std::string& flag);

// The components named (all when `names` is empty), in file order or in
// restore order. kNotFound for an unknown name.
Result<std::vector<const ComponentConfig*>> SelectComponents(const AppConfig& app,
                                                             const std::vector<std::string>& names,
                                                             bool restore_order);

// The outcome of one `lifeboat ... --json SUBCOMMAND` child.
struct ChildRun {
  ProcessResult process;
  nlohmann::json summary;  // its last summary object on stdout (null when none)
  std::string error;       // its error message (from its JSON error line), else the last line
  bool ok() const { return process.exit_code == 0; }
};

// Runs this lifeboat binary with the repository's options, --json, and
// `args`. Failure to start is an error in ChildRun.error (exit_code -1).
ChildRun RunLifeboatOn(const RepositoryConfig& repo, const std::vector<std::string>& args);

// The newest snapshot carrying all `tags` (kNotFound when none).
Result<SnapshotEntry> NewestTagged(Repository& repo, const std::vector<std::string>& tags);

// A port nobody listens on right now (127.0.0.1).
Result<int> FreeLoopbackPort();

// Creates `path` and its parents; `path` itself gets mode 0711: traversable
// (a database server restored below it runs as its own user when we are
// root) but not listable.
Status MakeTraversableDir(const std::string& path);

}  // namespace lifeboat
