#include "app/component_kind.h"

#include <unistd.h>

#include <cstdlib>
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
    if (!t.drill) args.push_back("--allow-existing");
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
    std::vector<CheckResult> out;
    for (const std::string& check : c.verify) {
      CheckResult r;
      r.check = check;
      ProcessOptions po;
      po.timeout_seconds = 3600;
      auto ran = RunShell(SubstituteRestored(check, t.dir), po);
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
    std::vector<std::string> args = {"restore", "postgres", snapshot, "--target", t.dir,
                                     "--to-end", "--start", "--port", std::to_string(t.port)};
    if (snapshot == "latest") {
      args.push_back("--tag");
      args.push_back(ComponentTagFilter(app, c));
    }
    if (!c.postgres.pgbin.empty()) {
      args.push_back("--pgbin");
      args.push_back(c.postgres.pgbin);
    }
    // The server that replaces the lost one archives its WAL again.
    if (!t.drill) {
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

}  // namespace

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
  if (kind == "files") return &files;
  if (kind == "postgres") return &postgres;
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

std::string SubstituteRestored(const std::string& command, const std::string& root) {
  static constexpr std::string_view kMark = "{restored}";
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  const std::string quoted = ShellQuote(r);
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t hit = command.find(kMark, pos);
    if (hit == std::string::npos) break;
    out.append(command, pos, hit - pos);
    pos = hit + kMark.size();
    // "{restored}/srv" with the root "/" is "/srv", not "//srv".
    if (!(r == "/" && pos < command.size() && command[pos] == '/')) out += quoted;
  }
  out.append(command, pos, std::string::npos);
  return out;
}

std::string PostgresBinDir(const ComponentConfig& c) {
  if (!c.postgres.pgbin.empty()) return c.postgres.pgbin;
  if (const char* env = std::getenv("PGBIN"); env && *env) return env;
  return "/usr/lib/postgresql/15/bin";
}

}  // namespace lifeboat
