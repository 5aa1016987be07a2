// lifeboat backup sqlite|redis|git: application data other than files and
// PostgreSQL, each stored as one file in a new snapshot through TreeIngest
// (source "sqlite", "redis", "git"; source_info describes what was read and
// never holds a secret). Paths literally named like a source are backed up
// as files with `backup ./sqlite`.
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fmt/format.h>
#include <functional>
#include <map>

#include "archiver/archiver.h"
#include "archiver/tree_ingest.h"
#include "cli/commands.h"
#include "cli/pg_logical.h"
#include "cli/progress.h"
#include "repo/lock.h"
#include "sources/child_process.h"
#include "sources/git_source.h"
#include "sources/redis_source.h"
#include "sources/sqlite_source.h"
#include "sources/stream_ingest.h"

namespace lifeboat {
namespace {

using SourceInfo = std::map<std::string, std::string>;

struct SourceBackupSpec {
  std::string source;  // snapshot source kind
  std::string label;   // what is backed up, for messages ("SQLite database /srv/app.db")
  std::string path;    // the snapshot's single path
  std::string host;    // recorded hostname ("" = this machine)
  std::vector<std::string> tags;
  SourceInfo info;
  // Writes the source's one file into the ingest; may add to info.
  std::function<Status(TreeIngest&, SourceInfo&)> produce;
};

// The shared body: repository, lock, ingest with progress, snapshot, summary.
int RunSourceBackup(const GlobalOptions& global, int64_t start_ns, SourceBackupSpec spec) {
  mallopt(M_MMAP_THRESHOLD, 256 << 10);  // as file backups: chunk buffers come and go
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
  const std::string host = spec.host.empty() ? LocalHostname() : spec.host;
  auto previous = repo.FindSnapshot("latest", [&](const Snapshot& s) {
    return s.source == spec.source && s.hostname == host && s.paths == std::vector{spec.path};
  });
  if (!previous.ok() && previous.status().code() != Code::kNotFound) {
    return ReportError(global, previous.status());
  }

  auto t0 = std::chrono::steady_clock::now();
  TreeIngest ingest(repo);
  InstallInterruptHandler();
  Status produced;
  {
    ProgressReporter reporter(global, "backup", StreamBackupSampler(ingest.progress()),
                              [&ingest] { ingest.Cancel(); });
    produced = spec.produce(ingest, spec.info);
  }
  if (!produced.ok()) {
    return ReportError(global, produced.WithContext("backup of " + spec.label + " failed; no "
                                                    "snapshot was saved"));
  }
  auto result = ingest.Finish();
  if (!result.ok()) return ReportError(global, result.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  Snapshot snap;
  snap.time_ns = start_ns;
  snap.hostname = host;
  snap.username = LocalUsername();
  snap.uid = geteuid();
  snap.gid = getegid();
  snap.paths = {spec.path};
  snap.tags = SplitTags(spec.tags);
  snap.tree = result->tree;
  if (previous.ok()) snap.parent = previous->id;
  snap.kind = BackupKind::kFull;  // every byte is read; unchanged chunks are deduplicated
  snap.source = spec.source;
  snap.source_info = spec.info;
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
                        {"source", spec.source},
                        {"path", spec.path},
                        {"data_added", s.bytes_added},
                        {"data_added_stored", s.bytes_added_stored},
                        {"total_files_processed", s.files_total},
                        {"total_bytes_processed", s.bytes_total},
                        {"total_duration", seconds},
                        {"source_info", snap.source_info}};
    if (snap.parent) j["parent"] = snap.parent->Hex();
    PrintJson(j);
  } else {
    Say(global, "");
    Say(global, fmt::format("Added to the repository: {} ({} stored)", FormatBytes(s.bytes_added),
                            FormatBytes(s.bytes_added_stored)));
    Say(global, fmt::format("processed {} in {}", FormatBytes(s.bytes_total),
                            FormatSeconds(seconds)));
    Say(global, "snapshot " + id->Short() + " saved");
  }
  return kExitOk;
}

// Streams a child's standard output into the ingest as `name`, then waits for
// it; a failing child (or a failed framing check) fails the backup.
Status IngestChild(TreeIngest& ingest, const std::vector<std::string>& argv,
                   const ChildOptions& options, const std::string& name,
                   const std::function<Status(const StreamIngestResult&)>& check) {
  LB_ASSIGN_OR_RETURN(auto child, ChildProcess::Start(argv, options));
  const std::string program = ProgramBaseName(argv[0]);
  auto r = IngestStream(ingest, child->stdout_fd(), name, "the output of " + program);
  if (!r.ok()) {
    child->Terminate();
    return r.status();
  }
  child->CloseStdout();
  ExitStatus st = child->Wait();
  if (!st.success()) {
    std::string tail = child->StderrTail(600);
    return Status(Code::kIoError,
                  "'" + program + "' failed with " + st.Describe() + (tail.empty() ? "" : ": " + tail));
  }
  return check(*r);
}

// ---- sqlite ----

struct SqliteOpts {
  std::string path;
  std::vector<std::string> tags;
  std::string host;
  int busy_timeout = 120;
};

int RunBackupSqlite(const GlobalOptions& global, const SqliteOpts& o) {
  const int64_t start_ns = NowNs();
  const std::string path = NormalizeBackupPath(o.path);
  Say(global, "copying SQLite database " + path + " (online backup API)");
  auto copy = CopySqliteOnline(path, std::chrono::seconds(o.busy_timeout));
  if (!copy.ok()) return ReportError(global, copy.status());
  SourceBackupSpec spec;
  spec.source = "sqlite";
  spec.label = "SQLite database " + path;
  spec.path = path;
  spec.host = o.host;
  spec.tags = o.tags;
  spec.info = {{"path", path},
               {"page_size", std::to_string((*copy)->page_size)},
               {"page_count", std::to_string((*copy)->page_count)},
               {"journal_mode", (*copy)->journal_mode},
               {"sqlite_version", SqliteVersion()},
               {"file", SqliteSnapshotName(path)}};
  Say(global, fmt::format("consistent copy: {} pages of {} bytes, quick_check ok",
                          (*copy)->page_count, (*copy)->page_size));
  const std::string file = (*copy)->file();
  spec.produce = [&file, &path](TreeIngest& ingest, SourceInfo& info) -> Status {
    int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "unable to open the copy of " + path);
    auto r = IngestStream(ingest, fd, info["file"], "the copy of " + path);
    close(fd);
    return r.status();
  };
  int rc = RunSourceBackup(global, start_ns, std::move(spec));
  copy->reset();  // removes the temporary copy
  return rc;
}

