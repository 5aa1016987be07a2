// lifeboat backup mariadb: a consistent logical backup of a MariaDB/MySQL
// server (mariadb-dump --single-transaction --master-data=2 --routines
// --events --triggers), its output streamed into a new snapshot (source
// "mariadb", one file "mariadb-dump.sql") without a local copy. The binlog
// position the dump is consistent with, read from the dump's header, goes
// into source_info; restore mariadb replays archived binlogs from there.
// A dump that fails (non-zero exit, or no "-- Dump completed" trailer) saves
// no snapshot.
#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>

#include "archiver/tree_ingest.h"
#include "cli/commands.h"
#include "cli/mariadb_options.h"
#include "cli/progress.h"
#include "mariadb/dump_header.h"
#include "repo/lock.h"

namespace lifeboat {
namespace {

constexpr const char* kDumpFile = "mariadb-dump.sql";

struct BackupMariaDbOpts {
  MariaDbCliOptions conn;
  std::vector<std::string> databases;
  std::vector<std::string> tags;
  std::string hostname;
};

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Runs the dump with its stdout into `ingest`, watching the header.
Status StreamDump(const ClientEnv& env, const std::vector<std::string>& argv, TreeIngest& ingest,
                  DumpScanner* scanner, int64_t mtime_ns) {
  int fds[2];
  LB_RETURN_IF_ERROR(MakePipe(fds));
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  ChildSpec spec;
  spec.argv = argv;
  spec.stdout_fd = write_end.get();
  spec.stderr_path = env.dir() + "/dump.err";
  LB_ASSIGN_OR_RETURN(auto child, Child::Spawn(spec));
  write_end.Close();

  NodeMeta meta;
  meta.mode = 0600;
  meta.uid = geteuid();
  meta.gid = getegid();
  meta.mtime_ns = mtime_ns;
  Status s = ingest.BeginFile(kDumpFile, meta);
  std::vector<uint8_t> buf(1 << 20);
  while (s.ok()) {
    const ssize_t n = ::read(read_end.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) {
        if (Interrupted()) s = Status(Code::kCancelled, "interrupted");
        continue;
      }
      s = ErrnoStatus(errno, "unable to read the dump");
      break;
    }
    if (n == 0) break;
    const ByteView piece(buf.data(), static_cast<size_t>(n));
    scanner->Feed(piece);
    s = ingest.Write(piece);
    if (s.ok() && Interrupted()) s = Status(Code::kCancelled, "interrupted");
  }
  if (!s.ok()) {
    child->Terminate();
    child->Wait();
    return s;
  }
  read_end.Close();
  const int rc = child->Wait();
  scanner->Finish();
  if (rc != 0) {
    return Status(Code::kIoError,
                  fmt::format("{} failed (exit {}): {}", argv[0], rc, TailOfFile(spec.stderr_path)),
                  "no snapshot was saved; check the connection options, the password and the "
                  "user's privileges (SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, RELOAD, "
                  "and REPLICA MONITOR or BINLOG MONITOR for the binlog position)");
  }
  if (!scanner->info().completed) {
    return Status(Code::kIoError,
                  argv[0] +
                      " ended without its '-- Dump completed' trailer: the dump is "
                      "incomplete",
                  "no snapshot was saved; see the server's error log");
  }
  return ingest.EndFile();
}

int RunBackupMariaDb(const GlobalOptions& global, const BackupMariaDbOpts& o) {
  const int64_t start_ns = NowNs();
  mallopt(M_MMAP_THRESHOLD, 256 << 10);
  for (const std::string& db : o.databases) {
    if (db.empty() || db[0] == '-') {
      return ReportError(global,
                         InvalidArgument("--database wants a database name, got '" + db + "'"));
    }
  }
  auto conn = ResolveMariaDbConnection(o.conn);
  if (!conn.ok()) return ReportError(global, conn.status());
  auto env_or = ClientEnv::Create(*conn);
  if (!env_or.ok()) return ReportError(global, env_or.status());
  const ClientEnv& env = **env_or;
  const std::string server = conn->Describe();

  // The server first: unreachable or a wrong password fails before the
  // repository is opened and locked.
  auto answer = env.Query("SELECT @@server_id, @@log_bin, @@version, @@hostname",
                          "read the server's identity");
  if (!answer.ok()) return ReportError(global, answer.status());
  auto rows = ParseRows(*answer);
  if (rows.size() != 1 || rows[0].size() != 4) {
    return ReportError(global,
                       IoError("unexpected answer from " + server + " to SELECT @@server_id"));
  }
  const std::string server_id = rows[0][0];
  const bool log_bin = rows[0][1] == "1";
  const std::string version = rows[0][2];
  const std::string server_host = rows[0][3];
  auto tool = FindTool({"mariadb-dump", "mysqldump"});
  if (!tool.ok()) return ReportError(global, tool.status());

  std::vector<std::string> argv = {*tool,        env.DefaultsArg(), "--single-transaction",
                                   "--routines", "--events",        "--triggers",
                                   "--hex-blob"};
  if (log_bin) argv.push_back("--master-data=2");
  if (o.databases.empty()) {
    argv.push_back("--all-databases");
  } else {
    argv.push_back("--databases");
    argv.insert(argv.end(), o.databases.begin(), o.databases.end());
  }

  auto repo_or = OpenRepository(global);
  if (!repo_or.ok()) return ReportError(global, repo_or.status());
  Repository& repo = **repo_or;
  auto lock = RepoLock::Acquire(repo, false);
  if (!lock.ok()) return ReportError(global, lock.status());
  Status loaded = repo.LoadIndex();
  if (!loaded.ok()) return ReportError(global, loaded.WithContext("unable to load the index"));
  (void)repo.AdoptUnindexedPacks();

  const std::string host = o.hostname.empty() ? LocalHostname() : o.hostname;
  auto previous = repo.FindSnapshot("latest", [&](const Snapshot& s) {
    return s.source == "mariadb" && s.hostname == host && s.paths == std::vector{server};
  });
  if (!previous.ok() && previous.status().code() != Code::kNotFound) {
    return ReportError(global, previous.status());
  }
  const std::string databases = o.databases.empty() ? "all" : Join(o.databases, ",");
  Say(global, fmt::format("logical backup of {} (MariaDB {}, server_id {}, databases: {})", server,
                          version, server_id, databases));
  if (!log_bin) {
    Say(global,
        "warning: binary logging is off on this server: the backup works, but "
        "point-in-time recovery from it is impossible (start the server with --log-bin)");
  }

  auto t0 = std::chrono::steady_clock::now();
  TreeIngest ingest(repo);
  DumpScanner scanner;
  InstallInterruptHandler();
  Status streamed;
  {
    ProgressReporter reporter(global, "backup", StreamBackupSampler(ingest.progress()),
                              [&ingest] { ingest.Cancel(); });
    streamed = StreamDump(env, argv, ingest, &scanner, start_ns);
  }
  if (!streamed.ok()) return ReportError(global, streamed);
  auto result = ingest.Finish();
  if (!result.ok()) return ReportError(global, result.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const DumpInfo& info = scanner.info();
  Snapshot snap;
  snap.time_ns = start_ns;
  snap.hostname = host;
  snap.username = LocalUsername();
  snap.uid = geteuid();
  snap.gid = getegid();
  snap.paths = {server};
  snap.tags = SplitTags(o.tags);
  snap.tree = result->tree;
  if (previous.ok()) snap.parent = previous->id;
  snap.kind = BackupKind::kFull;
  snap.source = "mariadb";
  auto& si = snap.source_info;
  si["server"] = server;
  si["server_hostname"] = server_host;
  si["server_id"] = server_id;
  si["server_version"] = info.server_version.empty() ? version : info.server_version;
  si["databases"] = databases;
  si["dump_file"] = kDumpFile;
  si["log_bin"] = log_bin ? "on" : "off";
  if (!info.binlog_file.empty()) {
    si["binlog_file"] = info.binlog_file;
    si["binlog_pos"] = info.binlog_pos;
  }
  if (!info.gtid_pos.empty()) si["gtid_pos"] = info.gtid_pos;
  const bool pitr = log_bin && !info.binlog_file.empty();
  si["pitr"] = pitr ? "possible" : "impossible";
  snap.program_version = std::string("lifeboat ") + kLifeboatVersion;
  snap.summary = result->summary;
  snap.summary.bytes_added_stored = repo.write_stats().bytes_added_stored;
  snap.summary.backup_start_ns = start_ns;
  snap.summary.backup_end_ns = NowNs();
  snap.summary.duration_seconds = seconds;
  auto id = repo.SaveSnapshot(snap);
  if (!id.ok()) return ReportError(global, id.status().WithContext("unable to save the snapshot"));

  const SnapshotSummary& s = snap.summary;
  if (global.json) {
    nlohmann::json j = {{"message_type", "summary"},
                        {"snapshot_id", id->Hex()},
                        {"source", "mariadb"},
                        {"server", server},
                        {"data_added", s.bytes_added},
                        {"data_added_stored", s.bytes_added_stored},
                        {"total_bytes_processed", s.bytes_total},
                        {"total_duration", seconds},
                        {"source_info", si}};
    if (snap.parent) j["parent"] = snap.parent->Hex();
    PrintJson(j);
  } else {
    Say(global, "");
    if (pitr) {
      Say(global, fmt::format("binlog position: {}:{}{} (point-in-time recovery replays archived "
                              "binlogs from here: lifeboat mariadb archive-binlogs)",
                              info.binlog_file, info.binlog_pos,
                              info.gtid_pos.empty() ? "" : ", GTID " + info.gtid_pos));
    } else if (log_bin) {
      Say(global,
          "warning: the dump records no binlog position: point-in-time recovery from it "
          "is impossible");
    } else {
      Say(global,
          "binlog position: none (binary logging is off): point-in-time recovery is "
          "impossible");
    }
    Say(global, fmt::format("Added to the repository: {} ({} stored)", FormatBytes(s.bytes_added),
                            FormatBytes(s.bytes_added_stored)));
    Say(global, fmt::format("dumped {} in {}", FormatBytes(s.bytes_total), FormatSeconds(seconds)));
    Say(global, "snapshot " + id->Short() + " saved");
  }
  return kExitOk;
}

}  // namespace

CLI::App* RegisterBackupMariaDb(CLI::App& backup, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<BackupMariaDbOpts>();
  CLI::App* cmd = backup.add_subcommand(
      "mariadb",
      "consistent logical backup (mariadb-dump --single-transaction) of a MariaDB/MySQL server, "
      "recording its binlog position; a path named 'mariadb' is backed up as ./mariadb");
  AddMariaDbConnectionOptions(cmd, &o->conn);
  cmd->add_option("--database", o->databases,
                  "back up only this database (repeatable; default: all databases)");
  cmd->add_option("--tag", o->tags, "add tags to the snapshot (repeatable, or comma-separated)");
  cmd->add_option("--hostname", o->hostname, "hostname recorded in the snapshot");
  cmd->callback([&global, o, selected] {
    *selected = [&global, o] { return RunBackupMariaDb(global, *o); };
  });
  return cmd;
}

}  // namespace lifeboat
