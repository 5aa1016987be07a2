// lifeboat restore sqlite|redis|git: writes what `backup sqlite|redis|git`
// stored back as a usable database file, RDB file or working repository.
// Each writes into a temporary file or folder beside its destination first
// and renames it into place only once it is complete and checked, so an
// interrupted restore never leaves a half-written database where the old one
// was. Each says which snapshot it restored and what it wrote where.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <filesystem>
#include <fmt/format.h>
#include <functional>

#include "archiver/archiver.h"
#include "cli/commands.h"
#include "cli/pg_logical.h"
#include "cli/snapshot_filter.h"
#include "model/tree.h"
#include "repo/lock.h"
#include "restore/dump.h"
#include "sources/child_process.h"
#include "sources/git_source.h"
#include "sources/redis_source.h"
#include "sources/sqlite_source.h"

namespace lifeboat {
namespace {

struct SourceRestoreOpts {
  std::string snapshot = "latest";
  std::string target;
  bool force = false;
  SnapshotFilterOptions filter;
};

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status FsyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "unable to open folder '" + dir + "'");
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc != 0) return ErrnoStatus(e, "unable to sync folder '" + dir + "'");
  return Status::Ok();
}

// An open repository with the chosen snapshot of `kind` and the name of the
// single file at its root.
struct OpenedSource {
  std::unique_ptr<Repository> repo;
  std::unique_ptr<RepoLock> lock;
  SnapshotEntry snap;
  std::string file;
  uint64_t size = 0;
};

Result<OpenedSource> OpenSourceSnapshot(
    const GlobalOptions& global, const SourceRestoreOpts& o, const std::string& kind,
    const std::string& what,
    const std::function<bool(const Snapshot&)>& also = [](const Snapshot&) { return true; },
    const std::string& also_text = "") {
  OpenedSource out;
  LB_ASSIGN_OR_RETURN(out.repo, OpenRepository(global));
  LB_ASSIGN_OR_RETURN(out.lock, RepoLock::Acquire(*out.repo, false));
  LB_RETURN_IF_ERROR(out.repo->LoadIndex());
  if (o.snapshot == "latest") {
    auto found = out.repo->FindSnapshot("latest", [&](const Snapshot& s) {
      return s.source == kind && MatchesFilter(o.filter, s) && also(s);
    });
    if (!found.ok() && found.status().code() == Code::kNotFound) {
      return Status(Code::kNotFound, "the repository holds no " + what + " snapshot" + also_text +
                                         (o.filter.paths.empty() && o.filter.hosts.empty() &&
                                                  o.filter.tags.empty()
                                              ? std::string()
                                              : " matching --path/--host/--tag"),
                    "list them with: lifeboat snapshots");
    }
    LB_ASSIGN_OR_RETURN(out.snap, std::move(found));
  } else {
    LB_ASSIGN_OR_RETURN(out.snap, out.repo->FindSnapshot(o.snapshot));
    if (out.snap.snapshot.source != kind) {
      return InvalidArgument("snapshot " + out.snap.id.Short() + " is a '" +
                             out.snap.snapshot.source + "' snapshot, not a " + what + " one");
    }
  }
  LB_ASSIGN_OR_RETURN(Bytes root_blob,
                      out.repo->LoadBlob(format::BlobType::kTree, out.snap.snapshot.tree));
  LB_ASSIGN_OR_RETURN(Tree root, DecodeTree(root_blob));
  if (root.nodes.size() != 1 || root.nodes[0].type != NodeType::kFile) {
    return Corrupt("snapshot " + out.snap.id.Short() + " does not hold exactly one file, as a " +
                   what + " snapshot should");
  }
  out.file = root.nodes[0].name;
  out.size = root.nodes[0].size;
  return out;
}