// ---- redis ----

struct RedisOpts {
  RedisConnection conn;
  std::string password_file;
  std::vector<std::string> tags;
  std::string hostname;
};

int RunBackupRedis(const GlobalOptions& global, RedisOpts o) {
  const int64_t start_ns = NowNs();
  if (o.conn.port <= 0 || o.conn.port > 65535) {
    return ReportError(global, InvalidArgument("--port wants 1-65535"));
  }
  if (!o.password_file.empty()) {
    auto pw = ReadPasswordFile(o.password_file);
    if (!pw.ok()) return ReportError(global, pw.status().WithContext("--redis-password-file"));
    o.conn.password = *pw;
  }  // else redis-cli inherits REDISCLI_AUTH from our environment, if set
  auto server = QueryRedisInfo(o.conn);
  if (!server.ok()) return ReportError(global, server.status());
  Say(global, fmt::format("RDB snapshot of Redis {} at {}{}", server->version, o.conn.Describe(),
                          server->keys >= 0 ? fmt::format(" ({} keys)", server->keys) : ""));
  SourceBackupSpec spec;
  spec.source = "redis";
  spec.label = "Redis at " + o.conn.Describe();
  spec.path = "redis://" + o.conn.Describe();
  spec.host = o.hostname;
  spec.tags = o.tags;
  spec.info = {{"server", o.conn.Describe()}, {"redis_version", server->version}};
  if (server->keys >= 0) spec.info["keys"] = std::to_string(server->keys);
  if (!o.conn.user.empty()) spec.info["user"] = o.conn.user;
  std::vector<std::string> argv = o.conn.CliArgs();
  argv.insert(argv.end(), {"--rdb", "-"});
  spec.produce = [&](TreeIngest& ingest, SourceInfo& info) -> Status {
    LB_ASSIGN_OR_RETURN(auto child, ChildProcess::Start(argv, o.conn.CliOptions()));
    // The last 40 bytes wait until redis-cli has ended: they may be the end
    // marker of a diskless transfer (see IsRdbEofMark), not RDB data.
    auto r = IngestStream(ingest, child->stdout_fd(), "dump.rdb", "the RDB stream from redis-cli",
                          64, 64, kRdbEofMarkSize);
    if (!r.ok()) {
      child->Terminate();
      return r.status();
    }
    child->CloseStdout();
    ExitStatus st = child->Wait();
    if (!st.success()) {
      std::string tail = child->StderrTail(600);
      return Status(Code::kIoError, "'redis-cli --rdb' failed with " + st.Describe() +
                                        (tail.empty() ? "" : ": " + tail));
    }
    if (IsRdbEofMark(r->held, child->StderrTail(8000))) {
      r->bytes -= r->held.size();
      r->tail.resize(r->tail.size() >= r->held.size() ? r->tail.size() - r->held.size() : 0);
    } else {
      LB_RETURN_IF_ERROR(ingest.Write(AsBytes(r->held)));
    }
    LB_RETURN_IF_ERROR(ingest.EndFile());
    LB_ASSIGN_OR_RETURN(int version, CheckRdbFraming(r->head, r->tail, r->bytes));
    info["rdb_version"] = std::to_string(version);
    info["rdb_bytes"] = std::to_string(r->bytes);
    return Status::Ok();
  };
  return RunSourceBackup(global, start_ns, std::move(spec));
}

