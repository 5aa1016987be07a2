// lifeboat backup postgres: a physical base backup of the PostgreSQL server
// that libpq's environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSERVICE)
// points at, streamed into a new snapshot (source "postgres"). A path that is
// literally named "postgres" is backed up as files with `backup ./postgres`.
#include <malloc.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <iostream>

#include "archiver/tree_ingest.h"
#include "cli/commands.h"
#include "cli/pg_logical.h"
#include "cli/progress.h"
#include "model/time_format.h"
#include "postgres/pg_base_backup.h"
#include "repo/lock.h"

namespace lifeboat {
namespace {

struct BackupPostgresOpts {
  bool no_wal = false;
  bool fast = true;
  std::string label;
  std::string conninfo;
  std::vector<std::string> tags;
  std::string host;
  bool logical = false;
  std::string dbname;
};

int RunBackupPostgres(const GlobalOptions& global, const BackupPostgresOpts& o) {
  const int64_t start_ns = NowNs();
  mallopt(M_MMAP_THRESHOLD, 256 << 10);  // as file backups: chunk buffers come and go
  // The server first: an unreachable or too old server fails before the
  // repository is opened and locked.
  auto conn = PgReplicationConnection::Connect(o.conninfo);
  if (!conn.ok()) return ReportError(global, conn.status());
  auto system = (*conn)->IdentifySystem();
  if (!system.ok()) return ReportError(global, system.status());
  const std::string server = (*conn)->Describe();

  auto repo_or = OpenRepository(global);
  if (!repo_or.ok()) return ReportError(global, repo_or.status());
  Repository& repo = **repo_or;
  auto lock = RepoLock::Acquire(repo, false);
  if (!lock.ok()) return ReportError(global, lock.status());
  Status loaded = repo.LoadIndex();
  if (!loaded.ok()) return ReportError(global, loaded.WithContext("unable to load the index"));
  auto adopted = repo.AdoptUnindexedPacks();
  if (adopted.ok() && *adopted > 0) {
    Say(global, fmt::format("reusing {} pack(s) left by an interrupted backup", *adopted));
  }

  const std::string host = o.host.empty() ? LocalHostname() : o.host;
  auto previous = repo.FindSnapshot("latest", [&](const Snapshot& s) {
    return s.source == "postgres" && s.hostname == host && s.paths == std::vector{server};
  });
  if (!previous.ok() && previous.status().code() != Code::kNotFound) {
    return ReportError(global, previous.status());
  }

  BaseBackupOptions bopt;
  bopt.label = o.label.empty() ? "lifeboat " + FormatTimeRfc3339(start_ns) : o.label;
  bopt.fast_checkpoint = o.fast;
  bopt.include_wal = !o.no_wal;
  Say(global, fmt::format("base backup of {} (PostgreSQL {}, system {}, timeline {}){}", server,
                          system->server_version, system->system_identifier, system->timeline,
                          o.no_wal ? "; WAL from the archive" : ""));

  auto t0 = std::chrono::steady_clock::now();
  TreeIngest ingest(repo);
  PgBackupProgress pg_progress;
  InstallInterruptHandler();
  Result<PgBackupResult> result = Status(Code::kInternal, "not run");
  {
    ProgressReporter reporter(global, "backup",
                              StreamBackupSampler(ingest.progress(), &pg_progress.bytes_estimated),
                              [&ingest] { ingest.Cancel(); });
    result = RunPgBaseBackup(**conn, ingest, bopt, &pg_progress);
  }
  if (!result.ok()) return ReportError(global, result.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  Snapshot snap;
  snap.time_ns = start_ns;
  snap.hostname = host;
  snap.username = LocalUsername();
  snap.uid = geteuid();
  snap.gid = getegid();
  snap.paths = {server};
  snap.tags = SplitTags(o.tags);
  snap.tree = result->archive.tree;
  if (previous.ok()) snap.parent = previous->id;
  snap.kind = BackupKind::kFull;  // every byte is read; unchanged chunks are deduplicated
  snap.source = "postgres";
  snap.source_info = result->source_info;
  snap.program_version = std::string("lifeboat ") + kLifeboatVersion;
  snap.summary = result->archive.summary;
  snap.summary.bytes_added_stored = repo.write_stats().bytes_added_stored;
  snap.summary.backup_start_ns = start_ns;
  snap.summary.backup_end_ns = NowNs();
  snap.summary.duration_seconds = seconds;
  auto id = repo.SaveSnapshot(snap);
  if (!id.ok()) return ReportError(global, id.status().WithContext("unable to save the snapshot"));

  const SnapshotSummary& s = snap.summary;
  const auto& info = snap.source_info;
  auto get = [&info](const char* key) {
    auto it = info.find(key);
    return it == info.end() ? std::string() : it->second;
  };
  if (global.json) {
    nlohmann::json j = {{"message_type", "summary"},
                        {"snapshot_id", id->Hex()},
                        {"source", "postgres"},
                        {"server", server},
                        {"files_new", s.files_new},
                        {"dirs_new", s.dirs_new},
                        {"data_added", s.bytes_added},
                        {"data_added_stored", s.bytes_added_stored},
                        {"total_files_processed", s.files_total},
                        {"total_bytes_processed", s.bytes_total},
                        {"total_duration", seconds},
                        {"source_info", info}};
    if (snap.parent) j["parent"] = snap.parent->Hex();
    PrintJson(j);
  } else {
    Say(global, "");
    Say(global, fmt::format("WAL:         {} .. {} (timeline {}, {} .. {}){}", get("start_lsn"),
                            get("stop_lsn"), get("timeline"), get("start_wal_file"),
                            get("stop_wal_file"), o.no_wal ? ", not included" : ", included"));
    Say(global, fmt::format("Added to the repository: {} ({} stored)", FormatBytes(s.bytes_added),
                            FormatBytes(s.bytes_added_stored)));
    Say(global, "");
    Say(global, fmt::format("processed {} files, {} in {} ({}/s)", s.files_total,
                            FormatBytes(s.bytes_total), FormatSeconds(seconds),
                            FormatBytes(seconds > 0 ? static_cast<uint64_t>(s.bytes_total / seconds)
                                                    : 0)));
    Say(global, "snapshot " + id->Short() + " saved");
  }
  return kExitOk;
}

}  // namespace

CLI::App* RegisterBackupPostgres(CLI::App& backup, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<BackupPostgresOpts>();
  CLI::App* cmd = backup.add_subcommand(
      "postgres",
      "base backup of the PostgreSQL server that libpq's environment (PGHOST, PGPORT, PGUSER, "
      "PGSERVICE, ...) points at; a path named 'postgres' is backed up as ./postgres");
  cmd->add_flag("--no-wal", o->no_wal,
                "leave out the WAL written during the backup (restores then need the WAL "
                "archive)");
  cmd->add_flag("--fast,!--spread", o->fast,
                "start with a fast checkpoint (default) or a spread one (--spread)");
  cmd->add_option("--label", o->label, "backup label (default: 'lifeboat' and the time)");
  cmd->add_option("--conninfo", o->conninfo,
                  "libpq connection string or URI (better without a password: use PGPASSWORD "
                  "or ~/.pgpass)")
      ->envname("LIFEBOAT_PG_CONNINFO");
  cmd->add_option("--tag", o->tags, "add tags to the snapshot (repeatable, or comma-separated)");
  cmd->add_option("-H,--host", o->host, "hostname recorded in the snapshot");
  cmd->add_flag("--logical", o->logical,
                "a logical backup of one database (pg_dump custom format, streamed) instead of "
                "a base backup");
  cmd->add_option("--dbname", o->dbname, "with --logical: the database to dump");
  cmd->callback([&global, o, selected] {
    *selected = [&global, o] {
      if (o->logical) {
        if (!o->conninfo.empty() || o->no_wal || !o->label.empty()) {
          return ReportError(global, Status(Code::kInvalidArgument,
                                            "--conninfo, --no-wal and --label are for base "
                                            "backups, not --logical",
                                            "give the server through PGHOST, PGPORT, PGUSER, "
                                            "PGSERVICE"));
        }
        PgLogicalBackupOpts lo;
        lo.dbname = o->dbname;
        lo.tags = o->tags;
        lo.host = o->host;
        return RunBackupPostgresLogical(global, lo);
      }
      if (!o->dbname.empty()) {
        return ReportError(global, Status(Code::kInvalidArgument,
                                          "--dbname is for logical backups",
                                          "add --logical (a base backup copies every database)"));
      }
      return RunBackupPostgres(global, *o);
    };
  });
  return cmd;
}

}  // namespace lifeboat
