// lifeboat mariadb archive-binlogs: copies every binary log file the
// MariaDB/MySQL server has closed and the repository lacks into the binlog
// archive (src/mariadb/binlog_archive.h). With --flush the server first
// closes its current binlog (FLUSH BINARY LOGS), so running it every minute
// gives a recovery point objective of about a minute. Files are fetched over
// the client protocol (mariadb-binlog --read-from-remote-server --raw, needs
// the REPLICATION SLAVE privilege) or read from --binlog-dir on the server's
// machine. No repository lock is taken: binlog objects are write-once.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <set>

#include "backend/file_util.h"
#include "cli/commands.h"
#include "cli/mariadb_options.h"
#include "mariadb/binlog_archive.h"

namespace lifeboat {

void AddMariaDbConnectionOptions(CLI::App* cmd, MariaDbCliOptions* o) {
  cmd->add_option("--host", o->host, "the MariaDB server's host (e.g. 127.0.0.1)");
  cmd->add_option("--port", o->port, "its TCP port (default 3306)")->check(CLI::Range(1, 65535));
  cmd->add_option("--user", o->user, "the MariaDB user");
  cmd->add_option("--socket", o->socket, "a Unix socket instead of --host/--port");
  cmd->add_option("--mariadb-password-file", o->password_file,
                  "file holding the MariaDB user's password (else LIFEBOAT_MARIADB_PASSWORD; "
                  "never give it on the command line)");
}

Result<MariaDbConnection> ResolveMariaDbConnection(const MariaDbCliOptions& o) {
  MariaDbConnection c;
  c.host = o.host;
  c.port = o.port;
  c.user = o.user;
  c.socket = o.socket;
  if (!o.password_file.empty()) {
    auto pw = ReadPasswordFile(o.password_file);
    if (!pw.ok()) return pw.status();
    c.password = *pw;
    c.has_password = true;
  } else if (const char* env = getenv("LIFEBOAT_MARIADB_PASSWORD"); env != nullptr) {
    c.password = env;
    c.has_password = true;
  }
  return c;
}

namespace {

struct ArchiveBinlogsOpts {
  MariaDbCliOptions conn;
  bool flush = false;
  bool recheck = false;
  std::string binlog_dir;
};

Result<Bytes> ReadLocalFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "unable to open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "unable to stat " + path);
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + " is not a regular file");
  Bytes out;
  uint8_t buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "unable to read " + path);
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

// Fetches one closed binlog over the client protocol into the private dir.
Result<Bytes> FetchRemote(const ClientEnv& env, const std::string& tool, const std::string& name) {
  ChildSpec spec;
  spec.argv = {tool,
               env.DefaultsArg(),
               "--read-from-remote-server",
               "--raw",
               "--result-file=" + env.dir() + "/",
               name};
  spec.stderr_path = env.dir() + "/binlog.err";
  LB_ASSIGN_OR_RETURN(auto child, Child::Spawn(spec));
  const int rc = child->Wait();
  const std::string path = env.dir() + "/" + name;
  if (rc != 0) {
    ::unlink(path.c_str());
    return Status(Code::kIoError,
                  fmt::format("unable to fetch binlog {} from {} ({} exit {}): {}", name,
                              env.connection().Describe(), tool, rc, TailOfFile(spec.stderr_path)),
                  "the user needs the REPLICATION SLAVE privilege; or run on the server's "
                  "machine with --binlog-dir");
  }
  auto data = ReadLocalFile(path);
  ::unlink(path.c_str());
  return data;
}

