// Reading a file while learning whether its data came from the page cache:
// the backup's readers use it to tell a cold source (reads wait for the
// disk, so more of them in flight help) from a warm one (they only compete
// for cores).
// Thread-safety: free functions, thread-safe.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace lifeboat {

// Reads up to `size` bytes from `fd`'s current position into `dst`, like
// read(2) (same return value and errno). *waited is set when the read had to
// wait for the disk: the page cache did not hold the first `expected` bytes
// (pass 0 when the size is unknown: then only a read that found nothing
// cached counts). Filesystems that cannot tell (remote and FUSE ones, or
// kernels before 4.14) count as waiting: there reads in flight help most.
ssize_t ReadNotingWait(int fd, uint8_t* dst, size_t size, size_t expected, bool* waited);

}  // namespace lifeboat
