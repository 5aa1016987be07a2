// lifeboat postgres archive-push PATH / archive-get WALFILE DEST: PostgreSQL's
// archive_command and restore_command (src/walarchive).
//
//   archive_command = 'lifeboat --repo R --password-file F postgres archive-push %p'
//   restore_command = 'lifeboat --repo R --password-file F postgres archive-get %f "%p"'
//
// PostgreSQL runs both with the data directory as the working directory; the
// cluster's system identifier comes from ./global/pg_control (or --pgdata,
// or --system-id). Exit codes: 0 done; archive-get exits 1 with one line
// when the file is not in the archive (PostgreSQL probes for files that may
// not exist) and 2 on any other failure; archive-push exits 1 on failure
// (PostgreSQL keeps the segment and retries). No repository lock is taken:
// WAL objects are write-once and prune does not touch them.
#include <CLI/CLI.hpp>
#include <charconv>
#include <iostream>

#include "cli/commands.h"
#include "walarchive/pg_control.h"
#include "walarchive/wal_archive.h"

namespace lifeboat {
namespace {

constexpr int kExitWalNotFound = 1;
constexpr int kExitWalError = 2;

struct PostgresOpts {
  std::string pgdata = ".";
  std::string system_id;  // decimal, overrides pg_control
  std::string path;       // archive-push: %p
  std::string wal_name;   // archive-get: %f
  std::string dest;       // archive-get: %p
};

Result<uint64_t> SystemId(const PostgresOpts& o) {
  if (o.system_id.empty()) return ReadSystemIdentifier(o.pgdata);
  uint64_t id = 0;
  const char* begin = o.system_id.data();
  const char* end = begin + o.system_id.size();
  auto [ptr, ec] = std::from_chars(begin, end, id);
  if (ec != std::errc() || ptr != end || id == 0) {
    return InvalidArgument("--system-id must be a positive decimal number, got '" + o.system_id +
                           "'");
  }
  return id;
}

int ArchivePush(const GlobalOptions& global, const PostgresOpts& o) {
  auto system_id = SystemId(o);
  if (!system_id.ok()) return ReportError(global, system_id.status());
  auto repo = OpenRepository(global);
  if (!repo.ok()) return ReportError(global, repo.status());
  auto outcome = PushWal(**repo, *system_id, o.path);
  if (!outcome.ok()) {
    return ReportError(global, outcome.status().WithContext("unable to archive " + o.path));
  }
  const bool stored = *outcome == PushOutcome::kStored;
  if (global.json) {
    PrintJson({{"message_type", "wal_pushed"},
               {"path", o.path},
               {"system_id", std::to_string(*system_id)},
               {"stored", stored}});
  } else if (global.verbose > 0) {
    Say(global, (stored ? "archived " : "already archived: ") + o.path);
  }
  return kExitOk;
}

int ArchiveGet(const GlobalOptions& global, const PostgresOpts& o) {
  auto fail = [&](const Status& s) {
    ReportError(global, s);
    return kExitWalError;
  };
  auto system_id = SystemId(o);
  if (!system_id.ok()) return fail(system_id.status());
  auto repo = OpenRepository(global);
  if (!repo.ok()) return fail(repo.status());
  Status s = GetWal(**repo, *system_id, o.wal_name, o.dest);
  if (s.code() == Code::kNotFound) {
    if (!global.quiet) std::cerr << "lifeboat: " << s.message() << "\n";
    return kExitWalNotFound;
  }
  if (!s.ok()) return fail(s);
  if (global.json) {
    PrintJson({{"message_type", "wal_restored"}, {"name", o.wal_name}, {"dest", o.dest}});
  } else if (global.verbose > 0) {
    Say(global, "restored " + o.wal_name + " to " + o.dest);
  }
  return kExitOk;
}

}  // namespace

void RegisterPostgres(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<PostgresOpts>();
  CLI::App* cmd = app.add_subcommand("postgres",
                                     "PostgreSQL WAL archiving (archive_command, "
                                     "restore_command)");
  cmd->require_subcommand(1);
  auto add_common = [o](CLI::App* sub) {
    sub->add_option("--pgdata", o->pgdata,
                    "the cluster's data directory, for its system identifier (default: the "
                    "working directory, as PostgreSQL runs the command)");
    sub->add_option("--system-id", o->system_id,
                    "the cluster's system identifier instead of reading global/pg_control");
  };
  CLI::App* push = cmd->add_subcommand(
      "archive-push", "archive one WAL file (archive_command = '... archive-push %p')");
  push->add_option("path", o->path, "the WAL file (%p, relative to the data directory)")
      ->required();
  add_common(push);
  push->callback(
      [&global, o, selected] { *selected = [&global, o] { return ArchivePush(global, *o); }; });
  CLI::App* get =
      cmd->add_subcommand("archive-get",
                          "restore one WAL file (restore_command = '... archive-get %f \"%p\"'); "
                          "exit 1 when it is not in the archive");
  get->add_option("walfile", o->wal_name, "the WAL file name (%f)")->required();
  get->add_option("dest", o->dest, "where to write it (%p)")->required();
  add_common(get);
  get->callback(
      [&global, o, selected] { *selected = [&global, o] { return ArchiveGet(global, *o); }; });
}

}  // namespace lifeboat
