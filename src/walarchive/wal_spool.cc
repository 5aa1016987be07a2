#include "walarchive/wal_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

#include "backend/file_util.h"
#include "walarchive/wal_archive.h"

namespace lifeboat {
namespace {

constexpr std::string_view kOk = ".ok";
constexpr std::string_view kError = ".error";
constexpr size_t kMaxErrorMessage = 4096;

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

WalSpool::WalSpool(std::string spool_root, uint64_t system_id)
    : dir_(std::move(spool_root) + "/" + std::to_string(system_id)) {}

Status WalSpool::Prepare() const {
  const std::string parent = dir_.substr(0, dir_.find_last_of('/'));
  for (const std::string& d : {parent, dir_}) {
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "unable to create the spool directory " + d);
    }
  }
  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0) return ErrnoStatus(errno, "unable to stat " + dir_);
  if (!S_ISDIR(st.st_mode)) return InvalidArgument(dir_ + " is not a directory");
  if (st.st_uid != ::geteuid()) {
    return Status(Code::kPermissionDenied,
                  "the spool directory " + dir_ + " belongs to another user",
                  "give archive-push --spool a directory of the server's user");
  }
  return Status::Ok();
}

WalSpool::State WalSpool::Check(const std::string& wal_name, std::string* message) const {
  if (Exists(dir_ + "/" + wal_name + std::string(kOk))) return State::kOk;
  const std::string error = dir_ + "/" + wal_name + std::string(kError);
  UniqueFd fd(::open(error.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return State::kNone;
  std::string text(kMaxErrorMessage, '\0');
  const ssize_t n = ::read(fd.get(), text.data(), text.size());
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  if (message) *message = text.empty() ? "unknown error (empty marker)" : text;
  return State::kError;
}

Status WalSpool::MarkOk(const std::string& wal_name) const {
  ::unlink((dir_ + "/" + wal_name + std::string(kError)).c_str());
  return WriteFileAtomically(dir_ + "/" + wal_name + std::string(kOk), {}, /*durable=*/false);
}

Status WalSpool::MarkError(const std::string& wal_name, const std::string& message) const {
  return WriteFileAtomically(dir_ + "/" + wal_name + std::string(kError),
                             AsBytes(message.substr(0, kMaxErrorMessage)), /*durable=*/false);
}

void WalSpool::Consume(const std::string& wal_name) const {
  ::unlink((dir_ + "/" + wal_name + std::string(kOk)).c_str());
  ::unlink((dir_ + "/" + wal_name + std::string(kError)).c_str());
}

Result<int> WalSpool::TryLockWorker() const { return TryLockFile(dir_ + "/worker.lock"); }

void WalSpool::Sweep(const std::vector<std::string>& ready, const std::string& keep) const {
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return;
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    for (std::string_view suffix : {kOk, kError}) {
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        const std::string wal = name.substr(0, name.size() - suffix.size());
        if (wal != keep && !std::binary_search(ready.begin(), ready.end(), wal)) {
          stale.push_back(name);
        }
      }
    }
  }
  ::closedir(d);
  for (const std::string& name : stale) ::unlink((dir_ + "/" + name).c_str());
}

Result<std::vector<std::string>> ReadyWalFiles(const std::string& pgdata) {
  const std::string dir = pgdata + "/pg_wal/archive_status";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return ErrnoStatus(errno, "unable to list " + dir);
  std::vector<std::string> out;
  constexpr std::string_view kReady = ".ready";
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() > kReady.size() &&
        name.compare(name.size() - kReady.size(), kReady.size(), kReady) == 0) {
      std::string wal = name.substr(0, name.size() - kReady.size());
      if (ValidateWalFileName(wal).ok()) out.push_back(std::move(wal));
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void RunWalWorker(Repository& repo, uint64_t system_id, const std::string& pgdata,
                  const WalSpool& spool, const WorkerOptions& options,
                  const std::function<void(const std::string&)>& log) {
  using Clock = std::chrono::steady_clock;
  auto idle_since = Clock::now();
  const auto idle_limit = std::chrono::duration<double>(options.idle_exit_seconds);
  for (;;) {
    auto ready = ReadyWalFiles(pgdata);
    std::vector<std::string> todo;
    if (ready.ok()) {
      spool.Sweep(*ready, "");
      for (const std::string& name : *ready) {
        if (spool.Check(name, nullptr) == WalSpool::State::kNone) todo.push_back(name);
      }
    } else if (log) {
      log(ready.status().ToString());
    }
    if (todo.empty()) {
      if (Clock::now() - idle_since > idle_limit) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    // Oldest first, `threads` at a time.
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i = next++; i < todo.size(); i = next++) {
        const std::string& name = todo[i];
        auto pushed = PushWal(repo, system_id, pgdata + "/pg_wal/" + name);
        Status marked = pushed.ok()
                            ? spool.MarkOk(name)
                            : spool.MarkError(name, pushed.status().ToString());
        if (!pushed.ok() && log) log("unable to archive " + name + ": " + pushed.status().ToString());
        if (!marked.ok() && log) log(marked.ToString());
      }
    };
    const int n = std::max(1, std::min<int>(options.threads, static_cast<int>(todo.size())));
    std::vector<std::thread> threads;
    for (int t = 1; t < n; ++t) threads.emplace_back(work);
    work();
    for (std::thread& t : threads) t.join();
    idle_since = Clock::now();
  }
}

}  // namespace lifeboat
