// Repository locks (locks/<random id>): backups and other writers take a
// shared lock, prune takes an exclusive one. A lock is a sealed JSON document
// naming its holder; it is refreshed (rewritten under a new name) every
// 5 minutes while held, and one not refreshed for 30 minutes, or whose process
// is gone on this host, is stale and ignored. See docs/FORMAT.md "Locks".
// Thread-safety: a RepoLock refreshes itself from its own thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "repo/repository.h"

namespace lifeboat {

struct LockInfo {
  std::string name;  // object name under locks/
  int64_t time_ns = 0;
  std::string hostname;
  std::string username;
  int64_t pid = 0;
  bool exclusive = false;
  bool stale = false;  // computed when read, not stored
  std::string Describe() const;  // "exclusive lock held by user@host (pid 12) since ..."
};

inline constexpr std::chrono::minutes kLockRefreshInterval{5};
inline constexpr std::chrono::minutes kLockStaleAfter{30};

class RepoLock {
 public:
  // Takes a lock. kLocked, with the holder's description and a hint, if a
  // conflicting non-stale lock exists (any lock for exclusive; an exclusive
  // one for shared) and goes on existing for repo.lock_wait().
  static Result<std::unique_ptr<RepoLock>> Acquire(Repository& repo, bool exclusive);
  ~RepoLock();  // stops refreshing and removes the lock file (best effort)
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;

  // Removes the lock now and reports failure.
  Status Release();

 private:
  RepoLock(Repository& repo, bool exclusive) : repo_(repo), exclusive_(exclusive) {}
  // One attempt: kLocked at once on a conflict.
  static Result<std::unique_ptr<RepoLock>> TryAcquire(Repository& repo, bool exclusive);
  Status Write();
  void RefreshLoop();

  Repository& repo_;
  bool exclusive_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::string name_;
  std::thread refresher_;
};

// Every lock file, decoded, with staleness computed. Unreadable lock files
// are listed with hostname "?" and stale=false (they block exclusive locks
// until removed by `unlock --remove-all`).
Result<std::vector<LockInfo>> ListLocks(Repository& repo);

// Removes stale locks (or all locks if `all`); returns how many were removed.
Result<size_t> RemoveLocks(Repository& repo, bool all);

}  // namespace lifeboat
