// Test helper (header only, for tests that need data read from the disk):
// drops a file's pages from the page cache and says whether that worked.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace lifeboat {

// Flushes the file open as `fd` and drops its pages from the page cache.
// False if its first page is still cached afterwards (tmpfs keeps files in
// memory for good), so the caller can skip rather than test nothing.
inline bool DropFromPageCache(int fd) {
  if (fdatasync(fd) != 0 || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) return false;
  void* map = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return false;
  unsigned char resident = 1;
  const bool known = mincore(map, 4096, &resident) == 0;
  munmap(map, 4096);
  return known && (resident & 1) == 0;
}

}  // namespace lifeboat