// ---- git ----

struct GitOpts {
  std::string path;
  std::vector<std::string> tags;
  std::string host;
};

int RunBackupGit(const GlobalOptions& global, const GitOpts& o) {
  const int64_t start_ns = NowNs();
  const std::string path = NormalizeBackupPath(o.path);
  auto repo_info = InspectGitRepo(path);
  if (!repo_info.ok()) return ReportError(global, repo_info.status());
  std::string base = ProgramBaseName(path);
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".git") == 0) {
    base.resize(base.size() - 4);
  }
  if (base.empty() || base == "/") base = "repository";
  const std::string name = base + ".bundle";
  Say(global, fmt::format("bundle of every ref of {} ({} refs, HEAD {})", path, repo_info->refs,
                          repo_info->head_ref.empty()
                              ? "detached at " + repo_info->head_commit.substr(0, 12)
                              : repo_info->head_ref));
  SourceBackupSpec spec;
  spec.source = "git";
  spec.label = "git repository " + path;
  spec.path = path;
  spec.host = o.host;
  spec.tags = o.tags;
  spec.info = {{"path", path},
               {"head", repo_info->head_ref.empty() ? "detached" : repo_info->head_ref},
               {"head_commit", repo_info->head_commit},
               {"refs", std::to_string(repo_info->refs)},
               {"file", name}};
  spec.produce = [&](TreeIngest& ingest, SourceInfo&) -> Status {
    ChildOptions copts;
    copts.stdin_null = true;
    copts.env["GIT_TERMINAL_PROMPT"] = "0";
    return IngestChild(ingest, GitBundleCommand(path), copts, name,
                       [](const StreamIngestResult& r) { return CheckGitBundleHeader(r.head); });
  };
  return RunSourceBackup(global, start_ns, std::move(spec));
}

// The server pg_dump will reach, as libpq's environment describes it (for
// the snapshot path and messages; never holds a password).
std::string PgEnvServer() {
  auto env = [](const char* k) {
    const char* v = getenv(k);
    return v != nullptr ? std::string(v) : std::string();
  };
  if (!env("PGSERVICE").empty()) return "service=" + env("PGSERVICE");
  std::string host = env("PGHOST").empty() ? "localhost" : env("PGHOST");
  std::string port = env("PGPORT").empty() ? "5432" : env("PGPORT");
  return host + ":" + port;
}

}  // namespace

Status ValidatePgDbName(const std::string& dbname) {
  if (dbname.empty()) {
    return Status(Code::kInvalidArgument, "no database given", "use --dbname DB");
  }
  if (dbname.find('=') != std::string::npos || dbname.rfind("postgres://", 0) == 0 ||
      dbname.rfind("postgresql://", 0) == 0) {
    return Status(Code::kInvalidArgument,
                  "--dbname wants a database name, not a connection string",
                  "give the server through PGHOST, PGPORT, PGUSER, PGSERVICE or ~/.pgpass");
  }
  return Status::Ok();
}

