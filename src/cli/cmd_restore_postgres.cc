// lifeboat restore postgres: restores a PostgreSQL base backup snapshot into
// a data directory (tablespaces to their locations, with the pg_tblspc
// links), optionally configures recovery to a target with restore_command =
// lifeboat postgres archive-get, and optionally starts the server and waits
// until it is out of recovery.
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <climits>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "archiver/archiver.h"
#include "cli/commands.h"
#include "cli/pg_logical.h"
#include "cli/progress.h"
#include "cli/snapshot_filter.h"
#include "model/tree.h"
#include "postgres/pg_replication.h"
#include "postgres/pg_server.h"
#include "repo/lock.h"
#include "restore/restorer.h"
#include "sources/child_process.h"
#include "walarchive/wal_archive.h"
#include "walarchive/wal_continuity.h"
#include "walarchive/wal_prefetch.h"

namespace lifeboat {
namespace {

struct RestorePostgresOpts {
  std::string snapshot;
  std::string target;
  bool force = false;
  bool delta = false;
  std::vector<std::string> tablespace_map;  // OID=DIR
  std::string to_time, to_xid, to_lsn, to_name;
  bool to_end = false;
  bool start = false;
  int port = 0;
  std::string pgbin;
  int start_timeout = 600;
  std::string archive_mode = "off";  // off | preserve
  bool allow_wal_gap = false;
  std::string wal_spool;  // default: TARGET.wal-spool
  bool no_prefetch = false;
  SnapshotFilterOptions filter;      // for "latest": --host, --tag, --path
  bool logical = false;  // --logical: pg_restore into --dbname
  std::string dbname;
  bool create = false;
  bool clean = false;
  int jobs = 1;
};

// Quotes for /bin/sh (PostgreSQL runs restore_command through the shell).
std::string ShellQuote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789_/.:=@%+,-") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// restore_command expands %f, %p and %r; a literal % must be written %%.
std::string PercentEscape(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '%' ? std::string("%%") : std::string(1, c);
  return out;
}

// A postgresql.conf string value: '...' with ' doubled and \ escaped.
std::string ConfQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "''";
    else if (c == '\\') out += "\\\\";
    else out += c;
  }
  return out + "'";
}

bool IsEmptyDir(const std::string& path, bool* exists) {
  struct stat st {};
  *exists = stat(path.c_str(), &st) == 0;
  if (!*exists) return true;
  if (!S_ISDIR(st.st_mode)) return false;
  std::error_code ec;
  return std::filesystem::is_empty(path, ec) && !ec;
}

Status CheckTargetDir(const std::string& path, bool force, const char* what) {
  bool exists = false;
  if (!IsEmptyDir(path, &exists) && !force) {
    return Status(Code::kAlreadyExists, std::string(what) + " '" + path + "' is not empty",
                  "restore into a new or empty folder, or use --force to restore over it");
  }
  return Status::Ok();
}

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "lifeboat";
  return std::string(buf, static_cast<size_t>(n));
}

// A repository location for a command run from elsewhere: local paths made
// absolute, URLs (s3:..., sftp:...) kept.
std::string AbsoluteRepo(const std::string& repo) {
  size_t colon = repo.find(':'), slash = repo.find('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon < slash)) return repo;
  return NormalizeBackupPath(repo);
}

uid_t g_chown_uid;
gid_t g_chown_gid;
int ChownEntry(const char* path, const struct stat*, int, struct FTW*) {
  lchown(path, g_chown_uid, g_chown_gid);
  return 0;
}

// Runs argv with its output discarded and its errors on ours, and waits:
// how it ended, or why it could not start.
Result<ExitStatus> RunQuietly(const std::vector<std::string>& argv) {
  ChildOptions options;
  options.capture_stderr = false;
  options.stdout_null = true;
  LB_ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> child, ChildProcess::Start(argv, options));
  return child->Wait();
}

// "exit status 1", or why the program did not start.
std::string HowItEnded(const Result<ExitStatus>& ran) {
  return ran.ok() ? ran->Describe() : ran.status().message();
}

std::string TailOfFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

