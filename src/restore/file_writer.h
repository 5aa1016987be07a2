// Writing a restored file's content: buffered writes that leave all-zero
// blocks as holes, and DirectFileWriter for large files.
//
// DirectFileWriter writes one regular file's content, which arrives as
// disjoint byte ranges in any order (chunks, in the order of the packs that
// hold them), through a descriptor opened with O_DIRECT.
//
// Why: a restore writes gigabytes once and does not read them back. Through
// the page cache every byte is first copied by the kernel into freshly
// allocated cache pages and then written back by the final sync; in a
// profile of a restore that copy was the largest single cost (35-41 % of the
// samples). O_DIRECT writes go from our buffer to the device.
//
// O_DIRECT wants file offsets, lengths and memory aligned to the device's
// block; chunk boundaries are not. Each range is split into its aligned
// middle, written at once (copied into an aligned per-thread buffer), and the
// partial blocks at its ends, held here until every byte of the block has
// arrived (then written) or the file is complete (Flush). A byte no range
// covered is zero: its chunk was all zeros and skipped to leave a hole. The
// last block of a file is written whole (zero-padded) and the caller cuts the
// file back to its size (FileEnd() tells how far writes went).
//
// If the descriptor refuses an O_DIRECT write with EINVAL (an alignment the
// filesystem does not accept), or the file would hold too many partial
// blocks, the writer switches the descriptor to buffered I/O, writes out the
// blocks it holds and goes on buffered.
//
// Thread-safety: none; the caller serializes the calls for one file (the
// restorer holds the file's mutex). The aligned buffer is per thread.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>

#include "base/result.h"

namespace lifeboat {

// Writes `data` at `offset` through the page cache. Sparse, 4 KiB blocks
// (aligned to the file offset) that are all zero are left unwritten, so they
// stay holes. Raises `*end` to the end of the last byte written: a file whose
// tail was left unwritten gets its size from ftruncate.
Status WriteBuffered(int fd, const uint8_t* data, size_t size, uint64_t offset, bool sparse,
                     const std::string& path, uint64_t* end);

bool AllZero(const uint8_t* data, size_t size);

// Whether files in directory `dir` should be written with O_DIRECT: only on
// the local block-device filesystems where it was measured to pay (ext2/3/4,
// XFS, btrfs). On NFS every O_DIRECT write is a synchronous round trip, on
// tmpfs the page cache is the storage.
bool DirectWritesPayOff(const std::string& dir);

class DirectFileWriter {
 public:
  static constexpr uint32_t kDefaultBlock = 4096;

  // Partial blocks one file may hold (4 KiB each) before it goes on
  // buffered: chunks arriving far out of order (packs rewritten by prune)
  // could otherwise hold one per chunk boundary of a huge file.
  static constexpr size_t kDefaultMaxHeld = 4096;

  // `size`: the file's final size. `sparse`: leave all-zero blocks unwritten.
  // `block`: the alignment used (a power of two; tests use smaller ones).
  DirectFileWriter(uint64_t size, bool sparse, std::string path, uint32_t block = kDefaultBlock,
                   size_t max_held = kDefaultMaxHeld)
      : size_(size), sparse_(sparse), block_(block), max_held_(max_held), path_(std::move(path)) {}

  // Writes `data` at `offset` (a range no other Write covers) through `fd`.
  Status Write(int fd, const uint8_t* data, size_t size, uint64_t offset);
  // Writes every block still held, its missing bytes as zeros. Call once the
  // whole content has been written.
  Status Flush(int fd);

  // The end of the furthest write (0 if none): beyond the file's size when
  // its last block was padded, short of it when trailing zeros were skipped.
  uint64_t FileEnd() const { return end_; }
  // Clears O_DIRECT on `fd`, writes out the blocks held and writes
  // buffered from now on (also for a descriptor that was reopened and
  // refused O_DIRECT: the held blocks must not be lost).
  Status SwitchToBuffered(int fd);
  // Whether the writer fell back to buffered writes on this descriptor.
  bool buffered() const { return buffered_; }
  size_t held_blocks() const { return held_.size(); }

 private:
  struct FreeDeleter {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  struct Held {
    std::unique_ptr<uint8_t, FreeDeleter> data;
    uint32_t filled = 0;  // bytes of the block that arrived
  };

  // The block's bytes within the file: block_, fewer for the last block.
  uint32_t BlockBytes(uint64_t block) const;
  // Adds bytes to a held block; writes it once complete.
  Status AddToBlock(int fd, uint64_t block, uint32_t in_block, const uint8_t* data, uint32_t n);
  // Writes a held block (unless sparse and all zero) and forgets it.
  Status WriteHeld(int fd, uint64_t block, const Held& held);
  // Writes the whole blocks [offset, offset + size) from unaligned `data`.
  Status WriteBlocks(int fd, const uint8_t* data, uint64_t size, uint64_t offset);
  // Writes one run from aligned memory, falling back to buffered I/O on EINVAL.
  Status WriteAligned(int fd, const uint8_t* data, size_t size, uint64_t offset);

  uint64_t size_;
  bool sparse_;
  uint32_t block_;
  size_t max_held_;
  std::string path_;
  bool buffered_ = false;
  uint64_t end_ = 0;
  std::unordered_map<uint64_t, Held> held_;  // block number -> partial block
};

}  // namespace lifeboat
