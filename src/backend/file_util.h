// Small POSIX file helpers shared by the local backend and staged files:
// an owning descriptor, random temporary names, full writes, directory sync.
// Thread-safety: free functions are thread-safe; a UniqueFd is not shared.
#pragma once

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace lifeboat {

// Prefix of temporary files in a repository directory; List skips them.
inline constexpr std::string_view kTempPrefix = ".tmp-";

// Owns a file descriptor; closes it on destruction (errors ignored there: use
// Close() where a close error matters).
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Returns 0 or the errno of close().
  int Close();

 private:
  int fd_;
};

// ".tmp-" followed by 16 random hex digits.
std::string TempName();

// write() until all of `data` is written; `path` names the file in errors.
Status WriteAll(int fd, ByteView data, const std::string& path);

// fsync()s a directory so that entries created, renamed or removed in it are
// durable. Filesystems that cannot sync directories (EINVAL) count as success.
Status SyncDirectory(const std::string& path);

}  // namespace lifeboat
