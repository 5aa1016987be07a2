// lifeboat.toml: one web application — its repositories, components, drills
// and alerts — as a validated value. See testdata/lifeboat.toml for a
// complete example; the keys are:
//
//   [app]           name
//   [[repository]]  name, url, password_file | password_command,
//                   media (disk|object|tape|cold; default object for s3:,
//                   else disk), site (default "onsite"), options (KEY =
//                   VALUE storage settings, as -o: s3.* for s3:, sftp.* for
//                   sftp:), retention (overrides the components' retention
//                   in this repository; no pitr_window)
//   [[component]]   name, kind (files|postgres|mariadb|sqlite|redis|git|
//                   command), rpo, rto, restore_order, retention (last,
//                   hourly, daily, weekly, monthly, yearly: counts >= 0;
//                   within: a retention duration like "1y6m"; pitr_window:
//                   an interval, postgres and mariadb only), verify (list of
//                   commands), repositories (names; default: all), schedule
//                   (pinned times, see schedule.h), and per kind:
//                     files:    paths (absolute), exclude (patterns)
//                     postgres: postgres = {host, port, user, dbname, pgbin}
//                     mariadb:  mariadb = {host, port, user, socket,
//                               defaults_file, bindir}
//                     sqlite:   sqlite = {path}
//                     redis:    redis = {host, port}
//                     git:      git = {path}
//                     command:  command = {run = [argv...], filename}
//                   change_alert = {enabled, factor, min_files, min_bytes}
//                   (any kind; see ChangeAlertSettings)
//   [drill]         every, sandbox, components (names; default: all)
//   [alerts]        command, webhook, repeat (the agent re-sends a lasting
//                   alert after this long; default 6h)
//
// Durations (rpo, rto, every, pitr_window) use the interval dialect of
// policy/duration.h: "30s", "5m", "1h30m", "7d", "2w".
//
// Secrets are never in the file: a `password` key is refused, and so are
// storage options that look like secrets; passwords come from
// password_file / password_command, storage credentials from the
// environment (AWS_*, ssh-agent).
//
// Every error names file, line, column and key path:
//   lifeboat.toml:14:1: component[0].rpo: invalid duration '5x' (expected e.g. 5m, 1h, 7d)
// Unknown keys are errors (with "did you mean" for close names).
//
// Thread-safety: value types and pure functions (LoadAppConfig and
// FindAppConfigPath read the filesystem).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appconfig/schedule.h"
#include "base/result.h"
#include "policy/retention.h"

namespace lifeboat {

// Retention of one component (or of one repository). Counts and `within`
// are RetentionPolicy's (forget semantics); pitr_window is how far back a
// database can be recovered to any point in time (WAL/binlog kept).
struct RetentionSpec {
  RetentionPolicy policy;
  int64_t pitr_window_seconds = 0;  // 0: not set
  bool declared = false;            // a retention table was present
};

struct RepositoryConfig {
  std::string name;
  std::string url;
  std::string password_file;  // exactly one of these two is set
  std::string password_command;
  std::string media;                           // disk | object | tape | cold
  std::string site;                            // "onsite" or anything else (= off-site)
  std::map<std::string, std::string> options;  // "s3.region" -> "eu-central-1"
  std::optional<RetentionSpec> retention;
  int line = 0;  // of its [[repository]] header
};

struct PostgresSettings {
  std::string host, user, dbname, pgbin;
  int port = 0;  // 0: not set (libpq's default)
};

struct MariadbSettings {
  std::string host, user, socket, defaults_file, bindir;
  int port = 0;
};

struct RedisSettings {
  std::string host;
  int port = 0;
};

struct CommandSettings {
  std::vector<std::string> run;  // argv, run without a shell
  std::string filename;          // name of the output in the snapshot
};

// `run`'s suspicious-change-rate alert: after a backup, the files changed
// or new and the bytes added are compared with the median of the
// component's previous snapshots; above max(factor x median, floor) fires a
// change_rate alert (app/change_rate.h).
struct ChangeAlertSettings {
  bool enabled = true;
  double factor = 10;              // 1 < factor <= 1e6
  int64_t min_files = 100;         // floor for files changed + new
  int64_t min_bytes = 1LL << 30;   // floor for bytes added (plaintext)
};

inline constexpr const char* kComponentKinds[] = {"files", "postgres", "mariadb", "sqlite",
                                                  "redis", "git",      "command"};

struct ComponentConfig {
  std::string name;
  std::string kind;
  int64_t rpo_seconds = 0;
  int64_t rto_seconds = 0;
  int restore_order = 0;  // 0: not set (restored after those with one, in file order)
  RetentionSpec retention;
  std::vector<std::string> verify;
  std::vector<std::string> repositories;  // names, in file order; never empty after parsing
  std::optional<PinnedSchedule> schedule;
  // Kind-specific; only the one matching `kind` is meaningful.
  std::vector<std::string> paths;    // files
  std::vector<std::string> exclude;  // files
  PostgresSettings postgres;
  MariadbSettings mariadb;
  RedisSettings redis;
  std::string path;  // sqlite database file, git repository
  CommandSettings command;
  ChangeAlertSettings change_alert;
  int line = 0;  // of its [[component]] header
};

struct DrillConfig {
  int64_t every_seconds = 0;
  std::string sandbox;
  std::vector<std::string> components;  // names; never empty after parsing
};

inline constexpr int64_t kDefaultAlertRepeatSeconds = 6 * 3600;

struct AlertsConfig {
  std::string command;
  std::string webhook;
  // The agent re-sends an alert whose condition stays bad after this long.
  int64_t repeat_seconds = kDefaultAlertRepeatSeconds;
};

struct AppConfig {
  std::string path;  // the file it came from, as given
  std::string app_name;
  std::vector<RepositoryConfig> repositories;
  std::vector<ComponentConfig> components;
  std::optional<DrillConfig> drill;
  std::optional<AlertsConfig> alerts;

  const RepositoryConfig* FindRepository(std::string_view name) const;
  const ComponentConfig* FindComponent(std::string_view name) const;
  // Components in restore order: those with a restore_order ascending, then
  // the others in file order.
  std::vector<const ComponentConfig*> InRestoreOrder() const;
};

// One problem found in the file.
struct ConfigError {
  std::string path;
  int line = 0;     // 1-based; 0 when unknown
  int column = 0;   // 1-based; 0 when unknown
  std::string key;  // "component[0].rpo"; empty for syntax errors
  std::string message;
  // "path:line:column: key: message"
  std::string ToString() const;
};

// Parses and validates `text`; `path` is used in messages only. Every
// problem is reported, not only the first: on failure the Status
// (kInvalidArgument) holds one ConfigError::ToString() per line (at most
// kMaxConfigErrors, then "... and N more"), and *errors (when given)
// receives them all.
inline constexpr size_t kMaxConfigErrors = 20;
Result<AppConfig> ParseAppConfig(std::string_view text, std::string_view path,
                                 std::vector<ConfigError>* errors = nullptr);

// Reads and parses a file (at most 1 MiB). Read failures: kNotFound /
// kIoError naming the path.
Result<AppConfig> LoadAppConfig(const std::string& path,
                                std::vector<ConfigError>* errors = nullptr);

// Which file to use: `flag` (--config) when not empty, else `env`
// (LIFEBOAT_CONFIG) when set and not empty, else "lifeboat.toml" in the
// current directory when it exists. kNotFound with a hint otherwise.
inline constexpr const char* kDefaultConfigName = "lifeboat.toml";
Result<std::string> FindAppConfigPath(const std::string& flag, const char* env);

}  // namespace lifeboat
