#include "backend/staged_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace lifeboat {
namespace {

std::string ParentDir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status LinkOrRenameError(int err, const std::string& what) {
  if (err == EXDEV) return Status(Code::kUnsupported, what + ": not on the same filesystem");
  return ErrnoStatus(err, what);
}

}  // namespace

StagedFile::StagedFile(UniqueFd fd, std::string dir, std::string named_path)
    : fd_(std::move(fd)), dir_(std::move(dir)), named_path_(std::move(named_path)) {}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : fd_(std::move(other.fd_)),
      dir_(std::move(other.dir_)),
      named_path_(std::exchange(other.named_path_, std::string())),
      size_(std::exchange(other.size_, 0)) {}

StagedFile& StagedFile::operator=(StagedFile&& other) noexcept {
  if (this != &other) {
    Discard();
    fd_ = std::move(other.fd_);
    dir_ = std::move(other.dir_);
    named_path_ = std::exchange(other.named_path_, std::string());
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

StagedFile::~StagedFile() { Discard(); }

void StagedFile::Discard() {
  if (!named_path_.empty()) ::unlink(named_path_.c_str());
  named_path_.clear();
  fd_.Close();
}

Result<StagedFile> StagedFile::Create(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return StagedFile(UniqueFd(fd), dir, std::string());
  const int tmpfile_err = errno;
  // No O_TMPFILE on this filesystem (EOPNOTSUPP/EISDIR/EINVAL): a named file.
  if (tmpfile_err == ENOENT || tmpfile_err == EACCES || tmpfile_err == ENOSPC ||
      tmpfile_err == EROFS || tmpfile_err == EDQUOT) {
    return ErrnoStatus(tmpfile_err, "unable to create a temporary file in " + dir);
  }
  for (int attempt = 0;; ++attempt) {
    std::string path = dir + "/" + TempName();
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return StagedFile(UniqueFd(fd), dir, std::move(path));
    if (errno == EINTR || (errno == EEXIST && attempt < 8)) continue;
    return ErrnoStatus(errno, "unable to create a temporary file in " + dir);
  }
}

Status StagedFile::Append(ByteView data) {
  if (fd_.get() < 0) return Internal("staged file already published");
  LB_RETURN_IF_ERROR(WriteAll(fd_.get(), data, "a temporary file in " + dir_));
  size_ += data.size();
  return Status::Ok();
}

Status StagedFile::Publish(const std::string& final_path) {
  if (fd_.get() < 0) return Internal("staged file already published");
  const std::string final_dir = ParentDir(final_path);
  if (::fdatasync(fd_.get()) != 0) {
    Status s = ErrnoStatus(errno, "unable to sync a temporary file in " + dir_);
    Discard();
    return s;
  }
  // The bytes are on disk: drop them from the page cache. A backup writes
  // gigabytes it will not read again; keeping them cached would evict the
  // application's hot data, and reusing these pages for the next pack is
  // cheaper than faulting in fresh memory (notably on VMs).
  ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_DONTNEED);
  std::string temp = named_path_;
  if (temp.empty()) {
    // Give the anonymous file a temporary name beside its final one, then
    // rename: linkat cannot replace an existing file, rename can.
    temp = final_dir + "/" + TempName();
    const std::string proc = "/proc/self/fd/" + std::to_string(fd_.get());
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, temp.c_str(), AT_SYMLINK_FOLLOW) != 0 &&
        ::linkat(fd_.get(), "", AT_FDCWD, temp.c_str(), AT_EMPTY_PATH) != 0) {
      Status s = LinkOrRenameError(errno, "unable to link a temporary file into " + final_dir);
      Discard();
      return s;
    }
  }
  if (::rename(temp.c_str(), final_path.c_str()) != 0) {
    Status s = LinkOrRenameError(errno, "unable to rename " + temp + " to " + final_path);
    if (temp != named_path_) ::unlink(temp.c_str());
    Discard();
    return s;
  }
  named_path_.clear();  // it is the final file now: do not unlink it
  Discard();
  return SyncDirectory(final_dir);
}

StagedFile::Mapping::Mapping(Mapping&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0)) {}

StagedFile::Mapping::~Mapping() {
  if (addr_ != nullptr && size_ > 0) ::munmap(addr_, size_);
}

Result<StagedFile::Mapping> StagedFile::Map() const {
  if (fd_.get() < 0) return Internal("staged file already published");
  if (size_ == 0) return Mapping(nullptr, 0);
  void* addr = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_.get(), 0);
  if (addr == MAP_FAILED) return ErrnoStatus(errno, "unable to map a temporary file in " + dir_);
  return Mapping(addr, size_);
}

}  // namespace lifeboat
