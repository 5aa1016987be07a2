#include "walspool/fetch_spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <random>
#include <thread>

#include "backend/file_util.h"

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

// Copies regular file `src` to `dest` through a temporary file in dest's
// directory and a rename (copy_file_range within a filesystem, read/write
// across). Not synced: PostgreSQL fetches a restored file again after a
// crash.
Status CopyAtomically(const std::string& src, const std::string& dest) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (in.get() < 0) return ErrnoStatus(errno, "unable to open " + src);
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return ErrnoStatus(errno, "unable to stat " + src);
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) > kMaxCopy) {
    return InvalidArgument(src + " is not a WAL file");
  }
  const std::string tmp = DirOf(dest) + "/" + TempName();
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0) return ErrnoStatus(errno, "unable to create " + tmp);
  Status s = Status::Ok();
  uint64_t left = static_cast<uint64_t>(st.st_size);
  bool in_kernel = true;
  Bytes buffer;
  while (s.ok() && left > 0) {
    ssize_t n = -1;
    if (in_kernel) {
      n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, left, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) &&
          left == static_cast<uint64_t>(st.st_size)) {
        in_kernel = false;  // not possible here: plain reads and writes
        buffer.resize(1 << 20);
        continue;
      }
    } else {
      n = ::read(in.get(), buffer.data(), std::min<uint64_t>(left, buffer.size()));
      if (n > 0) s = WriteAll(out.get(), ByteView(buffer.data(), static_cast<size_t>(n)), tmp);
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) s = ErrnoStatus(errno, "unable to copy " + src + " to " + tmp);
    if (n == 0) s = IoError("unable to copy " + src + ": the file shrank while being read");
    if (n > 0) left -= static_cast<uint64_t>(n);
  }
  if (const int err = out.Close(); s.ok() && err != 0) s = ErrnoStatus(err, "unable to close " + tmp);
  if (s.ok() && ::rename(tmp.c_str(), dest.c_str()) != 0) {
    s = ErrnoStatus(errno, "unable to rename " + tmp + " to " + dest);
  }
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

// This boot's identity (12 hex digits of /proc/sys/kernel/random/boot_id),
// "" when the system does not tell.
std::string BootId() {
  UniqueFd fd(::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return "";
  char text[64] = {};
  const ssize_t n = ::read(fd.get(), text, sizeof text - 1);
  std::string id;
  for (ssize_t i = 0; i < n && id.size() < 12; ++i) {
    if (std::isxdigit(static_cast<unsigned char>(text[i]))) id += text[i];
  }
  return id.size() == 12 ? id : "";
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

}  // namespace

WalFetchSpool::WalFetchSpool(std::string spool_root, uint64_t system_id) {
  const std::string boot = BootId();
  durable_ = boot.empty();
  dir_ = std::move(spool_root) + "/" + std::to_string(system_id) + (durable_ ? "/in" : "/in-" + boot);
}

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
  // A copy, not a move: PostgreSQL asks for the last segment again at the
  // end of recovery, and the worker removes it once the asks move on.
  return CopyAtomically(dir_ + "/" + wal_name, dest);
}

void WalFetchSpool::ConsumeMarkers(const std::string& wal_name) const {
  ::unlink((dir_ + "/" + wal_name + ".missing").c_str());
  ::unlink((dir_ + "/" + wal_name + ".error").c_str());
}

Status WalFetchSpool::Want(const std::string& wal_name) const {
  // A nonce makes every ask distinct, so a repeated ask is seen as new.
  std::random_device rd;
  return WriteFileAtomically(dir_ + "/want", AsBytes(wal_name + " " + std::to_string(rd())), durable_);
}

std::string WalFetchSpool::Wanted() const {
  auto data = ReadSmallFile(dir_ + "/want");
  if (!data.ok() || data->size() > 128) return "";
  return std::string(data->begin(), data->end());
}

Result<int> WalFetchSpool::TryLockWorker() const { return TryLockFile(dir_ + "/worker.lock"); }

Status WalFetchSpool::MarkMissing(const std::string& wal_name) const {
  return WriteFileAtomically(dir_ + "/" + wal_name + ".missing", {}, durable_);
}

Status WalFetchSpool::MarkError(const std::string& wal_name, const std::string& message) const {
  return WriteFileAtomically(dir_ + "/" + wal_name + ".error", AsBytes(message.substr(0, kMaxMessage)),
                         durable_);
}

Status WriteFileAtomically(const std::string& path, ByteView data, bool durable) {
  const std::string dir = DirOf(path);
  const std::string tmp = dir + "/" + TempName();
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoStatus(errno, "unable to create " + tmp);
  Status s = WriteAll(fd.get(), data, tmp);
  if (s.ok() && durable && ::fdatasync(fd.get()) != 0) {
    s = ErrnoStatus(errno, "unable to sync " + tmp);
  }
  if (const int err = fd.Close(); s.ok() && err != 0) s = ErrnoStatus(err, "unable to close " + tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = ErrnoStatus(errno, "unable to rename " + tmp + " to " + path);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return durable ? SyncDirectory(dir) : Status::Ok();
}

Status WalFetchSpool::Await(const std::string& wal_name, const std::string& dest,
                            double timeout_seconds,
                            const std::function<void(int lock_fd)>& no_worker) const {
  LB_RETURN_IF_ERROR(Want(wal_name));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  for (;;) {
    std::string message;
    switch (Check(wal_name, &message)) {
      case State::kReady:
        return Take(wal_name, dest);
      case State::kMissing:
        ConsumeMarkers(wal_name);
        return NotFound("WAL file " + wal_name + " is not in the archive");
      case State::kError:
        ConsumeMarkers(wal_name);
        return IoError("unable to fetch WAL file " + wal_name + ": " + message);
      case State::kNone:
        break;
    }
    LB_ASSIGN_OR_RETURN(int lock, TryLockWorker());
    if (lock >= 0) no_worker(lock);
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(Code::kUnavailable, "timed out waiting for the fetch worker to bring " + wal_name,
                    "see " + dir_ + "/worker.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Result<int> TryLockFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "unable to open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return fd;
  const int err = errno;
  ::close(fd);
  if (err == EWOULDBLOCK) return -1;
  return ErrnoStatus(err, "unable to lock " + path);
}

}  // namespace lifeboat
