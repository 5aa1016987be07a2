// Shared plumbing for the commands: global options, password resolution,
// opening the repository, output helpers (human text vs --json), exit codes.
// Only cli/ prints or decides exit codes; the modules below return Status.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "repo/repository.h"

namespace lifeboat {
struct RepositoryConfig;
}

namespace CLI {
class App;
}

namespace lifeboat {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFatal = 1;
inline constexpr int kExitIncomplete = 3;  // backup finished, some files unreadable

struct GlobalOptions {
  std::string repo;                  // --repo / -r / LIFEBOAT_REPOSITORY
  std::vector<std::string> options;  // -o KEY=VALUE, for the storage (s3.*, sftp.*)
  std::string password_file;         // --password-file / LIFEBOAT_PASSWORD_FILE
  std::string password_command;      // --password-command / LIFEBOAT_PASSWORD_COMMAND
  // --append-only / LIFEBOAT_APPEND_ONLY=1: the storage is wrapped in an
  // AppendOnlyBackend; forget and prune refuse to run.
  bool append_only = false;
  // The local metadata cache for remote repositories (src/cache):
  // --no-cache turns it off; --cache-dir / LIFEBOAT_CACHE_DIR moves it from
  // $XDG_CACHE_HOME/lifeboat (~/.cache/lifeboat).
  bool no_cache = false;
  std::string cache_dir;
  // --retry-lock / LIFEBOAT_RETRY_LOCK ("5m"): how long to keep trying when
  // another process holds a conflicting repository lock; 0: fail at once.
  std::string retry_lock;
  int64_t retry_lock_seconds = 0;  // parsed from retry_lock
  bool json = false;
  bool quiet = false;
  int verbose = 0;
};

// A command's body; returns the process exit code.
using CommandRunner = std::function<int()>;

// Each cmd_<verb>.cc defines one of these: adds its subcommand to `app`; when
// the subcommand is chosen its callback stores the body in *selected.
using CommandRegistrar = void (*)(CLI::App& app, GlobalOptions& global, CommandRunner* selected);

// The password from (in order) --password-file, --password-command,
// LIFEBOAT_PASSWORD, or a prompt on the terminal without echo (asked twice
// when `confirm`). Never logged or put in error messages.
// Opens the storage of global.repo with the -o settings (wrapped in an
// AppendOnlyBackend with --append-only).
Result<std::unique_ptr<Backend>> OpenRepositoryStorage(const GlobalOptions& global);
// The same for another location (lifeboat status --repo A --repo B).
Result<std::unique_ptr<Backend>> OpenStorageAt(const GlobalOptions& global,
                                               const std::string& repo);

// The media kind assumed for a location whose config does not name one:
// "object" for s3: locations, "disk" otherwise (local paths, sftp).
std::string DefaultMediaFor(const std::string& repo);

// kPermissionDenied naming `command` when --append-only is in effect.
Status RefuseInAppendOnlyMode(const GlobalOptions& global, std::string_view command);

Result<std::string> GetPassword(const GlobalOptions& global, bool confirm,
                                std::string_view prompt = "enter password for repository: ",
                                const char* env_name = "LIFEBOAT_PASSWORD");

// Asks on the terminal without echo (twice when `confirm`).
Result<std::string> PromptPassword(std::string_view prompt, bool confirm);

// Reads a secret from a file (trailing newline removed).
Result<std::string> ReadPasswordFile(const std::string& path);
// Runs a command through /bin/sh and takes its standard output.
Result<std::string> RunPasswordCommand(const std::string& command);

// The metadata cache's root directory (absolute): --cache-dir /
// LIFEBOAT_CACHE_DIR, else DefaultCacheRoot(); empty when there is none.
std::string CacheRoot(const GlobalOptions& global);

// Opens the repository named by the global options; fails with a hint when
// --repo is missing.
Result<std::unique_ptr<Repository>> OpenRepository(const GlobalOptions& global);

// Opens a repository described in lifeboat.toml: its URL, its own password
// source (password_file / password_command) and its options (as -o), with
// the cache settings of `global`. Errors name the repository.
Result<std::unique_ptr<Repository>> OpenConfiguredRepository(const GlobalOptions& global,
                                                             const RepositoryConfig& repo);

// Prints "lifeboat: <message>" (+ "hint: ...") to stderr, or a JSON error
// object with --json; returns kExitFatal.
int ReportError(const GlobalOptions& global, const Status& status);

// One problem with one item (a file that could not be read, restored or
// verified): a JSON line on stdout with --json, else "LABEL: PATH: MESSAGE" on
// stderr. Warnings are suppressed by --quiet, errors never.
void ReportItem(const GlobalOptions& global, std::string_view message_type, std::string_view label,
                const std::string& path, const std::string& message, bool is_warning = false);

// Human output goes to stdout unless --quiet or --json.
void Say(const GlobalOptions& global, const std::string& line);
void PrintJson(const nlohmann::json& value);  // one line to stdout

std::string FormatBytes(uint64_t bytes);                     // "1.50 GiB"
std::string FormatSeconds(double seconds);                   // "1m02s", "0.85s"
std::string FormatLocalTime(int64_t ns);                     // "2026-11-22 00:12:03"
std::string ShortPath(const std::string& path, size_t max);  // middle-elided
// --tag values, each possibly comma-separated: sorted, unique, no empties.
std::vector<std::string> SplitTags(const std::vector<std::string>& raw);

// Set by SIGINT/SIGTERM handlers installed by InstallInterruptHandler; a
// second such signal ends the process at once (the default action).
bool Interrupted();
const std::atomic<bool>& InterruptFlag();  // for RestorerOptions/ProcessOptions::stop
void InstallInterruptHandler();

// The source repository of `copy` and `init --from-repo` (--from-repo,
// --from-option, --from-password-file, --from-password-command; password
// also from LIFEBOAT_FROM_PASSWORD), described with GlobalOptions' fields.
void AddFromRepoOptions(CLI::App* cmd, GlobalOptions* from);
Result<std::unique_ptr<Repository>> OpenFromRepository(const GlobalOptions& from);

}  // namespace lifeboat