int RunBackupPostgresLogical(const GlobalOptions& global, const PgLogicalBackupOpts& o) {
  const int64_t start_ns = NowNs();
  Status valid = ValidatePgDbName(o.dbname);
  if (!valid.ok()) return ReportError(global, valid);
  // pg_dump reaches the server through libpq's environment (PGHOST, PGPORT,
  // PGUSER, PGPASSWORD, PGSERVICE, ~/.pgpass) like the physical backup; the
  // database name goes through PGDATABASE too, so nothing but options is in
  // its argv. -Z0: the repository compresses after deduplication, which a
  // zlib stream would defeat.
  std::string version = "pg_dump";
  auto v = RunAndCapture({"pg_dump", "--version"}, ChildOptions{}, 4096);
  if (!v.ok()) return ReportError(global, v.status());
  version = *v;
  while (!version.empty() && (version.back() == '\n' || version.back() == ' ')) version.pop_back();
  const std::string server = PgEnvServer();
  const std::string file = o.dbname + ".dump";
  Say(global, fmt::format("logical backup of database {} on {} ({}, custom format, streamed)",
                          o.dbname, server, version));
  SourceBackupSpec spec;
  spec.source = kPgLogicalSource;
  spec.label = "database " + o.dbname + " on " + server;
  spec.path = "postgres://" + server + "/" + o.dbname;
  spec.host = o.host;
  spec.tags = o.tags;
  spec.info = {{"server", server},
               {"dbname", o.dbname},
               {"format", "custom"},
               {"pg_dump_version", version},
               {"file", file}};
  spec.produce = [&](TreeIngest& ingest, SourceInfo& info) -> Status {
    ChildOptions copts;
    copts.stdin_null = true;
    copts.env["PGDATABASE"] = o.dbname;
    return IngestChild(ingest, {"pg_dump", "--no-password", "--format=custom", "-Z0"}, copts,
                       file, [&info](const StreamIngestResult& r) -> Status {
                         if (r.head.rfind("PGDMP", 0) != 0) {
                           return Corrupt("pg_dump's output does not start with 'PGDMP' (not a "
                                          "custom-format archive)");
                         }
                         info["dump_bytes"] = std::to_string(r.bytes);
                         return Status::Ok();
                       });
  };
  return RunSourceBackup(global, start_ns, std::move(spec));
}

std::vector<CLI::App*> RegisterBackupSources(CLI::App& backup, GlobalOptions& global,
                                             CommandRunner* selected) {
  std::vector<CLI::App*> cmds;
  {
    auto o = std::make_shared<SqliteOpts>();
    CLI::App* cmd = backup.add_subcommand(
        "sqlite", "consistent copy of a live SQLite database (online backup API); a path named "
                  "'sqlite' is backed up as ./sqlite");
    cmd->add_option("path", o->path, "the database file")->required();
    cmd->add_option("--busy-timeout", o->busy_timeout,
                    "seconds to keep retrying while writers hold the database locked (default 120)");
    cmd->add_option("--tag", o->tags, "add tags to the snapshot (repeatable, or comma-separated)");
    cmd->add_option("-H,--host", o->host, "hostname recorded in the snapshot");
    cmd->callback([&global, o, selected] {
      *selected = [&global, o] { return RunBackupSqlite(global, *o); };
    });
    cmds.push_back(cmd);
  }
  {
    auto o = std::make_shared<RedisOpts>();
    CLI::App* cmd = backup.add_subcommand(
        "redis", "RDB snapshot of a running Redis server (via redis-cli --rdb; password from "
                 "REDISCLI_AUTH or --redis-password-file)");
    cmd->add_option("--host", o->conn.host, "Redis server host (default 127.0.0.1)");
    cmd->add_option("--port", o->conn.port, "Redis server port (default 6379)");
    cmd->add_option("--user", o->conn.user, "ACL user name");
    cmd->add_option("--redis-password-file", o->password_file,
                    "file holding the Redis password (else REDISCLI_AUTH from the environment)");
    cmd->add_option("--tag", o->tags, "add tags to the snapshot (repeatable, or comma-separated)");
    cmd->add_option("--hostname", o->hostname, "hostname recorded in the snapshot");
    cmd->callback([&global, o, selected] {
      *selected = [&global, o] { return RunBackupRedis(global, *o); };
    });
    cmds.push_back(cmd);
  }
  {
    auto o = std::make_shared<GitOpts>();
    CLI::App* cmd = backup.add_subcommand(
        "git", "every ref of a git repository as a bundle; a path named 'git' is backed up as "
               "./git");
    cmd->add_option("path", o->path, "the repository (work tree or bare)")->required();
    cmd->add_option("--tag", o->tags, "add tags to the snapshot (repeatable, or comma-separated)");
    cmd->add_option("-H,--host", o->host, "hostname recorded in the snapshot");
    cmd->callback([&global, o, selected] {
      *selected = [&global, o] { return RunBackupGit(global, *o); };
    });
    cmds.push_back(cmd);
  }
  return cmds;
}

}  // namespace lifeboat
