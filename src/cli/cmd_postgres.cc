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
// WAL objects are write-once, and prune removes only WAL older than every
// retained base backup.
//
// archive-push --async --spool DIR hands the work to a background worker
// that opens the repository once and pushes ahead (src/walarchive/wal_spool.h).
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "walarchive/pg_control.h"
#include "walarchive/wal_archive.h"
#include "walarchive/wal_prefetch.h"
#include "walarchive/wal_spool.h"

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
  bool async = false;     // archive-push through the spool and a worker
  std::string spool;
  double async_timeout = 60;
  int process_max = 4;
  int prefetch = 8;                // archive-get --spool: segments fetched ahead
  uint64_t segment_size = 16 << 20;
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

// Forks a detached worker that inherits `lock_fd` (holding its worker lock)
// and logs to `log_path`. True in the child; the parent (or a failed fork:
// the waiting call then times out clearly) closes its copy of the lock and
// gets false.
bool ForkDetached(const std::string& log_path, int lock_fd) {
  const pid_t pid = ::fork();
  if (pid != 0) {
    ::close(lock_fd);
    return false;
  }
  ::setsid();
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) ::dup2(null, 0);
  if (log >= 0) {
    ::dup2(log, 1);
    ::dup2(log, 2);
  }
  return true;
}

// Forks the spool worker, which inherits `lock_fd` (holding the worker
// lock) and runs detached until it is idle.
void StartWorker(const GlobalOptions& global, const PostgresOpts& o, uint64_t system_id,
                 const WalSpool& spool, int lock_fd) {
  if (!ForkDetached(spool.dir() + "/worker.log", lock_fd)) return;
  auto say = [](const std::string& line) { std::cerr << "lifeboat archive worker: " << line << "\n"; };
  auto repo = OpenRepository(global);
  if (!repo.ok()) {
    // Every waiting call must learn why: mark the segments that are ready.
    say(repo.status().ToString());
    if (auto ready = ReadyWalFiles(o.pgdata); ready.ok()) {
      for (const std::string& name : *ready) {
        if (spool.Check(name, nullptr) == WalSpool::State::kNone) {
          spool.MarkError(name, repo.status().ToString()).IgnoreError();
        }
      }
    }
    std::cerr.flush();
    ::_exit(1);
  }
  WorkerOptions wopt;
  wopt.threads = o.process_max;
  RunWalWorker(**repo, system_id, o.pgdata, spool, wopt, say);
  std::cerr.flush();
  ::_exit(0);
}

