#include "repo/lock.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "model/time_format.h"
#include "policy/duration.h"

namespace lifeboat {
namespace {

using json = nlohmann::json;

bool ProcessGone(int64_t pid) {
  if (pid <= 0) return false;
  return kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

Result<LockInfo> ReadLock(Repository& repo, const std::string& name) {
  auto payload = repo.LoadObject(ObjectType::kLock, name);
  if (!payload.ok()) return payload.status();
  try {
    json doc = json::parse(AsString(*payload));
    LockInfo info;
    info.name = name;
    info.time_ns = doc.at("time_ns").get<int64_t>();
    info.hostname = doc.at("hostname").get<std::string>();
    info.username = doc.at("username").get<std::string>();
    info.pid = doc.at("pid").get<int64_t>();
    info.exclusive = doc.at("exclusive").get<bool>();
    int64_t age = NowNs() - info.time_ns;
    info.stale = age > std::chrono::nanoseconds(kLockStaleAfter).count() ||
                 (info.hostname == LocalHostname() && ProcessGone(info.pid));
    return info;
  } catch (const json::exception& e) {
    return Corrupt(std::string("lock is malformed: ") + e.what());
  }
}

}  // namespace

std::string LockInfo::Describe() const {
  return std::string(exclusive ? "exclusive" : "shared") + " lock held by " + username + "@" +
         hostname + " (pid " + std::to_string(pid) + ") since " + FormatTimeRfc3339(time_ns) +
         (stale ? " [stale]" : "");
}

Result<std::vector<LockInfo>> ListLocks(Repository& repo) {
  LB_ASSIGN_OR_RETURN(auto names, ListNames(repo.backend(), ObjectType::kLock));
  std::vector<LockInfo> out;
  for (const std::string& name : names) {
    auto info = ReadLock(repo, name);
    if (info.ok()) {
      out.push_back(*info);
    } else if (info.status().code() != Code::kNotFound) {  // vanished meanwhile: fine
      LockInfo unknown;
      unknown.name = name;
      unknown.hostname = "?";
      unknown.username = "?";
      out.push_back(unknown);
    }
  }
  return out;
}

Result<size_t> RemoveLocks(Repository& repo, bool all) {
  LB_ASSIGN_OR_RETURN(auto locks, ListLocks(repo));
  size_t removed = 0;
  for (const LockInfo& l : locks) {
    if (!all && !l.stale) continue;
    Status s = repo.backend().Remove({ObjectType::kLock, l.name});
    if (!s.ok() && s.code() != Code::kNotFound) return s;
    ++removed;
  }
  return removed;
}

Status RepoLock::Write() {
  json doc = {{"time_ns", NowNs()},         {"hostname", LocalHostname()},
              {"username", LocalUsername()}, {"pid", static_cast<int64_t>(getpid())},
              {"exclusive", exclusive_},     {"nonce", HexEncode(RandomBytes(8))}};
  LB_ASSIGN_OR_RETURN(Id id, repo_.SaveObject(ObjectType::kLock, AsBytes(doc.dump())));
  std::string old = name_;
  name_ = id.Hex();
  if (!old.empty()) repo_.backend().Remove({ObjectType::kLock, old}).IgnoreError();
  return Status::Ok();
}

static Status Conflict(const std::vector<LockInfo>& locks, const std::string& own, bool exclusive) {
  for (const LockInfo& l : locks) {
    if (l.name == own || l.stale) continue;
    if (exclusive || l.exclusive) {
      return Status(Code::kLocked, "repository is locked: " + l.Describe(),
                    "wait for that operation to finish; if no lifeboat process is running on " +
                        l.hostname + ", remove the lock with 'lifeboat unlock'");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<RepoLock>> RepoLock::Acquire(Repository& repo, bool exclusive) {
  const auto wait = repo.lock_wait();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  // Short pauses first (a WAL push or a small backup holds its lock for
  // seconds), then every 10 s, so waiting costs few listings of locks/.
  std::chrono::milliseconds pause{500};
  while (true) {
    auto lock = TryAcquire(repo, exclusive);
    if (lock.ok() || lock.status().code() != Code::kLocked) return lock;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      if (wait.count() == 0) return lock;
      return Status(Code::kLocked,
                    lock.status().message() + " (still locked after waiting " +
                        FormatDurationSeconds(wait.count()) + ")",
                    lock.status().hint());
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(10));
  }
}

Result<std::unique_ptr<RepoLock>> RepoLock::TryAcquire(Repository& repo, bool exclusive) {
  LB_ASSIGN_OR_RETURN(auto before, ListLocks(repo));
  LB_RETURN_IF_ERROR(Conflict(before, "", exclusive));
  std::unique_ptr<RepoLock> lock(new RepoLock(repo, exclusive));
  LB_RETURN_IF_ERROR(lock->Write());
  // Two processes may have passed the first check at once: look again now
  // that our lock is visible; the later one backs off.
  LB_ASSIGN_OR_RETURN(auto after, ListLocks(repo));
  Status conflict = Conflict(after, lock->name_, exclusive);
  if (!conflict.ok()) {
    lock->Release().IgnoreError();
    return conflict;
  }
  lock->refresher_ = std::thread([l = lock.get()] { l->RefreshLoop(); });
  return lock;
}

void RepoLock::RefreshLoop() {
  std::unique_lock lk(mu_);
  while (!cv_.wait_for(lk, kLockRefreshInterval, [&] { return stopping_; })) {
    Write().IgnoreError();  // a failed refresh is retried at the next tick
  }
}

Status RepoLock::Release() {
  {
    std::lock_guard lk(mu_);
    if (stopping_ && name_.empty()) return Status::Ok();
    stopping_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  std::lock_guard lk(mu_);
  if (name_.empty()) return Status::Ok();
  Status s = repo_.backend().Remove({ObjectType::kLock, name_});
  name_.clear();
  return s;
}

RepoLock::~RepoLock() { Release().IgnoreError(); }

}  // namespace lifeboat