// Writes the snapshot's file into a new temporary file (mode 0600) in `dir`;
// returns its path. The file is synced.
Result<std::string> DumpToTemp(OpenedSource& src, const std::string& dir, const std::string& stem) {
  std::string path = dir + "/." + stem + ".lifeboat-XXXXXX";
  int fd = mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "unable to create a temporary file in '" + dir + "'");
  fchmod(fd, 0600);
  Status st = DumpTar(*src.repo, src.snap.snapshot.tree, "/" + src.file, fd);
  if (st.ok() && fsync(fd) != 0) st = ErrnoStatus(errno, "unable to sync '" + path + "'");
  if (close(fd) != 0 && st.ok()) st = ErrnoStatus(errno, "unable to write '" + path + "'");
  if (!st.ok()) {
    unlink(path.c_str());
    return st;
  }
  return path;
}

void SayRestored(const GlobalOptions& global, const OpenedSource& src, const std::string& kind,
                 const std::string& target, const std::string& detail) {
  const Snapshot& s = src.snap.snapshot;
  if (global.json) {
    nlohmann::json j = {{"message_type", "summary"},
                        {"snapshot_id", src.snap.id.Hex()},
                        {"snapshot_time", FormatLocalTime(s.time_ns)},
                        {"source", kind},
                        {"source_path", s.paths.empty() ? "" : s.paths[0]},
                        {"target", target},
                        {"bytes", src.size},
                        {"detail", detail}};
    PrintJson(j);
  } else {
    Say(global, fmt::format("restored {} snapshot {} of {} taken {}", kind, src.snap.id.Short(),
                            s.paths.empty() ? "?" : s.paths[0], FormatLocalTime(s.time_ns)));
    Say(global, fmt::format("wrote {} ({}) to {}", src.file, FormatBytes(src.size), target));
    if (!detail.empty()) Say(global, detail);
  }
}

// ---- sqlite ----

int RunRestoreSqlite(const GlobalOptions& global, const SourceRestoreOpts& o) {
  if (o.target.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "no target given",
                                      "use --target FILE (the database file to write)"));
  }
  const std::string target = NormalizeBackupPath(o.target);
  struct stat st {};
  if (lstat(target.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return ReportError(global, InvalidArgument("'" + target + "' is a folder; --target names "
                                                 "the database file to write"));
    }
    if (!o.force) {
      return ReportError(global, Status(Code::kAlreadyExists, "'" + target + "' exists",
                                        "choose a new file, or use --force to replace it"));
    }
  }
  auto src = OpenSourceSnapshot(global, o, "sqlite", "SQLite");
  if (!src.ok()) return ReportError(global, src.status());
  const std::string dir = Parent(target);
  auto tmp = DumpToTemp(*src, dir, ProgramBaseName(target));
  if (!tmp.ok()) return ReportError(global, tmp.status());
  Status check = SqliteCheck(*tmp);
  if (!check.ok()) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) unlink((*tmp + suffix).c_str());
    return ReportError(global, check.WithContext("the restored database is damaged; '" + target +
                                                 "' was not touched"));
  }
  // Journals of the database being replaced must not be applied to the
  // restored one: a hot journal or WAL beside it would be.
  for (const char* suffix : {"-wal", "-shm", "-journal"}) unlink((target + suffix).c_str());
  if (rename(tmp->c_str(), target.c_str()) != 0) {
    Status e = ErrnoStatus(errno, "unable to move the restored database to '" + target + "'");
    unlink(tmp->c_str());
    return ReportError(global, e);
  }
  Status synced = FsyncDir(dir);
  if (!synced.ok()) return ReportError(global, synced);
  const auto& info = src->snap.snapshot.source_info;
  auto get = [&info](const char* k) {
    auto it = info.find(k);
    return it == info.end() ? std::string("?") : it->second;
  };
  SayRestored(global, *src, "sqlite", target,
              fmt::format("{} pages of {} bytes, quick_check ok", get("page_count"),
                          get("page_size")));
  return kExitOk;
}

// ---- redis ----

