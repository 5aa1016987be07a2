#include "app/component_kind.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>

#include "app/process.h"

namespace lifeboat {
namespace {

// One line of at most `max` characters from a command's output.
std::string OneLine(std::string text, size_t max = 300) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  while (!text.empty() && text.front() == ' ') text.erase(text.begin());
  if (text.size() > max) text = text.substr(0, max) + "...";
  return text;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

class FilesKind : public ComponentKind {
 public:
  std::string_view name() const override { return "files"; }

  std::vector<std::string> BackupArgs(const AppConfig& app,
                                      const ComponentConfig& c) const override {
    std::vector<std::string> args = {"backup", "--tag", ComponentTagFilter(app, c)};
    for (const std::string& e : c.exclude) {
      args.push_back("--exclude");
      args.push_back(e);
    }
    args.push_back("--");
    args.insert(args.end(), c.paths.begin(), c.paths.end());
    return args;
  }

  std::vector<std::string> RestoreArgs(const AppConfig& app, const ComponentConfig& c,
                                       const std::string& snapshot,
                                       const RestoreTarget& t) const override {
    std::vector<std::string> args = {"restore", snapshot, "--target", t.dir};
    if (snapshot == "latest") {
      args.push_back("--tag");
      args.push_back(ComponentTagFilter(app, c));
    }
    // Restoring to a live root: the folders above the data exist already.
    if (!t.drill && !t.recover) args.push_back("--allow-existing");
    if (t.recover && t.delta) args.push_back("--delta");
    return args;
  }

  RestoreTarget DrillTarget(const ComponentConfig&, const std::string& component_dir,
                            int) const override {
    RestoreTarget t;
    t.dir = component_dir;
    t.drill = true;
    return t;
  }

  std::vector<CheckResult> Verify(const ComponentConfig& c,
                                  const RestoreTarget& t) const override {
    return RunShellChecks(c.verify, t.dir, 0);
  }
};

class PostgresKind : public ComponentKind {
 public:
  std::string_view name() const override { return "postgres"; }
  bool NeedsPort() const override { return true; }

  std::vector<std::string> BackupArgs(const AppConfig& app,
                                      const ComponentConfig& c) const override {
    std::vector<std::string> args = {"backup", "postgres", "--tag", ComponentTagFilter(app, c)};
    // Never a password here: libpq takes it from PGPASSWORD or ~/.pgpass.
    std::string conninfo;
    auto add = [&conninfo](const char* key, const std::string& value) {
      if (value.empty()) return;
      conninfo += (conninfo.empty() ? "" : " ") + std::string(key) + "=" + value;
    };
    add("host", c.postgres.host);
    if (c.postgres.port > 0) add("port", std::to_string(c.postgres.port));
    add("user", c.postgres.user);
    if (!conninfo.empty()) {
      args.push_back("--conninfo");
      args.push_back(conninfo);
    }
    return args;
  }

  std::vector<std::string> RestoreArgs(const AppConfig& app, const ComponentConfig& c,
                                       const std::string& snapshot,
                                       const RestoreTarget& t) const override {
    std::vector<std::string> args = {"restore", "postgres", snapshot, "--target", t.dir};
    if (t.recover) {
      args.insert(args.end(), {"--to-time", t.to_time});
      if (t.start) args.insert(args.end(), {"--start", "--port", std::to_string(t.port)});
      if (t.delta) args.push_back("--delta");
    } else {
      args.insert(args.end(), {"--to-end", "--start", "--port", std::to_string(t.port)});
    }
    if (snapshot == "latest") {
      args.push_back("--tag");
      args.push_back(ComponentTagFilter(app, c));
    }
    if (!c.postgres.pgbin.empty()) {
      args.push_back("--pgbin");
      args.push_back(c.postgres.pgbin);
    }
    // The server that replaces the lost one archives its WAL again.
    if (!t.drill && !t.recover) {
      args.push_back("--archive-mode");
      args.push_back("preserve");
    }
    return args;
  }

  RestoreTarget DrillTarget(const ComponentConfig&, const std::string& component_dir,
                            int port) const override {
    RestoreTarget t;
    t.dir = JoinPath(component_dir, "pgdata");
    t.drill = true;
    t.port = port;
    return t;
  }