int ArchivePushAsync(const GlobalOptions& global, const PostgresOpts& o, uint64_t system_id) {
  if (o.spool.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "--async needs --spool DIR",
                                      "a directory of the server's user outside the data "
                                      "directory, e.g. /var/spool/lifeboat"));
  }
  const std::string name = o.path.substr(o.path.find_last_of('/') + 1);
  if (Status v = ValidateWalFileName(name); !v.ok()) return ReportError(global, v);
  WalSpool spool(o.spool, system_id);
  if (Status s = spool.Prepare(); !s.ok()) return ReportError(global, s);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(o.async_timeout);
  for (;;) {
    std::string message;
    switch (spool.Check(name, &message)) {
      case WalSpool::State::kOk:
        // The .ok stays until PostgreSQL has marked the segment .done and
        // the worker sweeps it: removed now, the worker could see the
        // segment still .ready and push it again.
        if (global.verbose > 0) Say(global, "archived " + o.path + " (async)");
        return kExitOk;
      case WalSpool::State::kError:
        spool.Consume(name);
        return ReportError(global, IoError("unable to archive " + o.path + ": " + message));
      case WalSpool::State::kNone:
        break;
    }
    auto lock = spool.TryLockWorker();
    if (!lock.ok()) return ReportError(global, lock.status());
    if (*lock >= 0) StartWorker(global, o, system_id, spool, *lock);
    if (std::chrono::steady_clock::now() > deadline) {
      return ReportError(global, Status(Code::kUnavailable,
                                        "timed out waiting for the archive worker to push " + name,
                                        "see " + spool.dir() + "/worker.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int ArchivePush(const GlobalOptions& global, const PostgresOpts& o) {
  auto system_id = SystemId(o);
  if (!system_id.ok()) return ReportError(global, system_id.status());
  if (o.async) return ArchivePushAsync(global, o, *system_id);
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

// Forks the prefetch worker (like StartWorker for pushes).
void StartFetchWorker(const GlobalOptions& global, const PostgresOpts& o, uint64_t system_id,
                      const WalFetchSpool& spool, int lock_fd) {
  if (!ForkDetached(spool.dir() + "/worker.log", lock_fd)) return;
  auto say = [](const std::string& line) { std::cerr << "lifeboat fetch worker: " << line << "\n"; };
  auto repo = OpenRepository(global);
  if (!repo.ok()) {
    say(repo.status().ToString());
    const std::string ask = spool.Wanted();
    const std::string want = ask.substr(0, ask.find(' '));
    if (ValidateWalFileName(want).ok()) {
      // The waiting call reports it (and consumes the marker).
      spool.MarkError(want, repo.status().ToString()).IgnoreError();
    }
    std::cerr.flush();
    ::_exit(1);
  }
  WalFetchWorkerOptions wopt;
  wopt.segment_size = o.segment_size;
  wopt.window = o.prefetch;
  wopt.threads = o.process_max;
  RunWalFetchWorker(**repo, system_id, spool, wopt, say);
  std::cerr.flush();
  ::_exit(0);
}

int ArchiveGetSpooled(const GlobalOptions& global, const PostgresOpts& o, uint64_t system_id) {
  if (Status v = ValidateWalFileName(o.wal_name); !v.ok()) {
    ReportError(global, v);
    return kExitWalError;
  }
  WalFetchSpool spool(o.spool, system_id);
  Status s = spool.Prepare();
  if (s.ok()) {
    s = spool.Await(o.wal_name, o.dest, o.async_timeout, [&](int lock_fd) {
      StartFetchWorker(global, o, system_id, spool, lock_fd);
    });
  }
  if (s.code() == Code::kNotFound) {
    if (!global.quiet) std::cerr << "lifeboat: " << s.message() << " (system " << system_id << ")\n";
    return kExitWalNotFound;
  }
  if (!s.ok()) {
    ReportError(global, s);
    return kExitWalError;
  }
  if (global.verbose > 0) Say(global, "restored " + o.wal_name + " to " + o.dest + " (spool)");
  return kExitOk;
}

int ArchiveGet(const GlobalOptions& global, const PostgresOpts& o) {
  auto fail = [&](const Status& s) {
    ReportError(global, s);
    return kExitWalError;
  };
  auto system_id = SystemId(o);
  if (!system_id.ok()) return fail(system_id.status());
  if (!o.spool.empty()) return ArchiveGetSpooled(global, o, *system_id);
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
                                     "restore_command, stream-wal)");
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
  push->add_flag("--async", o->async,
                 "hand the push to a background worker that opens the repository once and "
                 "pushes ahead of PostgreSQL (needs --spool)");
  push->add_option("--spool", o->spool, "spool directory for --async (owned by the server's user)");
  push->add_option("--async-timeout", o->async_timeout,
                   "seconds to wait for the worker before failing (default 60)");
  push->add_option("--process-max", o->process_max,
                   "segments the worker pushes in parallel (default 4)")
      ->check(CLI::Range(1, 64));
  push->callback(
      [&global, o, selected] { *selected = [&global, o] { return ArchivePush(global, *o); }; });
  CLI::App* get =
      cmd->add_subcommand("archive-get",
                          "restore one WAL file (restore_command = '... archive-get %f \"%p\"'); "
                          "exit 1 when it is not in the archive");
  get->add_option("walfile", o->wal_name, "the WAL file name (%f)")->required();
  get->add_option("dest", o->dest, "where to write it (%p)")->required();
  get->add_option("--spool", o->spool,
                  "fetch through a background worker that opens the repository once and "
                  "fetches the next segments ahead (directory of the server's user)");
  get->add_option("--prefetch", o->prefetch, "with --spool: segments fetched ahead (default 8)")
      ->check(CLI::Range(0, 256));
  get->add_option("--wal-segment-size", o->segment_size,
                  "with --spool: the cluster's wal_segment_size in bytes (default 16 MiB)");
  get->add_option("--async-timeout", o->async_timeout,
                  "with --spool: seconds to wait for the worker before failing (default 60)");
  add_common(get);
  get->callback(
      [&global, o, selected] { *selected = [&global, o] { return ArchiveGet(global, *o); }; });
  RegisterStreamWal(*cmd, global, selected);
}

}  // namespace lifeboat
