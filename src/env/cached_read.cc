#include "env/cached_read.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace lifeboat {

ssize_t ReadNotingWait(int fd, uint8_t* dst, size_t size, size_t expected, bool* waited) {
  *waited = false;
  iovec iov{dst, size};
  // RWF_NOWAIT copies what the page cache holds (EAGAIN if nothing) without
  // waiting; the kernel starts its readahead all the same, so the blocking
  // read that follows costs no more. Offset -1: the file position, as read(2).
  const ssize_t n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
  if (n >= 0) {
    *waited = static_cast<size_t>(n) < expected && static_cast<size_t>(n) < size;
    return n;
  }
  if (errno != EAGAIN && errno != EOPNOTSUPP && errno != EINVAL && errno != ENOSYS) return n;
  *waited = true;
  return read(fd, dst, size);
}

}  // namespace lifeboat
