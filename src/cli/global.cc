#include "cli/global.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "app/process.h"
#include "appconfig/app_config.h"
#include "backend/append_only_backend.h"
#include "backend/backend.h"
#include "cache/caching_backend.h"
#include "cache/repository_pack_classifier.h"
#include "storage/open_storage.h"

namespace lifeboat {
namespace {

std::atomic<bool> g_interrupted{false};

// The first SIGINT/SIGTERM asks for a clean stop; a second one (Ctrl-C
// again, when the clean stop takes too long) ends the process at once. A
// stop request our parent passed on (RunProcess's `stop`) may be the very
// signal we already got through the process group: never a second one.
void OnSignal(int sig, siginfo_t* info, void*) {
  const bool passed_on = info != nullptr && info->si_code == SI_QUEUE &&
                         info->si_value.sival_int == kStopRequestValue && info->si_pid == getppid();
  if (g_interrupted.exchange(true) && !passed_on) {
    signal(sig, SIG_DFL);
    raise(sig);
  }
}

void TrimNewline(std::string* s) {
  while (!s->empty() && (s->back() == '\n' || s->back() == '\r')) s->pop_back();
}

// Reads one line from the terminal with echo off.
Result<std::string> PromptNoEcho(std::string_view prompt) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Status(Code::kInvalidArgument, "no password given and no terminal to ask on",
                  "set LIFEBOAT_PASSWORD, or use --password-file or --password-command");
  }
  (void)!write(fd, prompt.data(), prompt.size());
  struct termios old {};
  bool have_term = tcgetattr(fd, &old) == 0;
  if (have_term) {
    struct termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  if (have_term) tcsetattr(fd, TCSAFLUSH, &old);
  (void)!write(fd, "\n", 1);
  close(fd);
  return line;
}

}  // namespace

bool Interrupted() { return g_interrupted; }

const std::atomic<bool>& InterruptFlag() { return g_interrupted; }

void InstallInterruptHandler() {
  struct sigaction sa {};
  sa.sa_sigaction = OnSignal;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

Result<std::string> ReadPasswordFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "unable to read password file '" + path + "'");
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  TrimNewline(&out);
  return out;
}

Result<std::string> RunPasswordCommand(const std::string& command) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  pid_t pid = fork();
  if (pid < 0) return ErrnoStatus(errno, "fork");
  if (pid == 0) {
    dup2(pipefd[1], STDOUT_FILENO);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status(Code::kInvalidArgument, "--password-command failed (exit status " +
                                              std::to_string(WEXITSTATUS(status)) + ")");
  }
  TrimNewline(&out);
  return out;
}

Result<std::string> GetPassword(const GlobalOptions& global, bool confirm, std::string_view prompt,
                                const char* env_name) {
  std::string password;
  if (!global.password_file.empty()) {
    LB_ASSIGN_OR_RETURN(password, ReadPasswordFile(global.password_file));
  } else if (!global.password_command.empty()) {
    LB_ASSIGN_OR_RETURN(password, RunPasswordCommand(global.password_command));
  } else if (const char* env = getenv(env_name); env && *env) {
    password = env;
  } else {
    LB_ASSIGN_OR_RETURN(password, PromptPassword(prompt, confirm));
  }
  if (password.empty()) return InvalidArgument("an empty password is not allowed");
  return password;
}

Result<std::string> PromptPassword(std::string_view prompt, bool confirm) {
  LB_ASSIGN_OR_RETURN(std::string password, PromptNoEcho(prompt));
  if (confirm) {
    LB_ASSIGN_OR_RETURN(std::string again, PromptNoEcho("enter the password again: "));
    if (again != password) return InvalidArgument("the passwords do not match");
  }
  return password;
}

Result<std::unique_ptr<Backend>> OpenStorageAt(const GlobalOptions& global,
                                               const std::string& repo) {
  if (repo.empty()) {
    return Status(Code::kInvalidArgument, "no repository given",
                  "use --repo/-r or set LIFEBOAT_REPOSITORY");
  }
  LB_ASSIGN_OR_RETURN(StorageOptions options, ParseStorageOptions(global.options));
  LB_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenStorage(repo, options));
  if (global.append_only) backend = std::make_unique<AppendOnlyBackend>(std::move(backend));
  return backend;
}

Result<std::unique_ptr<Backend>> OpenRepositoryStorage(const GlobalOptions& global) {
  return OpenStorageAt(global, global.repo);
}

std::string DefaultMediaFor(const std::string& repo) {
  return repo.rfind("s3:", 0) == 0 ? "object" : "disk";
}