Result<std::map<std::string, std::string>> ParseTablespaceMap(const std::vector<std::string>& specs) {
  std::map<std::string, std::string> out;
  for (const std::string& spec : specs) {
    size_t eq = spec.find('=');
    std::string oid = spec.substr(0, eq);
    if (eq == std::string::npos || oid.empty() ||
        oid.find_first_not_of("0123456789") != std::string::npos || eq + 1 >= spec.size()) {
      return InvalidArgument("--tablespace-map wants OID=DIR, got '" + spec + "'");
    }
    out[oid] = NormalizeBackupPath(spec.substr(eq + 1));
  }
  return out;
}

int RunRestorePostgres(const GlobalOptions& global, const RestorePostgresOpts& o) {
  if (o.target.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "no target given",
                                      "use --target DATADIR (an empty or new folder)"));
  }
  int targets = !o.to_time.empty() + !o.to_xid.empty() + !o.to_lsn.empty() + !o.to_name.empty() +
                o.to_end;
  if (targets > 1) {
    return ReportError(global, InvalidArgument("give at most one of --to-time, --to-xid, "
                                               "--to-lsn, --to-name and --to-end"));
  }
  const bool recover = targets == 1;
  if (recover && global.password_file.empty() && global.password_command.empty()) {
    return ReportError(
        global, Status(Code::kInvalidArgument,
                       "recovery from the WAL archive needs --password-file or --password-command",
                       "the server runs 'lifeboat postgres archive-get' as restore_command and a "
                       "password is never written into its configuration"));
  }
  if (!o.to_xid.empty() && o.to_xid.find_first_not_of("0123456789") != std::string::npos) {
    return ReportError(global, InvalidArgument("--to-xid wants a transaction id (digits)"));
  }
  if (!o.to_lsn.empty()) {
    auto lsn = ParseLsn(o.to_lsn);
    if (!lsn.ok()) return ReportError(global, lsn.status());
  }
  if (o.archive_mode != "off" && o.archive_mode != "preserve") {
    return ReportError(global, InvalidArgument("--archive-mode wants off or preserve"));
  }
  if (o.start && (o.port <= 0 || o.port > 65535)) {
    return ReportError(global, InvalidArgument("--start needs --port P (1-65535)"));
  }
  auto ts_map = ParseTablespaceMap(o.tablespace_map);
  if (!ts_map.ok()) return ReportError(global, ts_map.status());
  const std::string target = NormalizeBackupPath(o.target);
  Status empty = CheckTargetDir(target, o.force || o.delta, "target");
  if (!empty.ok()) return ReportError(global, empty);
  if (o.delta) {
    // Rewriting the files of a running server would corrupt it.
    std::ifstream pidfile(target + "/postmaster.pid");
    long pid = 0;
    if (pidfile >> pid && pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) {
      return ReportError(global, Status(Code::kInvalidArgument,
                                        "a server is running in " + target + " (pid " +
                                            std::to_string(pid) + ")",
                                        "stop it first: a delta restore rewrites its files"));
    }
  }

  auto repo = OpenRepository(global);
  if (!repo.ok()) return ReportError(global, repo.status());
  auto lock = RepoLock::Acquire(**repo, false);
  if (!lock.ok()) return ReportError(global, lock.status());
  Status loaded = (*repo)->LoadIndex();
  if (!loaded.ok()) return ReportError(global, loaded);
  auto is_pg = [&o](const Snapshot& s) {
    return s.source == "postgres" && MatchesFilter(o.filter, s);
  };
  auto snap = o.snapshot == "latest" ? (*repo)->FindSnapshot("latest", is_pg)
                                     : (*repo)->FindSnapshot(o.snapshot);
  if (!snap.ok()) {
    if (snap.status().code() == Code::kNotFound && o.snapshot == "latest") {
      return ReportError(global, NotFound("the repository holds no PostgreSQL snapshot"));
    }
    return ReportError(global, snap.status());
  }
  if (snap->snapshot.source != "postgres") {
    return ReportError(global, InvalidArgument("snapshot " + snap->id.Short() + " is a '" +
                                               snap->snapshot.source +
                                               "' snapshot, not a PostgreSQL base backup"));
  }
  const auto& info = snap->snapshot.source_info;
  auto get = [&info](const char* key) {
    auto it = info.find(key);
    return it == info.end() ? std::string() : it->second;
  };
  Say(global, fmt::format("restoring PostgreSQL base backup {} of {} taken {} to {}",
                          snap->id.Short(),
                          snap->snapshot.paths.empty() ? "?" : snap->snapshot.paths[0],
                          FormatLocalTime(snap->snapshot.time_ns), target));
  Say(global, fmt::format("backup WAL range {} .. {} (timeline {}, {} .. {}), WAL {}",
                          get("start_lsn"), get("stop_lsn"), get("timeline"),
                          get("start_wal_file"), get("stop_wal_file"),
                          get("wal_included") == "false" ? "not included (needs the archive)"
                                                         : "included"));
  if (get("wal_included") == "false" && !recover) {
    return ReportError(
        global, Status(Code::kInvalidArgument,
                       "this base backup was taken with --no-wal: it needs WAL from the archive",
                       "add --to-end (or a --to-* target) with --password-file"));
  }

  // A gap in the archive stops replay there: say so before anything is
  // written, and refuse a recovery "to the end" that could not reach it.
  uint64_t system_id = 0;
  uint64_t segment_size = 0;
  bool wal_identity_known = false;  // system id, timeline and first WAL file recorded
  if (recover) {
    const std::string sys = get("system_identifier");
    auto [ptr, ec] = std::from_chars(sys.data(), sys.data() + sys.size(), system_id);
    uint32_t timeline = 0;
    const std::string tli = get("timeline");
    auto [tptr, tec] = std::from_chars(tli.data(), tli.data() + tli.size(), timeline);
    const std::string seg = get("wal_segment_size");
    std::from_chars(seg.data(), seg.data() + seg.size(), segment_size);
    wal_identity_known =
        ec == std::errc() && tec == std::errc() && !get("start_wal_file").empty();
    if (wal_identity_known) {
      auto archived = ListWal(**repo, system_id);
      if (!archived.ok()) return ReportError(global, archived.status());
      std::vector<std::string> names;
      // stream-wal partials stand in for segments that have no full copy.
      std::set<std::string> full;
      for (const WalEntry& e : *archived) {
        if (e.name.size() == 24) full.insert(e.name);
      }
      std::string streamed;  // the newest partial standing in for its segment
      uint64_t streamed_bytes = 0;
      for (const WalEntry& e : *archived) {
        names.push_back(e.name);
        std::string segment;
        uint64_t valid = 0;
        if (ParseStreamPartialName(e.name, &segment, &valid) && full.count(segment) == 0) {
          names.push_back(segment);
          if (segment > streamed || (segment == streamed && valid > streamed_bytes)) {
            streamed = segment;
            streamed_bytes = valid;
          }
        }
      }
      if (!streamed.empty()) {
        streamed = fmt::format("{} ({} bytes streamed)", streamed, streamed_bytes);
      }
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
      if (!streamed.empty()) {
        Say(global, "WAL from stream-wal: segments without a full copy are replayed from their "
                    "newest partial, the last being " + streamed);
      }
      const auto gaps = FindWalGaps(names, timeline, get("start_wal_file"), segment_size);
      for (const WalGap& g : gaps) {
        Say(global, fmt::format("warning: the WAL archive lacks {} segment(s) from {} (next "
                                "archived: {}): replay cannot go past {}",
                                g.missing, g.first_missing, g.next_available, g.first_missing));
      }
      if (!gaps.empty() && o.to_end && !o.allow_wal_gap) {
        return ReportError(
            global,
            Status(Code::kNotFound,
                   "WAL segment " + gaps[0].first_missing +
                       " is missing from the archive: a recovery to the end would stop there "
                       "and lose every later transaction",
                   "recover to a point before it (--to-lsn/--to-time), or accept the loss "
                   "with --allow-wal-gap"));
      }
      if (names.empty()) {
        Say(global, "note: the archive holds no WAL of this cluster: recovery ends where the "
                    "base backup ends");
      }
    }
  }

  // Tablespaces: their locations (original unless remapped) must be empty too.
  std::map<std::string, std::string> original;
  {
    std::string spaces = get("tablespaces");
    size_t pos = 0;
    while (pos < spaces.size()) {
      size_t nl = spaces.find('\n', pos);
      if (nl == std::string::npos) nl = spaces.size();
      std::string line = spaces.substr(pos, nl - pos);
      size_t eq = line.find('=');
      if (eq != std::string::npos) original[line.substr(0, eq)] = line.substr(eq + 1);
      pos = nl + 1;
    }
  }
  auto root_blob = (*repo)->LoadBlob(format::BlobType::kTree, snap->snapshot.tree);
  if (!root_blob.ok()) return ReportError(global, root_blob.status());
  auto root = DecodeTree(*root_blob);
  if (!root.ok()) return ReportError(global, root.status());
  if (!root->Find("pgdata")) {
    return ReportError(global, Corrupt("snapshot " + snap->id.Short() + " has no /pgdata"));
  }
  std::map<std::string, std::string> locations;  // oid -> where it is restored
  if (const Node* ts = root->Find("tablespaces"); ts && ts->subtree) {
    auto blob = (*repo)->LoadBlob(format::BlobType::kTree, *ts->subtree);
    if (!blob.ok()) return ReportError(global, blob.status());
    auto tree = DecodeTree(*blob);
    if (!tree.ok()) return ReportError(global, tree.status());
    for (const Node& n : tree->nodes) {
      std::string where = ts_map->count(n.name) ? ts_map->at(n.name) : original[n.name];
      if (where.empty() || where[0] != '/') {
        return ReportError(global, Status(Code::kInvalidArgument,
                                          "no location known for tablespace " + n.name,
                                          "give --tablespace-map " + n.name + "=DIR"));
      }
      Status s = CheckTargetDir(where, o.force || o.delta, "tablespace location");
      if (!s.ok()) return ReportError(global, s);
      locations[n.name] = where;
    }
  }
  for (const auto& [oid, dir] : *ts_map) {
    if (!locations.count(oid)) {
      return ReportError(global, InvalidArgument("the snapshot has no tablespace " + oid));
    }
  }

  std::error_code ec;
  std::filesystem::create_directories(target, ec);
  if (ec || chmod(target.c_str(), 0700) != 0) {
    return ReportError(global, ErrnoStatus(errno, "unable to create '" + target + "'"));
  }
  // Owner: as root, everything belongs to the postgres user (the server
  // refuses a data directory it does not own).
  bool as_server_user = false;  // chown to, and run the server as, postgres
  uid_t server_uid = 0;
  gid_t server_gid = 0;
  if (geteuid() == 0) {
    if (const struct passwd* pw = getpwnam("postgres")) {
      as_server_user = true;
      server_uid = pw->pw_uid;
      server_gid = pw->pw_gid;
    }
  }
  if (geteuid() == 0 && !as_server_user && o.start) {
    return ReportError(global, Status(Code::kInvalidArgument,
                                      "--start as root needs a 'postgres' user to run the "
                                      "server as"));
  }
  const std::string spool_dir =
      o.wal_spool.empty() ? target + ".wal-spool" : NormalizeBackupPath(o.wal_spool);
  if (recover && !o.no_prefetch) {
    std::filesystem::create_directories(spool_dir, ec);
    if (ec || chmod(spool_dir.c_str(), 0700) != 0) {
      return ReportError(global, ErrnoStatus(errno, "unable to create the WAL spool '" +
                                                        spool_dir + "'"));
    }
  }
  // With --start this process outlives recovery and has the repository
  // open: it fetches the WAL itself, from the backup's first segment on,
  // while the files are restored (WalPrefetchThread).
  WalPrefetchThread prefetch;
  if (recover && !o.no_prefetch && o.start && wal_identity_known) {
    WalFetchSpool spool(spool_dir, system_id);
    Status s = spool.Prepare();
    WalFetchWorkerOptions wopt;
    if (segment_size > 0) wopt.segment_size = segment_size;
    if (as_server_user) {
      wopt.owner_uid = static_cast<int>(server_uid);
      wopt.owner_gid = static_cast<int>(server_gid);
    }
    if (s.ok()) s = prefetch.Start(**repo, system_id, spool, get("start_wal_file"), wopt);
    if (!s.ok()) return ReportError(global, s);
  }
  InstallInterruptHandler();
  auto t0 = std::chrono::steady_clock::now();
  uint64_t files = 0, bytes = 0, unchanged = 0, unchanged_bytes = 0, removed = 0;
  auto restore_one = [&](const std::string& subpath, const std::string& into) -> Status {
    RestorerOptions ropt;
    ropt.target = into;
    ropt.allow_existing = o.force || o.delta;
    ropt.delta = o.delta;
    ropt.stop = &InterruptFlag();
    Restorer restorer(**repo, ropt);
    const RestoreProgress& p = restorer.progress();
    Result<RestoreResult> r = Status(Code::kInternal, "not run");
    {
      ProgressReporter reporter(
          global, "restore",
          RestoreSampler(p),
          nullptr);
      r = restorer.Restore(snap->snapshot.tree, subpath);
    }
    if (!r.ok()) return r.status();
    for (const RestoreError& e : r->errors) {
      ReportItem(global, "error", "error", e.path, e.status.message());
    }
    if (!r->errors.empty()) {
      return IoError(fmt::format("{} file(s) of {} could not be restored", r->errors.size(),
                                 subpath));
    }
    files += r->files;
    bytes += r->bytes;
    unchanged += r->files_unchanged;
    unchanged_bytes += r->bytes_unchanged;
    removed += r->entries_removed;
    return Status::Ok();
  };
  Status s = restore_one("/pgdata", target);
  if (!s.ok()) return ReportError(global, s);
  for (const auto& [oid, where] : locations) {
    std::filesystem::create_directories(where, ec);
    chmod(where.c_str(), 0700);
    s = restore_one("/tablespaces/" + oid, where);
    if (!s.ok()) return ReportError(global, s);
    const std::string link = target + "/pg_tblspc/" + oid;
    std::filesystem::create_directories(target + "/pg_tblspc", ec);
    unlink(link.c_str());
    if (symlink(where.c_str(), link.c_str()) != 0) {
      return ReportError(global, ErrnoStatus(errno, "unable to link '" + link + "'"));
    }
  }
  if (!locations.empty()) {
    // PostgreSQL recreates the pg_tblspc links from tablespace_map when it
    // starts from a backup: it must name the locations used here.
    std::ofstream map(target + "/tablespace_map", std::ios::trunc);
    for (const auto& [oid, where] : locations) map << oid << " " << where << "\n";
    if (!map) return ReportError(global, IoError("unable to write tablespace_map"));
  }

  // --start --to-end with the in-process prefetch: recover as a standby and
  // promote it as soon as PostgreSQL asks for the segment after the
  // archive's last. Promotion ends recovery with an end-of-recovery record
  // instead of the immediate checkpoint archive recovery waits for (~0.4 s
  // on a 770 MiB cluster; the checkpoint then runs in the background).
  const bool promote_when_replayed = recover && o.to_end && o.start && prefetch.running();
  const std::string signal_file = promote_when_replayed ? "standby.signal" : "recovery.signal";
  std::string conf;  // settings appended to postgresql.auto.conf
  if (recover) {
    std::string cmd = PercentEscape(ShellQuote(SelfExe())) + " --repo " +
                      PercentEscape(ShellQuote(AbsoluteRepo(global.repo)));
    if (!global.password_file.empty()) {
      cmd += " --password-file " +
             PercentEscape(ShellQuote(NormalizeBackupPath(global.password_file)));
    } else {
      cmd += " --password-command " + PercentEscape(ShellQuote(global.password_command));
    }
    // Storage options (s3.*, sftp.*) carry no secrets: credentials come
    // from the environment or files, which the server inherits or reads.
    for (const std::string& opt : global.options) {
      cmd += " -o " + PercentEscape(ShellQuote(opt));
    }
    cmd += " postgres archive-get %f \"%p\"";
    if (!o.no_prefetch) {
      // One repository open for the whole replay, segments fetched ahead.
      cmd += " --spool " + PercentEscape(ShellQuote(spool_dir));
      if (!get("wal_segment_size").empty() &&
          get("wal_segment_size").find_first_not_of("0123456789") == std::string::npos) {
        cmd += " --wal-segment-size " + get("wal_segment_size");
      }
      // In front of it, when installed beside this binary: the lean
      // lifeboat-wal-get serves each segment from the spool in a few
      // milliseconds and runs the command above only to start a worker.
      const std::string self = SelfExe();
      const std::string helper = self.substr(0, self.find_last_of('/') + 1) + "lifeboat-wal-get";
      if (wal_identity_known && access(helper.c_str(), X_OK) == 0) {
        cmd = PercentEscape(ShellQuote(helper)) + " --spool " +
              PercentEscape(ShellQuote(spool_dir)) + " --system-id " + std::to_string(system_id) +
              " %f \"%p\" -- " + cmd;
      }
    }
    conf += "restore_command = " + ConfQuote(cmd) + "\n";
    if (!o.to_time.empty()) conf += "recovery_target_time = " + ConfQuote(o.to_time) + "\n";
    if (!o.to_xid.empty()) conf += "recovery_target_xid = " + ConfQuote(o.to_xid) + "\n";
    if (!o.to_lsn.empty()) conf += "recovery_target_lsn = " + ConfQuote(o.to_lsn) + "\n";
    if (!o.to_name.empty()) conf += "recovery_target_name = " + ConfQuote(o.to_name) + "\n";
    if (!o.to_end) conf += "recovery_target_action = 'promote'\n";
    if (promote_when_replayed) {
      // A standby never streams here: only the archive feeds it.
      conf += "primary_conninfo = ''\n";
    }
    std::ofstream signal(target + "/" + signal_file, std::ios::trunc);
    if (!signal) {
      return ReportError(global, IoError("unable to write " + signal_file + " in " + target));
    }
  }
  if (o.archive_mode == "off") {
    // The restored cluster carries the original archive_command: a restored
    // copy (a drill, a test restore) would push its new timeline's WAL and
    // history files into the production archive, where a later recovery
    // following the latest timeline could pick them up.
    conf += "archive_mode = 'off'\n";
  }
  if (!conf.empty()) {
    std::ofstream auto_conf(target + "/postgresql.auto.conf", std::ios::app);
    auto_conf << fmt::format("\n# Added by lifeboat restore postgres (snapshot {})\n",
                             snap->id.Short())
              << conf;
    if (!auto_conf) {
      return ReportError(global, IoError("unable to write postgresql.auto.conf in " + target));
    }
  }

  std::string run_as;
  if (as_server_user) {
    g_chown_uid = server_uid;
    g_chown_gid = server_gid;
    nftw(target.c_str(), ChownEntry, 64, FTW_PHYS);
    for (const auto& [oid, where] : locations) nftw(where.c_str(), ChownEntry, 64, FTW_PHYS);
    if (recover && !o.no_prefetch) nftw(spool_dir.c_str(), ChownEntry, 64, FTW_PHYS);
    run_as = "postgres";
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Say(global, fmt::format("restored {} files, {} in {}", files, FormatBytes(bytes),
                          FormatSeconds(seconds)));
  if (o.delta) {
    Say(global, fmt::format("delta: {} files ({}) were already right and kept, {} written, {} "
                            "entries not in the backup removed",
                            unchanged, FormatBytes(unchanged_bytes), files - unchanged, removed));
  }
  std::string target_desc = !o.to_time.empty()   ? "time " + o.to_time
                            : !o.to_xid.empty()  ? "transaction " + o.to_xid
                            : !o.to_lsn.empty()  ? "LSN " + o.to_lsn
                            : !o.to_name.empty() ? "restore point '" + o.to_name + "'"
                            : o.to_end           ? "the end of the archived WAL"
                                                 : "";
  if (recover) {
    Say(global, "recovery configured: replay WAL from the repository to " + target_desc + " (" +
                    signal_file + ", postgresql.auto.conf" +
                    (promote_when_replayed ? "; promoted once the archive is replayed" : "") + ")");
    if (!o.no_prefetch && !o.start) {
      Say(global, "WAL is fetched ahead into " + spool_dir + "; remove it once recovery is over");
    }
  } else {
    Say(global, "no recovery target: the server will start consistent as of the backup's end (" +
                    get("stop_lsn") + ")");
  }
  Say(global, o.archive_mode == "off"
                  ? "WAL archiving is off in the restored server (archive_mode = 'off'; use "
                    "--archive-mode preserve for the server that replaces the lost one)"
                  : "WAL archiving settings preserved from the backed-up server");

  PgRecoveredPoint point;
  if (o.start) {
    const std::string pgbin = !o.pgbin.empty()              ? o.pgbin
                              : getenv("PGBIN") != nullptr ? getenv("PGBIN")
                                                           : "/usr/lib/postgresql/15/bin";
    const std::string log = target + "/lifeboat-start.log";
    std::vector<std::string> argv;
    if (!run_as.empty()) argv = {"runuser", "-u", run_as, "--"};
    argv.insert(argv.end(),
                {pgbin + "/pg_ctl", "-D", target, "-l", log, "-w", "-t",
                 std::to_string(o.start_timeout), "-o",
                 fmt::format("-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
                             o.port),
                 "start"});
    Say(global, fmt::format("starting PostgreSQL on 127.0.0.1:{} ({})", o.port, pgbin));
    const Result<ExitStatus> started = RunQuietly(argv);
    if (!started.ok() || !started->success()) {
      std::cerr << TailOfFile(log, 2000);
      return ReportError(global, IoError(fmt::format("pg_ctl start failed ({}); log: {}",
                                                     HowItEnded(started), log)));
    }
    std::string user = getenv("PGUSER") ? getenv("PGUSER") : run_as;
    bool promoted = false;
    auto promote = [&] {
      if (!promote_when_replayed || promoted || !prefetch.exhausted()) return;
      promoted = true;
      std::vector<std::string> pargv;
      if (!run_as.empty()) pargv = {"runuser", "-u", run_as, "--"};
      pargv.insert(pargv.end(), {pgbin + "/pg_ctl", "-D", target, "promote", "--no-wait"});
      if (const Result<ExitStatus> ran = RunQuietly(pargv); !ran.ok() || !ran->success()) {
        std::cerr << "lifeboat: pg_ctl promote failed (" << HowItEnded(ran) << ")\n";
      }
    };
    auto waited = WaitUntilOutOfRecovery(o.port, user, o.start_timeout, promote);
    if (!waited.ok()) {
      std::cerr << TailOfFile(log, 2000);
      Status why = waited.status();
      if (promote_when_replayed && !promoted) {
        why = why.WithContext("the restored server is a standby waiting for more WAL (finish "
                              "with: pg_ctl -D " + target + " promote)");
      }
      return ReportError(global, why);
    }
    point = *waited;
    prefetch.Stop();
    if (recover && !o.no_prefetch) {
      // Recovery is over: the spool (prefetched segments) is not needed.
      std::filesystem::remove_all(spool_dir, ec);
    }
    Say(global, fmt::format("server ready on 127.0.0.1:{}: recovered to {}{} (timeline {})",
                            o.port, point.current_lsn,
                            point.last_replay_time.empty()
                                ? ""
                                : ", last replayed transaction at " + point.last_replay_time,
                            point.timeline));
  }
  if (global.json) {
    nlohmann::json j = {{"message_type", "summary"},
                        {"snapshot_id", snap->id.Hex()},
                        {"target", target},
                        {"files_restored", files},
                        {"bytes_restored", bytes},
                        {"files_unchanged", unchanged},
                        {"entries_removed", removed},
                        {"start_lsn", get("start_lsn")},
                        {"stop_lsn", get("stop_lsn")},
                        {"recovery_target", target_desc},
                        {"total_duration", seconds}};
    if (o.start) {
      j["recovered_lsn"] = point.current_lsn;
      j["last_replay_time"] = point.last_replay_time;
      j["timeline"] = point.timeline;
    }
    PrintJson(j);
  }
  return kExitOk;
}

}  // namespace

