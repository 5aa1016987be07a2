// lifeboat restore mariadb: loads a MariaDB logical backup snapshot into a
// RUNNING, empty target server (the `mariadb` client, its stdin fed from the
// repository), then optionally replays the archived binlogs from the dump's
// binlog position up to a target:
//
//   --to-time T           events timestamped before T (UTC). mariadb-binlog
//                         compares whole seconds: T is rounded down to the
//                         second, so events in T's own second are not
//                         replayed;
//   --to-position F:P     up to binlog file F, position P (an event start);
//   --to-end              everything archived.
//
// The binlogs are checked (archived, consecutive, authenticated) and
// fetched into a private directory before the dump is loaded, so a missing
// binlog fails before the target is touched. Replay is
// `mariadb-binlog --start-position=P [--stop-…] FILES… | mariadb`, with
// TZ=UTC for mariadb-binlog.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>

#include "backend/file_util.h"
#include "cli/commands.h"
#include "cli/mariadb_options.h"
#include "cli/target_time.h"
#include "mariadb/binlog_archive.h"
#include "model/time_format.h"
#include "repo/lock.h"
#include "restore/dump.h"

namespace lifeboat {
namespace {

struct RestoreMariaDbOpts {
  std::string snapshot;
  MariaDbCliOptions conn;
  std::string to_time, to_position;
  bool to_end = false;
  bool force = false;
};

std::string UtcSeconds(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000);
  if (ns < 0 && ns % 1000000000 != 0) --secs;  // floor
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

bool AllDigits(const std::string& s) {
  return !s.empty() && s.size() <= 19 && s.find_first_not_of("0123456789") == std::string::npos;
}

// Writes a fetched binlog 0600 into the private directory.
Status WritePrivate(const std::string& path, ByteView data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoStatus(errno, "unable to create " + path);
  LB_RETURN_IF_ERROR(WriteAll(fd.get(), data, path));
  if (const int e = fd.Close(); e != 0) return ErrnoStatus(e, "unable to write " + path);
  return Status::Ok();
}

Status LoadDump(Repository& repo, const Id& tree, const ClientEnv& env, const std::string& client,
                const std::string& dump_file) {
  int fds[2];
  LB_RETURN_IF_ERROR(MakePipe(fds));
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  ChildSpec spec;
  spec.argv = {client, env.DefaultsArg()};
  spec.stdin_fd = read_end.get();
  spec.stderr_path = env.dir() + "/load.err";
  LB_ASSIGN_OR_RETURN(auto child, Child::Spawn(spec));
  read_end.Close();
  Status dumped = DumpTar(repo, tree, "/" + dump_file, write_end.get());
  write_end.Close();
  const int rc = child->Wait();
  if (rc != 0) {
    return Status(
        Code::kIoError,
        fmt::format("loading the dump into {} failed ({} exit {}): {}", env.connection().Describe(),
                    client, rc, TailOfFile(spec.stderr_path)),
        "the target may now hold part of the dump; restore into a fresh server");
  }
  if (!dumped.ok()) return dumped.WithContext("unable to read the dump from the repository");
  return Status::Ok();
}

Status Replay(const ClientEnv& env, const std::string& client, const std::string& binlog_tool,
              const std::vector<std::string>& binlog_args) {
  int fds[2];
  LB_RETURN_IF_ERROR(MakePipe(fds));
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  ChildSpec producer;
  producer.argv = {binlog_tool, "--no-defaults"};
  producer.argv.insert(producer.argv.end(), binlog_args.begin(), binlog_args.end());
  producer.stdout_fd = write_end.get();
  producer.stderr_path = env.dir() + "/binlog.err";
  producer.env = {"TZ=UTC"};
  LB_ASSIGN_OR_RETURN(auto p, Child::Spawn(producer));
  ChildSpec consumer;
  consumer.argv = {client, env.DefaultsArg()};
  consumer.stdin_fd = read_end.get();
  consumer.stderr_path = env.dir() + "/replay.err";
  auto c = Child::Spawn(consumer);
  read_end.Close();
  write_end.Close();
  if (!c.ok()) return c.status();
  const int prc = p->Wait();
  const int crc = (*c)->Wait();
  if (crc != 0) {
    return Status(
        Code::kIoError,
        fmt::format("replaying the binlogs into {} failed ({} exit {}): {}",
                    env.connection().Describe(), client, crc, TailOfFile(consumer.stderr_path)),
        "the target holds the dump and part of the binlogs");
  }
  if (prc != 0) {
    return Status(Code::kIoError, fmt::format("{} failed (exit {}): {}", binlog_tool, prc,
                                              TailOfFile(producer.stderr_path)));
  }
  return Status::Ok();
}

int RunRestoreMariaDb(const GlobalOptions& global, const RestoreMariaDbOpts& o) {
  const int64_t start_ns = NowNs();
  const int targets = !o.to_time.empty() + !o.to_position.empty() + o.to_end;
  if (targets > 1) {
    return ReportError(
        global, InvalidArgument("give at most one of --to-time, --to-position and --to-end"));
  }
  const bool recover = targets == 1;
  std::string stop_datetime, stop_file, stop_pos;
  if (!o.to_time.empty()) {
    auto ns = ParseTargetTime(o.to_time);
    if (!ns.ok()) return ReportError(global, ns.status());
    stop_datetime = UtcSeconds(*ns);
  }
  if (!o.to_position.empty()) {
    const size_t colon = o.to_position.rfind(':');
    if (colon != std::string::npos) {
      stop_file = o.to_position.substr(0, colon);
      stop_pos = o.to_position.substr(colon + 1);
    }
    if (colon == std::string::npos || !ValidateBinlogFileName(stop_file).ok() ||
        !AllDigits(stop_pos)) {
      return ReportError(global, InvalidArgument("--to-position wants FILE:POS (e.g. "
                                                 "mariadb-bin.000004:1234), got '" +
                                                 o.to_position + "'"));
    }
  }
  ::signal(SIGPIPE, SIG_IGN);  // a client that dies must not kill us mid-write

  auto conn = ResolveMariaDbConnection(o.conn);
  if (!conn.ok()) return ReportError(global, conn.status());
  auto env_or = ClientEnv::Create(*conn);
  if (!env_or.ok()) return ReportError(global, env_or.status());
  const ClientEnv& env = **env_or;
  const std::string target = conn->Describe();
  auto client = FindTool({"mariadb", "mysql"});
  if (!client.ok()) return ReportError(global, client.status());
  std::string binlog_tool;
  if (recover) {
    auto t = FindTool({"mariadb-binlog", "mysqlbinlog"});
    if (!t.ok()) return ReportError(global, t.status());
    binlog_tool = *t;
  }

  // The target must be reachable and empty.
  auto dbs = env.Query(
      "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN "
      "('mysql','information_schema','performance_schema','sys','test') ORDER BY 1",
      "list the target's databases");
  if (!dbs.ok()) return ReportError(global, dbs.status());
  std::vector<std::string> existing;
  for (const auto& row : ParseRows(*dbs)) existing.push_back(row[0]);
  if (!existing.empty() && !o.force) {
    std::string list;
    for (const auto& d : existing) list += (list.empty() ? "" : ", ") + d;
    return ReportError(
        global, Status(Code::kAlreadyExists,
                       "the target server " + target + " is not empty (databases: " + list + ")",
                       "restore into a fresh server, or use --force to load the "
                       "dump over these databases"));
  }

  auto repo = OpenRepository(global);
  if (!repo.ok()) return ReportError(global, repo.status());
  auto lock = RepoLock::Acquire(**repo, false);
  if (!lock.ok()) return ReportError(global, lock.status());
  Status loaded = (*repo)->LoadIndex();
  if (!loaded.ok()) return ReportError(global, loaded);
  auto is_maria = [](const Snapshot& s) { return s.source == "mariadb"; };
  auto snap = o.snapshot == "latest" ? (*repo)->FindSnapshot("latest", is_maria)
                                     : (*repo)->FindSnapshot(o.snapshot);
  if (!snap.ok()) {
    if (snap.status().code() == Code::kNotFound && o.snapshot == "latest") {
      return ReportError(global, NotFound("the repository holds no MariaDB snapshot"));
    }
    return ReportError(global, snap.status());
  }
  if (snap->snapshot.source != "mariadb") {
    return ReportError(
        global, InvalidArgument("snapshot " + snap->id.Short() + " is a '" + snap->snapshot.source +
                                "' snapshot, not a MariaDB logical backup"));
  }
  const auto& info = snap->snapshot.source_info;
  auto get = [&info](const char* key) {
    auto it = info.find(key);
    return it == info.end() ? std::string() : it->second;
  };
  const std::string dump_file = get("dump_file").empty() ? "mariadb-dump.sql" : get("dump_file");
  const std::string start_file = get("binlog_file");
  const std::string start_pos = get("binlog_pos");
  Say(global, fmt::format("restoring MariaDB logical backup {} of {} (server_id {}, databases: {}) "
                          "taken {} into {}",
                          snap->id.Short(), get("server"), get("server_id"), get("databases"),
                          FormatLocalTime(snap->snapshot.time_ns), target));

  // Check and fetch the binlogs before touching the target.
  std::vector<std::string> chain;
  std::vector<std::string> binlog_args;
  std::string target_text = "the end of the dump (no binlog replay)";
  if (recover) {
    if (start_file.empty() || !AllDigits(start_pos)) {
      return ReportError(
          global,
          Status(Code::kInvalidArgument,
                 "snapshot " + snap->id.Short() +
                     " records no binlog position (binary logging was off on " + get("server") +
                     "): point-in-time recovery from it is impossible",
                 "restore without --to-time/--to-position/--to-end to load the dump alone"));
    }
    const uint64_t server_id = std::strtoull(get("server_id").c_str(), nullptr, 10);
    auto archived = ListBinlogs(**repo, server_id);
    if (!archived.ok()) return ReportError(global, archived.status());
    std::optional<std::string> last;
    if (!stop_file.empty()) last = stop_file;
    auto c = BinlogReplayChain(*archived, start_file, last);
    if (!c.ok()) return ReportError(global, c.status());
    chain = *c;
    if (!stop_file.empty() && stop_file == start_file &&
        std::strtoull(stop_pos.c_str(), nullptr, 10) <
            std::strtoull(start_pos.c_str(), nullptr, 10)) {
      return ReportError(global, InvalidArgument("--to-position " + o.to_position +
                                                 " lies before the dump's position " + start_file +
                                                 ":" + start_pos));
    }
    binlog_args.push_back("--start-position=" + start_pos);
    if (!stop_datetime.empty()) {
      binlog_args.push_back("--stop-datetime=" + stop_datetime);
      target_text = "time " + stop_datetime + " UTC (events before it, 1 s resolution)";
    } else if (!stop_pos.empty()) {
      binlog_args.push_back("--stop-position=" + stop_pos);
      target_text = "position " + o.to_position;
    } else {
      target_text = "the end of the archived binlogs";
    }
    for (const std::string& name : chain) {
      auto data = GetBinlog(**repo, server_id, name);
      if (!data.ok()) return ReportError(global, data.status());
      const std::string path = env.dir() + "/" + name;
      Status w = WritePrivate(path, *data);
      if (!w.ok()) return ReportError(global, w);
      binlog_args.push_back(path);
    }
    Say(global, fmt::format("binlogs: {}:{} .. {} ({} file(s)), to {}", start_file, start_pos,
                            chain.back(), chain.size(), target_text));
  }

  auto t0 = std::chrono::steady_clock::now();
  Status s = LoadDump(**repo, snap->snapshot.tree, env, *client, dump_file);
  if (!s.ok()) return ReportError(global, s);
  const double load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Say(global, fmt::format("dump loaded in {}", FormatSeconds(load_seconds)));
  double replay_seconds = 0;
  if (recover) {
    auto t1 = std::chrono::steady_clock::now();
    s = Replay(env, *client, binlog_tool, binlog_args);
    if (!s.ok()) return ReportError(global, s);
    replay_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    Say(global, fmt::format("binlogs replayed in {}", FormatSeconds(replay_seconds)));
  }
  const double total = static_cast<double>(NowNs() - start_ns) / 1e9;
  if (global.json) {
    nlohmann::json j = {{"message_type", "summary"},    {"snapshot_id", snap->id.Hex()},
                        {"source", "mariadb"},          {"target_server", target},
                        {"dump_seconds", load_seconds}, {"replay_seconds", replay_seconds},
                        {"total_duration", total},      {"recovery_target", target_text}};
    if (recover) {
      j["binlog_start"] = start_file + ":" + start_pos;
      j["binlog_files"] = chain;
    }
    PrintJson(j);
  } else {
    Say(global, fmt::format("restored {} into {}, recovered to {}, in {}", snap->id.Short(), target,
                            target_text, FormatSeconds(total)));
  }
  return kExitOk;
}

}  // namespace

CLI::App* RegisterRestoreMariaDb(CLI::App& restore, GlobalOptions& global,
                                 CommandRunner* selected) {
  auto o = std::make_shared<RestoreMariaDbOpts>();
  CLI::App* cmd = restore.add_subcommand(
      "mariadb",
      "load a MariaDB logical backup into a running, empty server and replay archived binlogs "
      "up to a target");
  cmd->add_option("snapshot", o->snapshot, "snapshot id or 'latest' (the latest MariaDB one)")
      ->required();
  AddMariaDbConnectionOptions(cmd, &o->conn);
  cmd->add_option("--to-time", o->to_time,
                  "replay binlog events before this time, UTC 'YYYY-MM-DD HH:MM:SS' (1 s "
                  "resolution: events in that second are not replayed)");
  cmd->add_option("--to-position", o->to_position,
                  "replay binlogs up to FILE:POS (mariadb-binlog --stop-position in FILE)");
  cmd->add_flag("--to-end", o->to_end, "replay every archived binlog");
  cmd->add_flag("--force", o->force, "load even when the target server already has databases");
  cmd->callback([&global, o, selected] {
    *selected = [&global, o] { return RunRestoreMariaDb(global, *o); };
  });
  return cmd;
}

}  // namespace lifeboat
