// How each kind of component (lifeboat.toml [[component]] kind) is backed
// up, restored and verified, expressed as lifeboat's own commands. `run`,
// `drill` and `runbook` all go through this one interface, so the commands
// the runbook prints are exactly the ones a drill has executed.
//
// Every kind the configuration accepts has an implementation (files,
// postgres, mariadb, sqlite, redis, git, command); a kind without one has
// no entry: FindComponentKind returns nullptr and callers
// report UnsupportedKind(). Adding a kind = one class + one line in
// FindComponentKind (component_kind.cc).
//
// Verify entries per kind: postgres = SQL that must return true (psql);
// mariadb = SQL that must return 1 (the `mariadb` client);
// files, sqlite, git, command = shell commands where {restored} is the
// restored root / database file / repository / output file; redis = shell
// commands where {port} is the throw-away server's port and {restored} its
// directory (holding dump.rdb).
//
// Thread-safety: the kinds are stateless singletons; Verify/Stop run child
// processes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "appconfig/app_config.h"
#include "base/status.h"

namespace lifeboat {

// Where and how one component is restored.
struct RestoreTarget {
  // files: the restore root (snapshot paths are recreated below it);
  // postgres: the new data directory.
  std::string dir;
  bool drill = false;  // a throw-away copy (postgres: started, not archiving)
  int port = 0;        // postgres, redis: the port the restored server listens on
  // `recover --to-time`: a new copy next to nothing live (no
  // --allow-existing/--force), postgres recovered to `to_time` (a
  // PostgreSQL timestamptz, "YYYY-MM-DD HH:MM:SS.ffffff+00") and started
  // only when `start`; `delta` where the restore supports it.
  bool recover = false;
  std::string to_time;
  bool start = false;
  bool delta = false;
};

// One verify entry and what came of it.
struct CheckResult {
  std::string check;   // as written in lifeboat.toml
  bool ok = false;
  std::string detail;  // output or error, one line, shortened
};

class ComponentKind {
 public:
  virtual ~ComponentKind() = default;
  virtual std::string_view name() const = 0;
  // lifeboat arguments (after the repository options) that back the
  // component up now into a snapshot tagged with ComponentTags().
  virtual std::vector<std::string> BackupArgs(const AppConfig& app,
                                              const ComponentConfig& component) const = 0;
  // lifeboat arguments (after the repository options) that restore
  // `snapshot` (an id, or "latest" = the newest with the component's tags).
  virtual std::vector<std::string> RestoreArgs(const AppConfig& app,
                                               const ComponentConfig& component,
                                               const std::string& snapshot,
                                               const RestoreTarget& target) const = 0;
  // Where a drill restores into, below the run's sandbox directory.
  virtual RestoreTarget DrillTarget(const ComponentConfig& component,
                                    const std::string& component_dir, int port) const = 0;
  // Whether the kind needs a free port for a drill (a database server).
  virtual bool NeedsPort() const { return false; }
  // Runs every verify entry against a restored component; one result each.
  virtual std::vector<CheckResult> Verify(const ComponentConfig& component,
                                          const RestoreTarget& target) const = 0;
  // Called by drill and recover before the restore: starts what the restore
  // loads into (mariadb: a throw-away mariadbd on target.port with its data
  // directory in target.dir).
  virtual Status BeforeRestore(const ComponentConfig& component, const RestoreTarget& target) const;
  // Called by drill after a successful restore, before Verify: starts what
  // the checks need (redis: a throw-away redis-server on target.port).
  virtual Status AfterRestore(const ComponentConfig& component, const RestoreTarget& target) const;
  // Stops what the restore started (a database server); Ok when nothing.
  virtual Status Stop(const ComponentConfig& component, const RestoreTarget& target) const;
  // Runbook: what to do after the restore command (start, check), Markdown
  // lines; may be empty.
  virtual std::vector<std::string> RunbookAfterRestore(const ComponentConfig& component,
                                                       const RestoreTarget& target) const;
};

// nullptr when the kind has no implementation yet.
const ComponentKind* FindComponentKind(std::string_view kind);

// kUnsupported: "component 'NAME': kind KIND is not supported by run/drill yet".
Status UnsupportedKind(const ComponentConfig& component);

// The tags that mark a component's snapshots: {"app=APP", "component=NAME"}.
std::vector<std::string> ComponentTags(const AppConfig& app, const ComponentConfig& component);
// The same as one --tag value: "app=APP,component=NAME".
std::string ComponentTagFilter(const AppConfig& app, const ComponentConfig& component);

// Global lifeboat options selecting a configured repository: --repo URL,
// --password-file F or --password-command C, -o KEY=VALUE for each option.
std::vector<std::string> RepositoryArgs(const RepositoryConfig& repo);

// `command` with every "{restored}" replaced by `root`, shell-quoted.
std::string SubstituteRestored(const std::string& command, const std::string& root);

// `command` with "{restored}" replaced by `root` and "{port}" by `port`
// (when port > 0), both shell-quoted.
std::string SubstitutePlaceholders(const std::string& command, const std::string& root, int port);

// Runs each entry of `checks` with /bin/sh after SubstitutePlaceholders;
// ok = exit status 0. One result per entry.
std::vector<CheckResult> RunShellChecks(const std::vector<std::string>& checks,
                                        const std::string& root, int port);

// PostgreSQL programs for a component: its pgbin, else $PGBIN, else
// /usr/lib/postgresql/15/bin.
std::string PostgresBinDir(const ComponentConfig& component);

}  // namespace lifeboat