int RunRestoreRedis(const GlobalOptions& global, const SourceRestoreOpts& o) {
  if (o.target.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "no target given",
                                      "use --target DIR (the server's --dir)"));
  }
  const std::string dir = NormalizeBackupPath(o.target);
  const std::string dest = dir + "/dump.rdb";
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    return ReportError(global, InvalidArgument("'" + dir + "' is not a folder"));
  }
  if (lstat(dest.c_str(), &st) == 0 && !o.force) {
    return ReportError(global, Status(Code::kAlreadyExists, "'" + dest + "' exists",
                                      "choose another --target, or use --force to replace it"));
  }
  auto src = OpenSourceSnapshot(global, o, "redis", "Redis");
  if (!src.ok()) return ReportError(global, src.status());
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ReportError(global, IoError("unable to create '" + dir + "': " + ec.message()));
  auto tmp = DumpToTemp(*src, dir, "dump.rdb");
  if (!tmp.ok()) return ReportError(global, tmp.status());
  auto fail = [&](const Status& s) {
    unlink(tmp->c_str());
    return ReportError(global, s);
  };
  // Framing first (cheap, needs nothing installed), then redis-check-rdb.
  {
    int fd = open(tmp->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(ErrnoStatus(errno, "unable to read '" + *tmp + "'"));
    std::string head(9, '\0'), tail(9, '\0');
    ssize_t h = pread(fd, head.data(), 9, 0);
    ssize_t t = src->size >= 9 ? pread(fd, tail.data(), 9, static_cast<off_t>(src->size - 9)) : 0;
    close(fd);
    head.resize(h > 0 ? static_cast<size_t>(h) : 0);
    tail.resize(t > 0 ? static_cast<size_t>(t) : 0);
    auto framing = CheckRdbFraming(head, tail, src->size);
    if (!framing.ok()) return fail(framing.status());
  }
  std::string checked = "RDB framing ok; redis-check-rdb not installed, not run";
  auto check = RunAndCollect({"redis-check-rdb", *tmp}, ChildOptions{}, 1 << 20);
  if (check.ok()) {
    if (!check->status.success()) {
      std::string last = check->out;
      while (!last.empty() && last.back() == '\n') last.pop_back();
      last = last.substr(last.find_last_of('\n') == std::string::npos ? 0
                                                                     : last.find_last_of('\n') + 1);
      return fail(Status(Code::kCorrupt, "redis-check-rdb rejects the restored RDB file (" +
                                             check->status.Describe() + "): " + last));
    }
    checked = "redis-check-rdb: RDB looks OK";
  } else if (check.status().code() != Code::kNotFound) {
    return fail(check.status());
  }
  if (rename(tmp->c_str(), dest.c_str()) != 0) {
    return fail(ErrnoStatus(errno, "unable to move the restored RDB file to '" + dest + "'"));
  }
  Status synced = FsyncDir(dir);
  if (!synced.ok()) return ReportError(global, synced);
  SayRestored(global, *src, "redis", dest,
              checked + "; start the server with --dir " + dir + " --dbfilename dump.rdb");
  return kExitOk;
}

// ---- git ----

int RunRestoreGit(const GlobalOptions& global, const SourceRestoreOpts& o) {
  if (o.target.empty()) {
    return ReportError(global, Status(Code::kInvalidArgument, "no target given",
                                      "use --target DIR (a new or empty folder)"));
  }
  const std::string target = NormalizeBackupPath(o.target);
  bool exists = false, empty = true;
  {
    struct stat st {};
    if (lstat(target.c_str(), &st) == 0) {
      exists = true;
      if (!S_ISDIR(st.st_mode)) {
        if (!o.force) {
          return ReportError(global, Status(Code::kAlreadyExists, "'" + target + "' exists",
                                            "choose a new folder, or --force to replace it"));
        }
        empty = false;
      } else {
        std::error_code ec;
        empty = std::filesystem::is_empty(target, ec) && !ec;
      }
    }
    if (exists && !empty && !o.force) {
      return ReportError(global, Status(Code::kAlreadyExists, "'" + target + "' is not empty",
                                        "restore into a new or empty folder, or use --force to "
                                        "replace its contents"));
    }
  }
  auto src = OpenSourceSnapshot(global, o, "git", "git");
  if (!src.ok()) return ReportError(global, src.status());
  const std::string parent = Parent(target);
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) return ReportError(global, IoError("unable to create '" + parent + "': " + ec.message()));
  auto bundle = DumpToTemp(*src, parent, "bundle");
  if (!bundle.ok()) return ReportError(global, bundle.status());
  std::string build = parent + "/.git-restore.lifeboat-XXXXXX";
  if (mkdtemp(build.data()) == nullptr) {
    Status e = ErrnoStatus(errno, "unable to create a folder in '" + parent + "'");
    unlink(bundle->c_str());
    return ReportError(global, e);
  }
  const auto& info = src->snap.snapshot.source_info;
  auto get = [&info](const char* k) {
    auto it = info.find(k);
    return it == info.end() ? std::string() : it->second;
  };
  std::string head_ref = get("head");
  if (head_ref == "detached") head_ref.clear();
  Status built = RestoreGitBundle(*bundle, build, head_ref, get("head_commit"));
  unlink(bundle->c_str());
  if (!built.ok()) return ReportError(global, built);
  if (exists && !empty) std::filesystem::remove_all(target, ec);
  if (ec || rename(build.c_str(), target.c_str()) != 0) {
    Status e = ec ? IoError("unable to remove '" + target + "': " + ec.message())
                  : ErrnoStatus(errno, "unable to move the repository to '" + target + "'");
    std::filesystem::remove_all(build, ec);
    return ReportError(global, e);
  }
  Status synced = FsyncDir(parent);
  if (!synced.ok()) return ReportError(global, synced);
  SayRestored(global, *src, "git", target,
              fmt::format("{} refs, HEAD {}{}", get("refs"),
                          head_ref.empty() ? "detached at " + get("head_commit") : head_ref,
                          exists && !empty ? " (replaced the previous contents)" : ""));
  return kExitOk;
}

}  // namespace