  std::vector<CheckResult> Verify(const ComponentConfig& c,
                                  const RestoreTarget& t) const override {
    std::vector<CheckResult> out;
    const std::string user = c.postgres.user.empty() ? "postgres" : c.postgres.user;
    const std::string db = c.postgres.dbname.empty() ? "postgres" : c.postgres.dbname;
    for (const std::string& sql : c.verify) {
      CheckResult r;
      r.check = sql;
      ProcessOptions po;
      po.timeout_seconds = 3600;
      auto ran = RunProcess({PostgresBinDir(c) + "/psql", "-X", "-At", "-v", "ON_ERROR_STOP=1",
                             "-h", "127.0.0.1", "-p", std::to_string(t.port), "-U", user, "-d",
                             db, "-c", sql},
                            po);
      if (!ran.ok()) {
        r.detail = ran.status().message();
      } else if (ran->exit_code != 0) {
        r.detail = fmt::format("psql exit status {}: {}", ran->exit_code, OneLine(ran->LastLine()));
      } else {
        std::string value = OneLine(ran->out);
        r.ok = value == "t";
        r.detail = r.ok ? "t" : "returned '" + value + "', not true";
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  Status Stop(const ComponentConfig& c, const RestoreTarget& t) const override {
    // recover --start: the recovered server is the point; it keeps running.
    if (t.recover) return Status::Ok();
    std::vector<std::string> argv;
    if (geteuid() == 0) argv = {"runuser", "-u", "postgres", "--"};
    argv.insert(argv.end(),
                {PostgresBinDir(c) + "/pg_ctl", "-D", t.dir, "-m", "fast", "-w", "-t", "60", "stop"});
    auto ran = RunProcess(argv);
    if (!ran.ok()) return ran.status();
    if (ran->exit_code != 0) {
      return IoError(fmt::format("pg_ctl stop of '{}' failed (exit {}): {}", t.dir, ran->exit_code,
                                 OneLine(ran->LastLine())));
    }
    return Status::Ok();
  }

  std::vector<std::string> RunbookAfterRestore(const ComponentConfig& c,
                                               const RestoreTarget& t) const override {
    std::vector<std::string> lines;
    lines.push_back(fmt::format(
        "The restored server replays all archived WAL, is started on 127.0.0.1:{} and keeps "
        "archiving with the original `archive_command`. Check it:",
        t.port));
    std::string user = c.postgres.user.empty() ? "postgres" : c.postgres.user;
    std::string db = c.postgres.dbname.empty() ? "postgres" : c.postgres.dbname;
    for (const std::string& sql : c.verify) {
      lines.push_back("    " + ShellJoin({PostgresBinDir(c) + "/psql", "-X", "-At", "-h",
                                           "127.0.0.1", "-p", std::to_string(t.port), "-U", user,
                                           "-d", db, "-c", sql}) +
                      "   # expect: t");
    }
    return lines;
  }
};

std::string BaseName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.find_last_of('/');
  std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
  return base.empty() || base == "/" ? "data" : base;
}

// `restore KIND SNAPSHOT --target DIR` with the component's tags for
// "latest"; a live restore (runbook) replaces what is there (--force).
std::vector<std::string> SourceRestoreArgs(const AppConfig& app, const ComponentConfig& c,
                                           const char* kind, const std::string& snapshot,
                                           const RestoreTarget& t) {
  std::vector<std::string> args = {"restore", kind, snapshot, "--target", t.dir};
  if (snapshot == "latest") {
    args.push_back("--tag");
    args.push_back(ComponentTagFilter(app, c));
  }
  if (!t.drill && !t.recover) args.push_back("--force");
  return args;
}

// sqlite and git: `backup KIND PATH` (sqlite: the online backup API; git: a
// bundle of every ref), restored as one database file / a working
// repository; verify = shell commands, {restored} = that file or repository.
class PathSourceKind : public ComponentKind {
 public:
  explicit PathSourceKind(std::string kind) : kind_(std::move(kind)) {}
  std::string_view name() const override { return kind_; }

  std::vector<std::string> BackupArgs(const AppConfig& app,
                                      const ComponentConfig& c) const override {
    return {"backup", kind_, "--tag", ComponentTagFilter(app, c), "--", c.path};
  }

  std::vector<std::string> RestoreArgs(const AppConfig& app, const ComponentConfig& c,
                                       const std::string& snapshot,
                                       const RestoreTarget& t) const override {
    return SourceRestoreArgs(app, c, kind_.c_str(), snapshot, t);
  }

  RestoreTarget DrillTarget(const ComponentConfig& c, const std::string& component_dir,
                            int) const override {
    RestoreTarget t;
    t.dir = JoinPath(component_dir, BaseName(c.path));
    t.drill = true;
    return t;
  }

  std::vector<CheckResult> Verify(const ComponentConfig& c,
                                  const RestoreTarget& t) const override {
    return RunShellChecks(c.verify, t.dir, 0);
  }

 private:
  std::string kind_;
};

// command: `backup --stdin-from-command -- RUN...` (one file named
// command.filename), restored with the plain `restore` into a folder;
// verify = shell commands, {restored} = the restored file.
class CommandKind : public ComponentKind {
 public:
  std::string_view name() const override { return "command"; }

  std::vector<std::string> BackupArgs(const AppConfig& app,
                                      const ComponentConfig& c) const override {
    std::vector<std::string> args = {"backup", "--stdin-from-command", "--stdin-filename",
                                     c.command.filename, "--tag", ComponentTagFilter(app, c), "--"};
    args.insert(args.end(), c.command.run.begin(), c.command.run.end());
    return args;
  }

  std::vector<std::string> RestoreArgs(const AppConfig& app, const ComponentConfig& c,
                                       const std::string& snapshot,
                                       const RestoreTarget& t) const override {
    std::vector<std::string> args = {"restore", snapshot, "--target", t.dir};
    if (snapshot == "latest") {
      args.push_back("--tag");
      args.push_back(ComponentTagFilter(app, c));
    }
    if (!t.drill && !t.recover) args.push_back("--allow-existing");
    return args;
  }

  RestoreTarget DrillTarget(const ComponentConfig&, const std::string& component_dir,
                            int) const override {
    RestoreTarget t;
    t.dir = component_dir;
    t.drill = true;
    return t;
  }

  std::vector<CheckResult> Verify(const ComponentConfig& c,
                                  const RestoreTarget& t) const override {
    return RunShellChecks(c.verify, JoinPath(t.dir, c.command.filename), 0);
  }

  std::vector<std::string> RunbookAfterRestore(const ComponentConfig& c,
                                               const RestoreTarget& t) const override {
    std::vector<std::string> lines;
    const std::string file = JoinPath(t.dir, c.command.filename);
    lines.push_back(fmt::format("The output of `{}` is now in `{}`: feed it back to what produced "
                                "it (that step is the application's own).",
                                ShellJoin(c.command.run), file));
    if (!c.verify.empty()) lines.push_back("Check it:");
    for (const std::string& check : c.verify) {
      lines.push_back("    " + SubstitutePlaceholders(check, file, 0));
    }
    return lines;
  }
};

// redis: `backup redis` (an RDB from the server), restored as DIR/dump.rdb.
// A drill starts a throw-away redis-server on a free loopback port with
// that file (no persistence, daemonized, pid in DIR/redis.pid); verify =
// shell commands with {port} and {restored} (= DIR).
class RedisKind : public ComponentKind {
 public:
  std::string_view name() const override { return "redis"; }
  bool NeedsPort() const override { return true; }

  std::vector<std::string> BackupArgs(const AppConfig& app,
                                      const ComponentConfig& c) const override {
    std::vector<std::string> args = {"backup", "redis", "--tag", ComponentTagFilter(app, c)};
    if (!c.redis.host.empty()) args.insert(args.end(), {"--host", c.redis.host});
    if (c.redis.port > 0) args.insert(args.end(), {"--port", std::to_string(c.redis.port)});
    return args;
  }

  std::vector<std::string> RestoreArgs(const AppConfig& app, const ComponentConfig& c,
                                       const std::string& snapshot,
                                       const RestoreTarget& t) const override {
    return SourceRestoreArgs(app, c, "redis", snapshot, t);
  }

  RestoreTarget DrillTarget(const ComponentConfig&, const std::string& component_dir,
                            int port) const override {
    RestoreTarget t;
    t.dir = JoinPath(component_dir, "redis");
    t.drill = true;
    t.port = port;
    return t;
  }

  Status AfterRestore(const ComponentConfig&, const RestoreTarget& t) const override {
    ProcessOptions po;
    po.timeout_seconds = 60;
    auto ran = RunProcess(RedisServerArgv(t), po);
    if (!ran.ok()) return ran.status().WithHint("install redis-server (Debian: redis-server)");
    if (ran->exit_code != 0) {
      return IoError(fmt::format("redis-server did not start on 127.0.0.1:{} (exit {}): {}",
                                 t.port, ran->exit_code, OneLine(ran->LastLine())));
    }
    // Ready once it answers PONG (a server still loading its RDB answers
    // -LOADING).
    for (int i = 0; i < 1200; ++i) {
      ProcessOptions quick;
      quick.timeout_seconds = 5;
      auto ping = RunProcess({"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(t.port), "ping"},
                             quick);
      if (ping.ok() && ping->exit_code == 0 && OneLine(ping->out) == "PONG") return Status::Ok();
      usleep(50 * 1000);
    }
    return IoError(fmt::format("redis-server on 127.0.0.1:{} not ready after 60 s; log: {}/redis.log",
                               t.port, t.dir));
  }

  Status Stop(const ComponentConfig&, const RestoreTarget& t) const override {
    if (!t.drill || t.port <= 0) return Status::Ok();
    ProcessOptions po;
    po.timeout_seconds = 30;
    auto ran = RunProcess(
        {"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(t.port), "shutdown", "nosave"}, po);
    if (!ran.ok()) return ran.status();
    // `shutdown` closes the connection without a reply; wait for the pid.
    for (int i = 0; i < 600; ++i) {
      auto probe = RunProcess({"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(t.port), "ping"},
                              po);
      if (!probe.ok() || probe->exit_code != 0 || OneLine(probe->out) != "PONG") return Status::Ok();
      usleep(50 * 1000);
    }
    return IoError(fmt::format("redis-server on 127.0.0.1:{} did not stop", t.port));
  }

  std::vector<CheckResult> Verify(const ComponentConfig& c,
                                  const RestoreTarget& t) const override {
    return RunShellChecks(c.verify, t.dir, t.port);
  }

  std::vector<std::string> RunbookAfterRestore(const ComponentConfig& c,
                                               const RestoreTarget& t) const override {
    std::vector<std::string> lines;
    lines.push_back(fmt::format(
        "`{}/dump.rdb` is the restored data. Stop the Redis server before restoring (it writes "
        "its own dump.rdb on shutdown), then start it with `--dir {} --dbfilename dump.rdb`, e.g.:",
        t.dir, t.dir));
    RestoreTarget live = t;
    live.drill = false;
    lines.push_back("    " + ShellJoin(RedisServerArgv(live)));
    if (!c.verify.empty()) lines.push_back("Check it:");
    for (const std::string& check : c.verify) {
      lines.push_back("    " + SubstitutePlaceholders(check, t.dir, t.port));
    }
    return lines;
  }

  // redis-server serving DIR/dump.rdb on 127.0.0.1:port, daemonized.
  static std::vector<std::string> RedisServerArgv(const RestoreTarget& t) {
    std::vector<std::string> argv = {"redis-server", "--bind", "127.0.0.1", "--port",
                                     std::to_string(t.port), "--dir", t.dir, "--dbfilename",
                                     "dump.rdb", "--daemonize", "yes", "--pidfile",
                                     JoinPath(t.dir, "redis.pid"), "--logfile",
                                     JoinPath(t.dir, "redis.log")};
    // A throw-away copy never writes back.
    if (t.drill) argv.insert(argv.end(), {"--save", "", "--appendonly", "no"});
    return argv;
  }
};

// mariadb: `backup mariadb` (a consistent dump + its binlog position). A
// drill (and recover) first starts a throw-away mariadbd: data directory
// DIR/data made by mariadb-install-db, socket DIR/mysqld.sock, on a free
// 127.0.0.1 port, as the mysql user when we are root; `restore mariadb`
// loads the dump into it over the socket as root (unix_socket
// authentication) and replays the archived binlogs to the end (drill) or
// to T (recover). verify = SQL that must return 1.
class MariadbKind : public ComponentKind {
 public:
  std::string_view name() const override { return "mariadb"; }
  bool NeedsPort() const override { return true; }

  std::vector<std::string> BackupArgs(const AppConfig& app,
                                      const ComponentConfig& c) const override {
    std::vector<std::string> args = {"backup", "mariadb", "--tag", ComponentTagFilter(app, c)};
    AddConnection(c, &args);
    return args;
  }

  std::vector<std::string> RestoreArgs(const AppConfig& app, const ComponentConfig& c,
                                       const std::string& snapshot,
                                       const RestoreTarget& t) const override {
    std::vector<std::string> args = {"restore", "mariadb", snapshot};
    if (snapshot == "latest") {
      args.push_back("--tag");
      args.push_back(ComponentTagFilter(app, c));
    }
    if (t.drill || t.recover) {
      args.insert(args.end(), {"--socket", Socket(t), "--user", LocalUser()});
    } else {
      AddConnection(c, &args);
    }
    if (t.recover) {
      // restore mariadb --to-time takes whole seconds, UTC, no zone.
      args.insert(args.end(), {"--to-time", t.to_time.substr(0, 19)});
    } else {
      args.push_back("--to-end");
    }
    return args;
  }

  RestoreTarget DrillTarget(const ComponentConfig&, const std::string& component_dir,
                            int port) const override {
    RestoreTarget t;
    t.dir = JoinPath(component_dir, "mariadb");
    t.drill = true;
    t.port = port;
    return t;
  }

  Status BeforeRestore(const ComponentConfig& c, const RestoreTarget& t) const override {
    const std::string bin = c.mariadb.bindir;
    auto tool = [&bin](const char* name) { return bin.empty() ? std::string(name) : bin + "/" + name; };
    std::error_code ec;
    std::filesystem::create_directories(t.dir + "/data", ec);
    if (ec) return IoError("unable to create '" + t.dir + "/data': " + ec.message());
    std::string user_arg;
    if (geteuid() == 0) {
      user_arg = "--user=mysql";
      auto chown = RunProcess({"chown", "-R", "mysql:", t.dir});
      if (!chown.ok() || chown->exit_code != 0) {
        user_arg = "--user=root";  // no mysql user: as mariadb.sh does
      }
    }
    std::vector<std::string> install = {tool("mariadb-install-db"), "--no-defaults",
                                        "--datadir=" + t.dir + "/data",
                                        "--auth-root-authentication-method=socket",
                                        "--skip-test-db"};
    if (!user_arg.empty()) install.push_back(user_arg);
    ProcessOptions po;
    po.timeout_seconds = 300;
    auto ran = RunProcess(install, po);
    if (!ran.ok()) return ran.status().WithHint("install mariadb-server (or set mariadb.bindir)");
    if (ran->exit_code != 0) {
      return IoError(fmt::format("mariadb-install-db failed (exit {}): {}", ran->exit_code,
                                 OneLine(ran->LastLine())));
    }
    const std::string mariadbd = bin.empty() ? (access("/usr/sbin/mariadbd", X_OK) == 0
                                                    ? std::string("/usr/sbin/mariadbd")
                                                    : std::string("mariadbd"))
                                             : bin + "/mariadbd";
    std::vector<std::string> argv = {"setsid", "--fork", mariadbd, "--no-defaults",
                                     "--datadir=" + t.dir + "/data", "--socket=" + Socket(t),
                                     "--pid-file=" + t.dir + "/mysqld.pid",
                                     "--port=" + std::to_string(t.port), "--bind-address=127.0.0.1",
                                     "--log-error=" + t.dir + "/error.log", "--skip-log-bin",
                                     "--innodb-buffer-pool-size=64M", "--skip-name-resolve"};
    if (!user_arg.empty()) argv.push_back(user_arg);
    ProcessOptions quick;
    quick.timeout_seconds = 30;
    // Detached, its output to /dev/null (its log is error.log): our pipes
    // must not stay open in the server.
    auto started = RunShell(ShellJoin(argv) + " </dev/null >/dev/null 2>&1", quick);
    if (!started.ok()) return started.status();
    for (int i = 0; i < 1200; ++i) {
      auto ping = RunProcess({tool("mariadb-admin"), "--no-defaults", "--socket=" + Socket(t),
                              "-u" + LocalUser(), "ping"},
                             quick);
      if (ping.ok() && ping->exit_code == 0) return Status::Ok();
      usleep(50 * 1000);
    }
    return IoError(fmt::format("mariadbd in '{}' not ready after 60 s; log: {}/error.log", t.dir,
                               t.dir));
  }

  std::vector<CheckResult> Verify(const ComponentConfig& c,
                                  const RestoreTarget& t) const override {
    std::vector<CheckResult> out;
    for (const std::string& sql : c.verify) {
      CheckResult r;
      r.check = sql;
      ProcessOptions po;
      po.timeout_seconds = 3600;
      auto ran = RunProcess(ClientArgv(c, t, sql), po);
      if (!ran.ok()) {
        r.detail = ran.status().message();
      } else if (ran->exit_code != 0) {
        r.detail = fmt::format("mariadb exit status {}: {}", ran->exit_code, OneLine(ran->LastLine()));
      } else {
        std::string value = OneLine(ran->out);
        r.ok = value == "1";
        r.detail = r.ok ? "1" : "returned '" + value + "', not 1";
      }
      out.push_back(std::move(r));
    }
    return out;
  }

  Status Stop(const ComponentConfig& c, const RestoreTarget& t) const override {
    if (!t.drill && !t.recover) return Status::Ok();
    if (access(Socket(t).c_str(), F_OK) != 0) return Status::Ok();
    ProcessOptions po;
    po.timeout_seconds = 120;
    const std::string admin =
        c.mariadb.bindir.empty() ? "mariadb-admin" : c.mariadb.bindir + "/mariadb-admin";
    auto ran = RunProcess({admin, "--no-defaults", "--socket=" + Socket(t), "-u" + LocalUser(),
                           "shutdown"},
                          po);
    if (!ran.ok()) return ran.status();
    if (ran->exit_code != 0) {
      return IoError(fmt::format("mariadb-admin shutdown of '{}' failed (exit {}): {}", t.dir,
                                 ran->exit_code, OneLine(ran->LastLine())));
    }
    return Status::Ok();
  }

  std::vector<std::string> RunbookAfterRestore(const ComponentConfig& c,
                                               const RestoreTarget& t) const override {
    std::vector<std::string> lines;
    lines.push_back(
        "The command loads the newest dump into the running, empty MariaDB server named in "
        "lifeboat.toml (install and start it first) and replays every archived binlog. Check it:");
    for (const std::string& sql : c.verify) {
      lines.push_back("    " + ShellJoin(ClientArgv(c, t, sql)) + "   # expect: 1");
    }
    return lines;
  }

  static std::string Socket(const RestoreTarget& t) { return JoinPath(t.dir, "mysqld.sock"); }

  static std::string LocalUser() {
    if (geteuid() == 0) return "root";
    const char* u = std::getenv("USER");
    return u && *u ? u : "root";
  }

  static void AddConnection(const ComponentConfig& c, std::vector<std::string>* args) {
    // Never a password here: `lifeboat` takes it from
    // LIFEBOAT_MARIADB_PASSWORD in its environment.
    if (!c.mariadb.socket.empty()) args->insert(args->end(), {"--socket", c.mariadb.socket});
    if (!c.mariadb.host.empty()) args->insert(args->end(), {"--host", c.mariadb.host});
    if (c.mariadb.port > 0) args->insert(args->end(), {"--port", std::to_string(c.mariadb.port)});
    if (!c.mariadb.user.empty()) args->insert(args->end(), {"--user", c.mariadb.user});
  }

  static std::vector<std::string> ClientArgv(const ComponentConfig& c, const RestoreTarget& t,
                                             const std::string& sql) {
    const std::string client = c.mariadb.bindir.empty() ? "mariadb" : c.mariadb.bindir + "/mariadb";
    std::vector<std::string> argv = {client};
    if (t.drill || t.recover) {
      argv.insert(argv.end(), {"--no-defaults", "--socket=" + Socket(t), "-u" + LocalUser()});
    } else {
      if (!c.mariadb.defaults_file.empty()) argv.push_back("--defaults-file=" + c.mariadb.defaults_file);
      if (!c.mariadb.socket.empty()) argv.push_back("--socket=" + c.mariadb.socket);
      if (!c.mariadb.host.empty()) argv.push_back("--host=" + c.mariadb.host);
      if (c.mariadb.port > 0) argv.push_back("--port=" + std::to_string(c.mariadb.port));
      if (!c.mariadb.user.empty()) argv.push_back("--user=" + c.mariadb.user);
    }
    argv.insert(argv.end(), {"-N", "-B", "-e", sql});
    return argv;
  }
};

}  // namespace

Status ComponentKind::BeforeRestore(const ComponentConfig&, const RestoreTarget&) const {
  return Status::Ok();
}

Status ComponentKind::AfterRestore(const ComponentConfig&, const RestoreTarget&) const {
  return Status::Ok();
}

Status ComponentKind::Stop(const ComponentConfig&, const RestoreTarget&) const {
  return Status::Ok();
}

std::vector<std::string> ComponentKind::RunbookAfterRestore(const ComponentConfig& c,
                                                            const RestoreTarget& t) const {
  std::vector<std::string> lines;
  if (c.verify.empty()) return lines;
  lines.push_back("Check it:");
  for (const std::string& check : c.verify) {
    lines.push_back("    " + SubstituteRestored(check, t.dir));
  }
  return lines;
}

const ComponentKind* FindComponentKind(std::string_view kind) {
  static const FilesKind files;
  static const PostgresKind postgres;
  static const PathSourceKind sqlite("sqlite");
  static const RedisKind redis;
  static const PathSourceKind git("git");
  static const CommandKind command;
  static const MariadbKind mariadb;
  if (kind == "files") return &files;
  if (kind == "postgres") return &postgres;
  if (kind == "sqlite") return &sqlite;
  if (kind == "redis") return &redis;
  if (kind == "git") return &git;
  if (kind == "command") return &command;
  if (kind == "mariadb") return &mariadb;
  return nullptr;
}

Status UnsupportedKind(const ComponentConfig& c) {
  return Status(Code::kUnsupported,
                "component '" + c.name + "': kind " + c.kind + " is not supported by run/drill yet",
                "back it up with its own lifeboat command meanwhile");
}

std::vector<std::string> ComponentTags(const AppConfig& app, const ComponentConfig& c) {
  return {"app=" + app.app_name, "component=" + c.name};
}

std::string ComponentTagFilter(const AppConfig& app, const ComponentConfig& c) {
  return "app=" + app.app_name + ",component=" + c.name;
}

std::vector<std::string> RepositoryArgs(const RepositoryConfig& repo) {
  std::vector<std::string> args = {"--repo", repo.url};
  if (!repo.password_file.empty()) {
    args.insert(args.end(), {"--password-file", repo.password_file});
  } else if (!repo.password_command.empty()) {
    args.insert(args.end(), {"--password-command", repo.password_command});
  }
  for (const auto& [key, value] : repo.options) args.insert(args.end(), {"-o", key + "=" + value});
  return args;
}

std::string SubstitutePlaceholders(const std::string& command, const std::string& root,
                                   int port) {
  static constexpr std::string_view kMark = "{restored}";
  static constexpr std::string_view kPort = "{port}";
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  const std::string quoted = ShellQuote(r);
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t hit = command.find(kMark, pos);
    size_t port_hit = port > 0 ? command.find(kPort, pos) : std::string::npos;
    if (port_hit != std::string::npos && (hit == std::string::npos || port_hit < hit)) {
      out.append(command, pos, port_hit - pos);
      out += std::to_string(port);
      pos = port_hit + kPort.size();
      continue;
    }
    if (hit == std::string::npos) break;
    out.append(command, pos, hit - pos);
    pos = hit + kMark.size();
    // "{restored}/srv" with the root "/" is "/srv", not "//srv".
    if (!(r == "/" && pos < command.size() && command[pos] == '/')) out += quoted;
  }
  out.append(command, pos, std::string::npos);
  return out;
}

std::string SubstituteRestored(const std::string& command, const std::string& root) {
  return SubstitutePlaceholders(command, root, 0);
}

std::vector<CheckResult> RunShellChecks(const std::vector<std::string>& checks,
                                        const std::string& root, int port) {
  std::vector<CheckResult> out;
  for (const std::string& check : checks) {
    CheckResult r;
    r.check = check;
    ProcessOptions po;
    po.timeout_seconds = 3600;
    auto ran = RunShell(SubstitutePlaceholders(check, root, port), po);
    if (!ran.ok()) {
      r.detail = ran.status().message();
    } else {
      r.ok = ran->exit_code == 0;
      r.detail = r.ok ? OneLine(ran->out)
                      : fmt::format("exit status {}: {}", ran->exit_code, OneLine(ran->LastLine()));
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string PostgresBinDir(const ComponentConfig& c) {
  if (!c.postgres.pgbin.empty()) return c.postgres.pgbin;
  if (const char* env = std::getenv("PGBIN"); env && *env) return env;
  return "/usr/lib/postgresql/15/bin";
}

}  // namespace lifeboat