Status RefuseInAppendOnlyMode(const GlobalOptions& global, std::string_view command) {
  if (!global.append_only) return Status::Ok();
  return Status(Code::kPermissionDenied,
                "'" + std::string(command) + "' removes data and is refused in append-only mode",
                "run it from a trusted machine without --append-only / LIFEBOAT_APPEND_ONLY");
}

std::string CacheRoot(const GlobalOptions& global) {
  std::string root = global.cache_dir;
  if (!root.empty() && root[0] != '/') {
    std::error_code ec;
    root = std::filesystem::absolute(root, ec).string();
  }
  if (root.empty()) root = DefaultCacheRoot();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

// Wraps remote storage in the metadata cache (local storage gains nothing
// from it). A cache that cannot be set up is skipped with a warning: it only
// saves downloads.
static std::unique_ptr<Backend> WithCache(const GlobalOptions& global,
                                          std::unique_ptr<Backend> backend) {
  if (global.no_cache || backend->Capabilities().local) return backend;
  const std::string root = CacheRoot(global);
  if (root.empty()) return backend;  // no HOME: nowhere sensible to cache
  const std::string dir = CacheDirFor(root, backend->Location());
  auto cache = CachingBackend::Open(std::move(backend), dir);
  if (cache.ok()) return std::move(*cache);
  if (!global.quiet && !global.json) {
    std::cerr << "warning: metadata cache disabled: " << cache.status().message() << "\n";
  }
  return backend;  // Open leaves it with us when it fails
}

Result<std::unique_ptr<Repository>> OpenRepository(const GlobalOptions& global) {
  LB_ASSIGN_OR_RETURN(auto backend, OpenRepositoryStorage(global));
  backend = WithCache(global, std::move(backend));
  LB_ASSIGN_OR_RETURN(std::string password, GetPassword(global, false));
  LB_ASSIGN_OR_RETURN(auto repo, Repository::Open(std::move(backend), password));
  repo->set_lock_wait(std::chrono::seconds(global.retry_lock_seconds));
  AttachCache(*repo);  // the cache may keep tree packs (no-op without a cache)
  return repo;
}

Result<std::unique_ptr<Repository>> OpenConfiguredRepository(const GlobalOptions& global,
                                                             const RepositoryConfig& config) {
  GlobalOptions g = global;
  g.repo = config.url;
  g.password_file = config.password_file;
  g.password_command = config.password_command;
  g.options.clear();
  for (const auto& [key, value] : config.options) g.options.push_back(key + "=" + value);
  auto repo = OpenRepository(g);
  if (!repo.ok()) return repo.status().WithContext("repository '" + config.name + "'");
  return repo;
}

int ReportError(const GlobalOptions& global, const Status& status) {
  if (global.json) {
    nlohmann::json j = {{"message_type", "error"},
                        {"code", std::string(CodeName(status.code()))},
                        {"message", status.message()}};
    if (!status.hint().empty()) j["hint"] = status.hint();
    std::cerr << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  } else {
    std::cerr << "lifeboat: " << status.message() << "\n";
    if (!status.hint().empty()) std::cerr << "hint: " << status.hint() << "\n";
  }
  return kExitFatal;
}

void ReportItem(const GlobalOptions& global, std::string_view message_type, std::string_view label,
                const std::string& path, const std::string& message, bool is_warning) {
  if (global.json) {
    PrintJson({{"message_type", message_type}, {"item", path}, {"message", message}});
  } else if (!is_warning || !global.quiet) {
    std::cerr << label << ": " << path << ": " << message << "\n";
  }
}

void Say(const GlobalOptions& global, const std::string& line) {
  if (global.quiet || global.json) return;
  std::cout << line << "\n";
}

void PrintJson(const nlohmann::json& value) {
  std::cout << value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

std::string FormatBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.3f} {}", v, kUnits[unit]);
}

std::string FormatSeconds(double seconds) {
  if (seconds < 60) return fmt::format("{:.2f}s", seconds);
  auto total = static_cast<uint64_t>(seconds);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m{:02}s", total / 3600, total / 60 % 60, total % 60);
}

std::string FormatLocalTime(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000);
  struct tm tm {};
  localtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string ShortPath(const std::string& path, size_t max) {
  if (path.size() <= max || max < 8) return path;
  size_t keep = max - 3;
  return path.substr(0, keep / 3) + "..." + path.substr(path.size() - (keep - keep / 3));
}

std::vector<std::string> SplitTags(const std::vector<std::string>& raw) {
  std::vector<std::string> out;
  for (const std::string& t : raw) {
    size_t start = 0;
    while (start <= t.size()) {
      size_t comma = t.find(',', start);
      if (comma == std::string::npos) comma = t.size();
      if (comma > start) out.push_back(t.substr(start, comma - start));
      start = comma + 1;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace lifeboat