int RunRestorePostgresLogical(const GlobalOptions& global, const PgLogicalRestoreOpts& o) {
  Status valid = ValidatePgDbName(o.dbname);
  if (!valid.ok()) return ReportError(global, valid);
  if (o.jobs < 1 || o.jobs > 256) return ReportError(global, InvalidArgument("-j wants 1-256"));
  ::signal(SIGPIPE, SIG_IGN);  // a pg_restore that dies must not kill us mid-write
  SourceRestoreOpts so;
  so.snapshot = o.snapshot;
  so.filter = o.filter;
  // "latest" is the newest dump of the database restored into, unless
  // --path/--host/--tag choose otherwise.
  const bool by_name = o.filter.paths.empty();
  auto src = OpenSourceSnapshot(
      global, so, kPgLogicalSource, "PostgreSQL logical",
      [&](const Snapshot& s) {
        auto it = s.source_info.find("dbname");
        return !by_name || (it != s.source_info.end() && it->second == o.dbname);
      },
      by_name ? " of database " + o.dbname : std::string());
  if (!src.ok()) {
    Status st = src.status();
    if (st.code() == Code::kNotFound && by_name && o.snapshot == "latest") {
      st = Status(Code::kNotFound, st.message(),
                  "to restore another database's dump into " + o.dbname +
                      ", name its snapshot or choose it with --path");
    }
    return ReportError(global, st);
  }
  const auto& info = src->snap.snapshot.source_info;
  auto get = [&info](const char* k) {
    auto it = info.find(k);
    return it == info.end() ? std::string() : it->second;
  };
  if (o.create && get("dbname") != o.dbname) {
    return ReportError(
        global, Status(Code::kInvalidArgument,
                       "--create makes the database named in the dump (" + get("dbname") +
                           "), not " + o.dbname,
                       "create " + o.dbname + " yourself (createdb) and restore without --create"));
  }
  // pg_restore connects through libpq's environment; with --create it starts
  // from the maintenance database and creates the dump's database itself.
  std::vector<std::string> argv = {"pg_restore", "--no-password", "--exit-on-error",
                                   "--dbname", o.create ? "postgres" : o.dbname};
  if (o.create) argv.push_back("--create");
  if (o.clean) argv.insert(argv.end(), {"--clean", "--if-exists"});
  ChildOptions copts;
  copts.stdout_null = true;
  std::string tmp_dir, tmp_file;
  auto cleanup = [&] {
    if (!tmp_file.empty()) unlink(tmp_file.c_str());
    if (!tmp_dir.empty()) rmdir(tmp_dir.c_str());
  };
  if (o.jobs > 1) {
    // Parallel restore seeks in its input: it needs a file, not a pipe.
    const char* t = getenv("TMPDIR");
    tmp_dir = std::string(t != nullptr && *t != '\0' ? t : "/tmp") + "/lifeboat-pgrestore-XXXXXX";
    if (mkdtemp(tmp_dir.data()) == nullptr) {
      Status e = ErrnoStatus(errno, "unable to create a private folder for the dump");
      tmp_dir.clear();
      return ReportError(global, e.WithHint("set TMPDIR to a folder with room for the dump"));
    }
    chmod(tmp_dir.c_str(), 0700);
    Say(global, fmt::format("-j {}: pg_restore needs a file; writing the dump ({}) to a private "
                            "temporary file in {} first",
                            o.jobs, FormatBytes(src->size), tmp_dir));
    auto tmp = DumpToTemp(*src, tmp_dir, "dump");
    if (!tmp.ok()) {
      cleanup();
      return ReportError(global, tmp.status());
    }
    tmp_file = *tmp;
    argv.insert(argv.end(), {"--jobs", std::to_string(o.jobs), tmp_file});
    copts.stdin_null = true;
  } else {
    copts.stdin_pipe = true;
  }
  Say(global, fmt::format("restoring database {} from snapshot {} (dump of {} on {} taken {}){}",
                          o.dbname, src->snap.id.Short(), get("dbname"), get("server"),
                          FormatLocalTime(src->snap.snapshot.time_ns),
                          o.create ? ", creating it" : ""));
  auto child = ChildProcess::Start(argv, copts);
  if (!child.ok()) {
    cleanup();
    return ReportError(global, child.status());
  }
  Status fed = Status::Ok();
  if (o.jobs == 1) {
    fed = DumpTar(*src->repo, src->snap.snapshot.tree, "/" + src->file, (*child)->stdin_fd());
    (*child)->CloseStdin();
  }
  ExitStatus st = (*child)->Wait();
  cleanup();
  if (!st.success()) {
    std::string tail = (*child)->StderrTail(600);
    return ReportError(global,
                       Status(Code::kIoError, "'pg_restore' failed with " + st.Describe() +
                                                  (tail.empty() ? "" : ": " + tail),
                              "the database may hold part of the dump; --clean restores over it"));
  }
  if (!fed.ok()) return ReportError(global, fed.WithContext("unable to feed pg_restore"));
  SayRestored(global, *src, kPgLogicalSource, "database " + o.dbname,
              o.jobs > 1 ? fmt::format("pg_restore with {} jobs; temporary file removed", o.jobs)
                         : "streamed into pg_restore");
  return kExitOk;
}