int RunArchiveBinlogs(const GlobalOptions& global, const ArchiveBinlogsOpts& o) {
  auto conn = ResolveMariaDbConnection(o.conn);
  if (!conn.ok()) return ReportError(global, conn.status());
  auto env = ClientEnv::Create(*conn);
  if (!env.ok()) return ReportError(global, env.status());
  const std::string server = conn->Describe();
  if (o.flush) {
    auto flushed =
        (*env)->Query("FLUSH BINARY LOGS", "close the current binlog (FLUSH BINARY LOGS)");
    if (!flushed.ok()) return ReportError(global, flushed.status());
  }
  auto ids = (*env)->Query("SELECT @@server_id, @@log_bin", "read server_id and log_bin");
  if (!ids.ok()) return ReportError(global, ids.status());
  auto id_rows = ParseRows(*ids);
  if (id_rows.size() != 1 || id_rows[0].size() != 2) {
    return ReportError(global,
                       IoError("unexpected answer from " + server + " to SELECT @@server_id"));
  }
  if (id_rows[0][1] != "1") {
    return ReportError(global,
                       Status(Code::kInvalidArgument,
                              "binary logging is off on " + server +
                                  ": there are no binlogs "
                                  "to archive and no point-in-time recovery",
                              "start the server with --log-bin (and a unique --server-id)"));
  }
  const std::string server_id_text = id_rows[0][0];
  const uint64_t server_id = std::strtoull(server_id_text.c_str(), nullptr, 10);
  auto logs = (*env)->Query("SHOW BINARY LOGS", "list the binlogs (SHOW BINARY LOGS)");
  if (!logs.ok()) return ReportError(global, logs.status());
  auto rows = ParseRows(*logs);
  if (rows.empty())
    return ReportError(global, IoError("SHOW BINARY LOGS on " + server + " listed nothing"));
  const std::string current = rows.back()[0];
  rows.pop_back();  // the binlog being written is not closed

  std::string tool;
  if (o.binlog_dir.empty()) {
    auto t = FindTool({"mariadb-binlog", "mysqlbinlog"});
    if (!t.ok()) return ReportError(global, t.status());
    tool = *t;
  }
  auto repo = OpenRepository(global);
  if (!repo.ok()) return ReportError(global, repo.status());
  auto archived = ListBinlogs(**repo, server_id);
  if (!archived.ok()) return ReportError(global, archived.status());
  std::set<std::string> have;
  for (const BinlogEntry& e : *archived) have.insert(e.name);

  uint64_t stored = 0, already = 0, bytes = 0;
  std::vector<std::string> stored_names;
  for (const auto& row : rows) {
    if (row.size() < 2) continue;
    const std::string& name = row[0];
    Status valid = ValidateBinlogFileName(name);
    if (!valid.ok()) return ReportError(global, valid.WithContext("SHOW BINARY LOGS on " + server));
    if (have.count(name) && !o.recheck) {
      ++already;
      continue;
    }
    Result<Bytes> data = o.binlog_dir.empty() ? FetchRemote(**env, tool, name)
                                              : ReadLocalFile(o.binlog_dir + "/" + name);
    if (!data.ok()) return ReportError(global, data.status());
    const uint64_t listed = std::strtoull(row[1].c_str(), nullptr, 10);
    if (data->size() != listed) {
      return ReportError(
          global, IoError(fmt::format("binlog {} of {}: fetched {} bytes, the server lists {}",
                                      name, server, data->size(), listed)));
    }
    auto outcome = PushBinlog(**repo, server_id, name, *data);
    if (!outcome.ok()) {
      return ReportError(global, outcome.status().WithContext("unable to archive binlog " + name));
    }
    if (*outcome == BinlogPushOutcome::kStored) {
      ++stored;
      bytes += data->size();
      stored_names.push_back(name);
      if (global.verbose > 0 && !global.json) Say(global, "archived " + name);
    } else {
      ++already;
    }
  }
  if (global.json) {
    PrintJson({{"message_type", "summary"},
               {"server", server},
               {"server_id", server_id_text},
               {"binlogs_stored", stored},
               {"binlogs_already_archived", already},
               {"bytes_stored", bytes},
               {"stored", stored_names},
               {"current_binlog", current}});
  } else {
    std::string range = stored_names.empty()
                            ? std::string()
                            : " (" + stored_names.front() +
                                  (stored_names.size() > 1 ? " .. " + stored_names.back() : "") +
                                  ")";
    Say(global,
        fmt::format("archived {} binlog(s) of server_id {} on {}{}, {}; {} already archived; "
                    "{} still open",
                    stored, server_id_text, server, range, FormatBytes(bytes), already, current));
  }
  return kExitOk;
}

}  // namespace

void RegisterMariaDb(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<ArchiveBinlogsOpts>();
  CLI::App* cmd = app.add_subcommand("mariadb", "MariaDB / MySQL binlog archiving");
  cmd->require_subcommand(1);
  CLI::App* archive = cmd->add_subcommand(
      "archive-binlogs",
      "archive every binlog the server has closed and the repository lacks (run it every "
      "minute with --flush for an RPO of a minute)");
  AddMariaDbConnectionOptions(archive, &o->conn);
  archive->add_flag(
      "--flush", o->flush,
      "run FLUSH BINARY LOGS first, so the current binlog is closed and archived too");
  archive->add_option("--binlog-dir", o->binlog_dir,
                      "read the files from this directory (on the server's machine) instead of "
                      "over the client protocol");
  archive->add_flag("--recheck", o->recheck,
                    "fetch the already archived binlogs the server still has and verify they are "
                    "identical (nothing is rewritten)");
  archive->callback([&global, o, selected] {
    *selected = [&global, o] { return RunArchiveBinlogs(global, *o); };
  });
}

}  // namespace lifeboat
