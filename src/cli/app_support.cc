#include "cli/app_support.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "app/component_kind.h"

namespace lifeboat {

Result<AppConfig> LoadAppConfigForCli(const std::string& flag) {
  LB_ASSIGN_OR_RETURN(std::string path, FindAppConfigPath(flag, std::getenv("LIFEBOAT_CONFIG")));
  return LoadAppConfig(path);
}

Result<std::vector<const ComponentConfig*>> SelectComponents(const AppConfig& app,
                                                             const std::vector<std::string>& names,
                                                             bool restore_order) {
  std::vector<const ComponentConfig*> all;
  if (restore_order) {
    all = app.InRestoreOrder();
  } else {
    for (const ComponentConfig& c : app.components) all.push_back(&c);
  }
  for (const std::string& n : names) {
    if (!app.FindComponent(n)) {
      std::string known;
      for (const ComponentConfig& c : app.components) known += (known.empty() ? "" : ", ") + c.name;
      return Status(Code::kNotFound, "no component '" + n + "' in " + app.path,
                    "the components are: " + known);
    }
  }
  if (names.empty()) return all;
  std::vector<const ComponentConfig*> out;
  for (const ComponentConfig* c : all) {
    if (std::find(names.begin(), names.end(), c->name) != names.end()) out.push_back(c);
  }
  return out;
}

ChildRun RunLifeboatOn(const RepositoryConfig& repo, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {SelfExecutable()};
  std::vector<std::string> repo_args = RepositoryArgs(repo);
  argv.insert(argv.end(), repo_args.begin(), repo_args.end());
  argv.push_back("--json");
  argv.insert(argv.end(), args.begin(), args.end());
  ChildRun run;
  // Our SIGINT/SIGTERM reaches the child through the process group; one
  // that came just before the fork is passed on.
  ProcessOptions po;
  po.stop = &InterruptFlag();
  auto ran = RunProcess(argv, po);
  if (!ran.ok()) {
    run.error = ran.status().message();
    return run;
  }
  run.process = std::move(*ran);
  auto lines = [](const std::string& text, auto&& fn) {
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      fn(text.substr(start, end - start));
      start = end + 1;
    }
  };
  // Item errors (a file that could not be restored, ...) come on stdout.
  std::string item_error;
  size_t item_errors = 0;
  lines(run.process.out, [&run, &item_error, &item_errors](const std::string& line) {
    if (line.empty() || line[0] != '{') return;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object()) {
      std::string type = j.value("message_type", "");
      if (type == "summary" || type == "copy_summary") run.summary = j;
      if ((type == "error" || type == "verify_error") && j.contains("item")) {
        if (item_errors++ == 0) {
          item_error = j.value("item", "") + ": " + j.value("message", "");
        }
      }
    }
  });
  if (item_errors > 1) item_error += " (and " + std::to_string(item_errors - 1) + " more)";
  std::string json_error;
  lines(run.process.err, [&json_error](const std::string& line) {
    if (line.empty() || line[0] != '{') return;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("message_type", "") == "error") {
      json_error = j.value("message", "");
    }
  });
  if (!run.ok()) {
    run.error = !json_error.empty()   ? json_error
                : !item_error.empty() ? item_error
                                      : run.process.LastLine();
    if (run.error.empty()) run.error = "exit status " + std::to_string(run.process.exit_code);
  }
  return run;
}

Result<SnapshotEntry> NewestTagged(Repository& repo, const std::vector<std::string>& tags) {
  LB_ASSIGN_OR_RETURN(std::vector<SnapshotEntry> all, repo.ListSnapshots());
  const SnapshotEntry* best = nullptr;
  for (const SnapshotEntry& e : all) {
    bool match = std::all_of(tags.begin(), tags.end(), [&e](const std::string& t) {
      return std::find(e.snapshot.tags.begin(), e.snapshot.tags.end(), t) != e.snapshot.tags.end();
    });
    if (match && (!best || e.snapshot.time_ns > best->snapshot.time_ns)) best = &e;
  }
  if (!best) return NotFound("no snapshot tagged " + [&tags] {
    std::string s;
    for (const std::string& t : tags) s += (s.empty() ? "" : ",") + t;
    return s;
  }());
  return *best;
}

Result<int> FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    close(fd);
    return ErrnoStatus(e, "unable to find a free port");
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

Status MakeTraversableDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return IoError("unable to create '" + path + "': " + ec.message());
  if (chmod(path.c_str(), 0711) != 0) return ErrnoStatus(errno, "chmod '" + path + "'");
  return Status::Ok();
}

}  // namespace lifeboat