std::vector<CLI::App*> RegisterRestoreSources(CLI::App& restore, GlobalOptions& global,
                                              CommandRunner* selected) {
  struct Def {
    const char* name;
    const char* help;
    const char* target_help;
    int (*run)(const GlobalOptions&, const SourceRestoreOpts&);
  };
  const Def defs[] = {
      {"sqlite", "restore an SQLite snapshot as a database file (atomic, checked)",
       "the database file to write (refused if it exists unless --force)", RunRestoreSqlite},
      {"redis", "restore a Redis snapshot as DIR/dump.rdb for redis-server --dir DIR",
       "the folder to write dump.rdb into (created if missing)", RunRestoreRedis},
      {"git", "restore a git snapshot as a working repository",
       "a new or empty folder for the repository", RunRestoreGit},
  };
  std::vector<CLI::App*> cmds;
  for (const Def& d : defs) {
    auto o = std::make_shared<SourceRestoreOpts>();
    CLI::App* cmd = restore.add_subcommand(d.name, d.help);
    cmd->add_option("snapshot", o->snapshot, "snapshot id or 'latest' (default)");
    cmd->add_option("-t,--target", o->target, d.target_help);
    cmd->add_flag("--force", o->force, "replace an existing target");
    AddSnapshotFilterOptions(cmd, &o->filter);
    auto run = d.run;
    cmd->callback([&global, o, selected, run] {
      *selected = [&global, o, run] { return run(global, *o); };
    });
    cmds.push_back(cmd);
  }
  return cmds;
}

}  // namespace lifeboat
