#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/global.h"
#include "policy/duration.h"

namespace lifeboat {
namespace {

// As in restic, each occurrence of a repeatable option takes one value:
// "--tag a /srv" must not swallow /srv.
void OneValuePerOccurrence(CLI::App* app) {
  for (CLI::Option* opt : app->get_options()) {
    if (!opt->get_positional()) opt->allow_extra_args(false);
  }
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
    OneValuePerOccurrence(sub);
  }
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"lifeboat: deduplicated, encrypted, verifiable backups for web applications"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", std::string("lifeboat ") + kLifeboatVersion);
  GlobalOptions global;
  app.add_option("-r,--repo", global.repo, "repository location (LIFEBOAT_REPOSITORY)")
      ->envname("LIFEBOAT_REPOSITORY");
  app.add_option("-o,--option", global.options,
                 "storage setting KEY=VALUE, repeatable (s3.region=..., sftp.key=...)")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
  app.add_option("--password-file", global.password_file,
                 "read the password from a file (LIFEBOAT_PASSWORD_FILE)")
      ->envname("LIFEBOAT_PASSWORD_FILE");
  app.add_option("--password-command", global.password_command,
                 "run a command and read the password from its output "
                 "(LIFEBOAT_PASSWORD_COMMAND)")
      ->envname("LIFEBOAT_PASSWORD_COMMAND");
  app.add_flag("--append-only", global.append_only,
               "never remove or overwrite repository data; forget and prune refuse "
               "(LIFEBOAT_APPEND_ONLY=1)")
      ->envname("LIFEBOAT_APPEND_ONLY");
  app.add_flag("--no-cache", global.no_cache,
               "do not use the local metadata cache for a remote repository");
  app.add_option("--cache-dir", global.cache_dir,
                 "where the metadata cache lives (LIFEBOAT_CACHE_DIR; default "
                 "$XDG_CACHE_HOME/lifeboat or ~/.cache/lifeboat)")
      ->envname("LIFEBOAT_CACHE_DIR");
  app.add_option("--retry-lock", global.retry_lock,
                 "when the repository is locked by another process, keep trying this long "
                 "(e.g. 30s, 10m; LIFEBOAT_RETRY_LOCK; default: fail at once)")
      ->envname("LIFEBOAT_RETRY_LOCK")
      ->type_name("DURATION");
  app.add_flag("--json", global.json, "machine-readable output");
  app.add_flag("-q,--quiet", global.quiet, "print only errors");
  app.add_flag("-v,--verbose", global.verbose, "more output (repeatable)");

  CommandRunner selected;
  for (CommandRegistrar reg : AllCommands()) reg(app, global, &selected);
  OneValuePerOccurrence(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "lifeboat: " << e.what() << "\n";
    std::cerr << "hint: run 'lifeboat --help' or 'lifeboat COMMAND --help'\n";
    return kExitFatal;
  }
  if (!selected) return kExitFatal;
  if (!global.retry_lock.empty()) {
    auto seconds = ParseDurationSeconds(global.retry_lock);
    if (!seconds.ok()) {
      std::cerr << "lifeboat: --retry-lock: " << seconds.status().message() << "\n";
      return kExitFatal;
    }
    global.retry_lock_seconds = *seconds;
    // lifeboat's own children (run's backups and copies, a drill's
    // restores, the agent's jobs) wait as long.
    setenv("LIFEBOAT_RETRY_LOCK", global.retry_lock.c_str(), 1);
  }
  return selected();
}

}  // namespace lifeboat
