#include "walarchive/wal_prefetch.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <limits>
#include <dirent.h>
#include <fmt/format.h>
#include <random>
#include <set>
#include <thread>

#include "backend/file_util.h"
#include "walarchive/wal_archive.h"
#include "walarchive/wal_spool.h"

namespace lifeboat {
namespace {

constexpr size_t kMaxMessage = 4096;
constexpr uint64_t kMaxCopy = uint64_t{1} << 30;

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status WriteAtomically(const std::string& path, ByteView data) {
  const std::string tmp = DirOf(path) + "/" + TempName();
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoStatus(errno, "unable to create " + tmp);
  Status s = WriteAll(fd.get(), data, tmp);
  if (s.ok() && ::fdatasync(fd.get()) != 0) s = ErrnoStatus(errno, "unable to sync " + tmp);
  if (const int err = fd.Close(); s.ok() && err != 0) s = ErrnoStatus(err, "unable to close " + tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = ErrnoStatus(errno, "unable to rename " + tmp + " to " + path);
  }
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Result<Bytes> ReadSmallFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return ErrnoStatus(errno, "unable to open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "unable to stat " + path);
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) > kMaxCopy) {
    return InvalidArgument(path + " is not a WAL file");
  }
  Bytes out(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus(n < 0 ? errno : EIO, "unable to read " + path);
    got += static_cast<size_t>(n);
  }
  return out;
}

bool IsSegment(const std::string& name) {
  return name.size() == 24 && ValidateWalFileName(name).ok();
}

}  // namespace

WalFetchSpool::WalFetchSpool(std::string spool_root, uint64_t system_id)
    : dir_(std::move(spool_root) + "/" + std::to_string(system_id) + "/in") {}

Status WalFetchSpool::Prepare() const {
  const std::string sys = DirOf(dir_);
  for (const std::string& d : {DirOf(sys), sys, dir_}) {
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "unable to create the spool directory " + d);
    }
  }
  struct stat st;
  if (::stat(dir_.c_str(), &st) != 0) return ErrnoStatus(errno, "unable to stat " + dir_);
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
    return Status(Code::kPermissionDenied,
                  "the spool directory " + dir_ + " is not a directory of this user",
                  "give archive-get --spool a directory of the server's user");
  }
  return Status::Ok();
}

WalFetchSpool::State WalFetchSpool::Check(const std::string& wal_name,
                                          std::string* message) const {
  const std::string base = dir_ + "/" + wal_name;
  if (Exists(base)) return State::kReady;
  if (Exists(base + ".missing")) return State::kMissing;
  UniqueFd fd(::open((base + ".error").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return State::kNone;
  std::string text(kMaxMessage, '\0');
  const ssize_t n = ::read(fd.get(), text.data(), text.size());
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  if (message) *message = text.empty() ? "unknown error" : text;
  return State::kError;
}

Status WalFetchSpool::Take(const std::string& wal_name, const std::string& dest) const {
  const std::string src = dir_ + "/" + wal_name;
  if (::rename(src.c_str(), dest.c_str()) == 0) {
    UniqueFd d(::open(DirOf(dest).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.get() >= 0) ::fsync(d.get());
    return Status::Ok();
  }
  if (errno != EXDEV) return ErrnoStatus(errno, "unable to move " + src + " to " + dest);
  LB_ASSIGN_OR_RETURN(Bytes data, ReadSmallFile(src));
  LB_RETURN_IF_ERROR(WriteAtomically(dest, data));
  ::unlink(src.c_str());
  return Status::Ok();
}

void WalFetchSpool::ConsumeMarkers(const std::string& wal_name) const {
  ::unlink((dir_ + "/" + wal_name + ".missing").c_str());
  ::unlink((dir_ + "/" + wal_name + ".error").c_str());
}

Status WalFetchSpool::Want(const std::string& wal_name) const {
  // A nonce makes every ask distinct, so a repeated ask is seen as new.
  std::random_device rd;
  return WriteAtomically(dir_ + "/want", AsBytes(wal_name + " " + std::to_string(rd())));
}

std::string WalFetchSpool::Wanted() const {
  auto data = ReadSmallFile(dir_ + "/want");
  if (!data.ok() || data->size() > 128) return "";
  return std::string(data->begin(), data->end());
}

Result<int> WalFetchSpool::TryLockWorker() const { return TryLockFile(dir_ + "/worker.lock"); }

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
  std::string last_ask;
  std::set<std::string> fetched;  // names fetched (or marked) for lookahead
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
        if (spool.Check(want, nullptr) == WalFetchSpool::State::kNone) todo.push_back(want);
        // Segments older than the ask are no longer needed.
        for (auto it = fetched.begin(); it != fetched.end();) {
          if (IsSegment(*it) && it->compare(0, 8, want, 0, 8) == 0 && *it < want) {
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
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    for (const std::string& name : todo) fetched.insert(name);
    std::atomic<size_t> next_index{0};
    auto work = [&] {
      for (size_t i = next_index++; i < todo.size(); i = next_index++) {
        const std::string& name = todo[i];
        const std::string path = spool.dir() + "/" + name;
        Status s = GetWal(repo, system_id, name, path);
        if (s.ok()) s = owned(path);
        if (s.code() == Code::kNotFound) {
          WriteAtomically(path + ".missing", {}).IgnoreError();
        } else if (!s.ok()) {
          if (log) log(s.ToString());
          const std::string text = s.ToString().substr(0, kMaxMessage);
          WriteAtomically(path + ".error", AsBytes(text)).IgnoreError();
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
  options.stop = &stop_;
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
