// lifeboat postgres stream-wal: a long-running WAL receiver for an RPO of
// seconds (src/walstream/wal_receiver.h). Runs until SIGTERM/SIGINT (then it
// flushes, stores the partial segment and exits 0) or a permanent failure
// (exit 1, one line). Meant to run as a service: dist/systemd/
// lifeboat-stream-wal@.service.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>

#include "cli/commands.h"
#include "model/time_format.h"
#include "postgres/pg_replication.h"
#include "walarchive/wal_spool.h"
#include "walstream/wal_receiver.h"

namespace lifeboat {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnStopSignal(int) { g_stop = 1; }

struct StreamWalOpts {
  std::string slot;
  bool create_slot = false;
  std::string spool;
  std::string flush_interval = "1s";
  std::string conninfo;
};

// "1s", "500ms", "2.5" (seconds), "1m".
Result<double> ParseInterval(const std::string& text) {
  std::string num = text;
  double scale = 1;
  auto ends = [&](const char* suffix) {
    size_t n = strlen(suffix);
    return num.size() > n && num.compare(num.size() - n, n, suffix) == 0;
  };
  if (ends("ms")) {
    num.resize(num.size() - 2), scale = 0.001;
  } else if (ends("s")) {
    num.resize(num.size() - 1);
  } else if (ends("m")) {
    num.resize(num.size() - 1), scale = 60;
  }
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(num.c_str(), &end);
  if (num.empty() || end != num.c_str() + num.size() || errno != 0 || !(v > 0)) {
    return InvalidArgument("--flush-interval wants a duration like 1s, 500ms or 2m, got '" +
                           text + "'");
  }
  v *= scale;
  if (v < 0.05 || v > 3600) return InvalidArgument("--flush-interval must be 50ms to 1h");
  return v;
}

std::string DefaultSpool() {
  const char* state = getenv("XDG_STATE_HOME");
  const char* home = getenv("HOME");
  std::string base = state != nullptr && *state != '\0'
                         ? std::string(state)
                         : std::string(home != nullptr ? home : "/tmp") + "/.local/state";
  return base + "/lifeboat/stream-wal";
}

int RunStreamWal(const GlobalOptions& global, const StreamWalOpts& o) {
  auto interval = ParseInterval(o.flush_interval);
  if (!interval.ok()) return ReportError(global, interval.status());
  if (!o.slot.empty()) {
    if (Status v = ValidateSlotName(o.slot); !v.ok()) return ReportError(global, v);
  } else if (o.create_slot) {
    return ReportError(global, InvalidArgument("--create-slot needs --slot NAME"));
  }
  const std::string spool = o.spool.empty() ? DefaultSpool() : o.spool;
  std::error_code ec;
  std::filesystem::create_directories(spool, ec);
  if (ec) return ReportError(global, IoError("unable to create the spool '" + spool + "': " + ec.message()));
  chmod(spool.c_str(), 0700);
  auto lock = TryLockFile(spool + "/stream-wal.lock");
  if (!lock.ok()) return ReportError(global, lock.status());
  if (*lock < 0) {
    return ReportError(global, Status(Code::kAlreadyExists,
                                      "another stream-wal is running with the spool " + spool,
                                      "one receiver per spool; give each cluster its own --spool"));
  }
  auto repo = OpenRepository(global);
  if (!repo.ok()) return ReportError(global, repo.status());

  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  WalReceiverOptions ro;
  ro.conninfo = o.conninfo;
  ro.slot = o.slot;
  ro.create_slot = o.create_slot;
  ro.spool_dir = spool;
  ro.flush_interval = *interval;
  ro.stop = &g_stop;
  ro.verbose = global.verbose > 0;
  const bool quiet = global.quiet;
  ro.log = [quiet](const std::string& line) {
    if (quiet) return;
    std::cerr << FormatTimeRfc3339(NowNs()) << " stream-wal: " << line << std::endl;
  };
  if (!quiet) {
    ro.log(fmt::format("spool {}, flush interval {}", spool, o.flush_interval));
  }
  WalReceiverStats stats;
  Status s = RunWalReceiver(**repo, ro, &stats);
  const std::string summary =
      fmt::format("{} segment(s) and {} partial(s) stored, {} received, flushed to {}",
                  stats.segments_stored, stats.partials_stored, FormatBytes(stats.bytes_received),
                  FormatLsn(stats.flush_lsn));
  if (!s.ok()) {
    ro.log("stopping: " + summary);
    return ReportError(global, s);
  }
  if (global.json) {
    PrintJson({{"message_type", "summary"},
               {"segments_stored", stats.segments_stored},
               {"partials_stored", stats.partials_stored},
               {"bytes_received", stats.bytes_received},
               {"flush_lsn", FormatLsn(stats.flush_lsn)}});
  } else {
    ro.log("stopped: " + summary);
  }
  return kExitOk;
}

}  // namespace

void RegisterStreamWal(CLI::App& postgres, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<StreamWalOpts>();
  CLI::App* cmd = postgres.add_subcommand(
      "stream-wal",
      "receive WAL continuously over the replication protocol (RPO of seconds): completed "
      "segments and, every flush interval, the partial one are stored in the repository");
  cmd->add_option("--slot", o->slot,
                  "physical replication slot to stream from (the server keeps WAL until it is "
                  "received)");
  cmd->add_flag("--create-slot", o->create_slot, "create the slot if it does not exist");
  cmd->add_option("--spool", o->spool,
                  "local directory for the segment being received (default "
                  "$XDG_STATE_HOME/lifeboat/stream-wal or ~/.local/state/lifeboat/stream-wal)");
  cmd->add_option("--flush-interval", o->flush_interval,
                  "how often WAL is fsync'ed, confirmed to the server and the partial segment "
                  "stored (default 1s)");
  cmd->add_option("--conninfo", o->conninfo,
                  "libpq connection string (better without a password: use PGPASSWORD or "
                  "~/.pgpass)")
      ->envname("LIFEBOAT_PG_CONNINFO");
  cmd->callback([&global, o, selected] {
    *selected = [&global, o] { return RunStreamWal(global, *o); };
  });
}

}  // namespace lifeboat
