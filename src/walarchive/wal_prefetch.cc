#include "walarchive/wal_prefetch.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <fmt/format.h>
#include <limits>
#include <mutex>
#include <set>
#include <thread>

#include "walarchive/wal_archive.h"

namespace lifeboat {
namespace {

bool IsSegment(const std::string& name) {
  return name.size() == 24 && ValidateWalFileName(name).ok();
}

}  // namespace

std::string NextWalSegment(const std::string& wal_name, uint64_t segment_size) {
  if (!IsSegment(wal_name)) return "";
  if (segment_size < (1u << 20) || segment_size > (1u << 30) ||
      (segment_size & (segment_size - 1)) != 0) {
    segment_size = 16u << 20;
  }
  const uint64_t per_log = 0x100000000ull / segment_size;
  uint32_t log = 0, seg = 0;
  std::from_chars(wal_name.data() + 8, wal_name.data() + 16, log, 16);
  std::from_chars(wal_name.data() + 16, wal_name.data() + 24, seg, 16);
  uint64_t n = uint64_t{log} * per_log + seg + 1;
  return wal_name.substr(0, 8) + fmt::format("{:08X}{:08X}", n / per_log, n % per_log);
}

void RunWalFetchWorker(Repository& repo, uint64_t system_id, const WalFetchSpool& spool,
                       const WalFetchWorkerOptions& options,
                       const std::function<void(const std::string&)>& log) {
  using Clock = std::chrono::steady_clock;
  std::string last_ask, last_want;
  std::set<std::string> fetched;  // names fetched (or marked) for lookahead
  // Segments served from a stream-wal partial: the archive's last, whose
  // valid WAL ends before the segment does.
  std::set<std::string> partials;
  std::mutex partials_mu;
  auto idle_since = Clock::now();
  auto owned = [&options](const std::string& path) {
    if (options.owner_uid >= 0 &&
        ::chown(path.c_str(), static_cast<uid_t>(options.owner_uid),
                static_cast<gid_t>(options.owner_gid)) != 0) {
      return ErrnoStatus(errno, "unable to chown " + path);
    }
    return Status::Ok();
  };
  for (;;) {
    if (options.stop != nullptr && options.stop->load()) return;
    const std::string ask = spool.Wanted();
    const std::string want = ask.substr(0, ask.find(' '));
    std::vector<std::string> todo;
    if (!want.empty() && ValidateWalFileName(want).ok()) {
      const bool new_ask = ask != last_ask;
      if (new_ask) {
        last_ask = ask;
        idle_since = Clock::now();
        const WalFetchSpool::State state = spool.Check(want, nullptr);
        if (state == WalFetchSpool::State::kNone) todo.push_back(want);
        if (state == WalFetchSpool::State::kMissing && IsSegment(want) && options.exhausted) {
          *options.exhausted = true;  // marked missing while prefetching
        }
        if (state == WalFetchSpool::State::kReady && options.exhausted) {
          std::lock_guard lock(partials_mu);
          // PostgreSQL reads it to its last valid record; a standby then
          // asks for it again rather than for the next segment.
          if (partials.count(want)) *options.exhausted = true;
        }
        // Segments older than this ask and the one before are no longer
        // needed (PostgreSQL asks for the last segment again after learning
        // that the next one is missing).
        const std::string floor =
            IsSegment(last_want) && last_want.compare(0, 8, want, 0, 8) == 0 && last_want < want
                ? last_want
                : want;
        last_want = want;
        for (auto it = fetched.begin(); it != fetched.end();) {
          if (IsSegment(*it) && it->compare(0, 8, want, 0, 8) == 0 && *it < floor) {
            ::unlink((spool.dir() + "/" + *it).c_str());
            it = fetched.erase(it);
          } else {
            ++it;
          }
        }
      }
      std::string next = want;
      for (int i = 0; i < options.window; ++i) {
        next = NextWalSegment(next, options.segment_size);
        if (next.empty()) break;
        if (!fetched.count(next) && spool.Check(next, nullptr) == WalFetchSpool::State::kNone) {
          todo.push_back(next);
        }
      }
    }
    if (todo.empty()) {
      if (Clock::now() - idle_since > std::chrono::duration<double>(options.idle_exit_seconds)) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    for (const std::string& name : todo) fetched.insert(name);
    std::atomic<size_t> next_index{0};
    auto work = [&] {
      for (size_t i = next_index++; i < todo.size(); i = next_index++) {
        const std::string& name = todo[i];
        const std::string path = spool.dir() + "/" + name;
        std::string served_from;
        Status s = GetWal(repo, system_id, name, path, spool.durable(), &served_from);
        if (s.ok() && IsSegment(name) && served_from != name) {
          std::lock_guard lock(partials_mu);
          partials.insert(name);
          if (name == want && options.exhausted) *options.exhausted = true;
        }
        if (s.ok()) s = owned(path);
        if (s.code() == Code::kNotFound) {
          spool.MarkMissing(name).IgnoreError();
          if (name == want && IsSegment(name) && options.exhausted) *options.exhausted = true;
        } else if (!s.ok()) {
          if (log) log(s.ToString());
          spool.MarkError(name, s.ToString()).IgnoreError();
        }
      }
    };
    const int n = std::max(1, std::min<int>(options.threads, static_cast<int>(todo.size())));
    std::vector<std::thread> pool;
    for (int t = 1; t < n; ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
  }
}

Status WalPrefetchThread::Start(Repository& repo, uint64_t system_id, const WalFetchSpool& spool,
                               const std::string& first, WalFetchWorkerOptions options) {
  Stop();
  LB_ASSIGN_OR_RETURN(int fd, spool.TryLockWorker());
  if (fd < 0) return Status::Ok();
  if (options.owner_uid >= 0) {
    // The server's archive-get calls open the lock file too.
    if (::fchown(fd, static_cast<uid_t>(options.owner_uid),
                 static_cast<gid_t>(options.owner_gid)) != 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "unable to chown " + spool.dir() + "/worker.lock");
    }
  }
  if (Status s = spool.Want(first); !s.ok()) {
    ::close(fd);
    return s;
  }
  stop_ = false;
  exhausted_ = false;
  options.stop = &stop_;
  options.exhausted = &exhausted_;
  options.idle_exit_seconds = std::numeric_limits<double>::infinity();  // until Stop()
  // The thread owns the lock: whenever it ends, archive-get calls can start
  // a worker of their own instead of waiting for this one.
  thread_ = std::thread([&repo, system_id, spool, options, fd] {
    RunWalFetchWorker(repo, system_id, spool, options, nullptr);
    ::close(fd);
  });
  return Status::Ok();
}

void WalPrefetchThread::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace lifeboat