CLI::App* RegisterRestorePostgres(CLI::App& restore, GlobalOptions& global,
                                  CommandRunner* selected) {
  auto o = std::make_shared<RestorePostgresOpts>();
  CLI::App* cmd = restore.add_subcommand(
      "postgres", "restore a PostgreSQL base backup into a data directory, optionally "
                  "recovering to a point in time and starting the server");
  cmd->add_option("snapshot", o->snapshot, "snapshot id or 'latest' (newest PostgreSQL one)")
      ->required();
  cmd->add_option("-t,--target", o->target, "data directory to restore into (new or empty)");
  cmd->add_flag("--force", o->force, "restore into a non-empty directory");
  cmd->add_flag("--delta", o->delta,
                "restore over an existing data directory (of a stopped server), rewriting only "
                "files that differ and removing files the backup does not have");
  cmd->add_option("--tablespace-map", o->tablespace_map,
                  "restore tablespace OID to DIR instead of its original location (OID=DIR, "
                  "repeatable)");
  cmd->add_option("--to-time", o->to_time, "recover to this time (recovery_target_time)");
  cmd->add_option("--to-xid", o->to_xid, "recover to this transaction id");
  cmd->add_option("--to-lsn", o->to_lsn, "recover to this WAL position");
  cmd->add_option("--to-name", o->to_name, "recover to this named restore point");
  cmd->add_flag("--to-end", o->to_end, "replay all archived WAL, then promote");
  AddSnapshotFilterOptions(cmd, &o->filter);  // which one "latest" is
  cmd->add_flag("--start", o->start, "start the restored server and wait for it to be ready");
  cmd->add_option("--port", o->port, "port for --start (listens on 127.0.0.1)");
  cmd->add_option("--pgbin", o->pgbin,
                  "PostgreSQL programs for --start (default $PGBIN or /usr/lib/postgresql/15/bin)");
  cmd->add_option("--start-timeout", o->start_timeout, "seconds to wait for --start (default 600)");
  cmd->add_option("--wal-spool", o->wal_spool,
                  "directory where recovery's archive-get prefetches WAL (default "
                  "TARGET.wal-spool; removed after --start)");
  cmd->add_flag("--no-prefetch", o->no_prefetch,
                "restore_command opens the repository for every WAL file (no spool)");
  cmd->add_flag("--allow-wal-gap", o->allow_wal_gap,
                "with --to-end: recover up to a gap in the WAL archive instead of refusing");
  cmd->add_option("--archive-mode", o->archive_mode,
                  "off (default): the restored server does not archive WAL; preserve: keep "
                  "the original archive_mode/archive_command (for the server that replaces "
                  "the lost one)");
  cmd->add_flag("--logical", o->logical,
                "restore a logical backup (backup postgres --logical) into --dbname through "
                "pg_restore");
  cmd->add_option("--dbname", o->dbname, "with --logical: the database to restore into");
  cmd->add_flag("--create", o->create,
                "with --logical: create the database first (pg_restore --create)");
  cmd->add_flag("--clean", o->clean,
                "with --logical: drop the objects the dump holds before recreating them");
  cmd->add_option("-j,--jobs", o->jobs,
                  "with --logical: parallel pg_restore jobs (the dump is then written to a "
                  "private temporary file first)");
  cmd->callback([&global, o, selected] {
    *selected = [&global, o] {
      if (o->logical) {
        if (!o->target.empty() || o->start || o->to_end || !o->to_time.empty() ||
            !o->to_xid.empty() || !o->to_lsn.empty() || !o->to_name.empty() || o->delta) {
          return ReportError(global, InvalidArgument("--target, --start, --delta and --to-* "
                                                     "are for base backups, not --logical"));
        }
        PgLogicalRestoreOpts lo;
        lo.snapshot = o->snapshot;
        lo.dbname = o->dbname;
        lo.create = o->create;
        lo.clean = o->clean;
        lo.jobs = o->jobs;
        lo.filter = o->filter;
        return RunRestorePostgresLogical(global, lo);
      }
      if (!o->dbname.empty() || o->create || o->clean || o->jobs != 1) {
        return ReportError(global, InvalidArgument("--dbname, --create, --clean and -j are for "
                                                   "--logical restores"));
      }
      return RunRestorePostgres(global, *o);
    };
  });
  return cmd;
}

}  // namespace lifeboat
