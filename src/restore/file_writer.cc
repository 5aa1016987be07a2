// See file_writer.h.
#include "restore/file_writer.h"

#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace lifeboat {
namespace {

constexpr size_t kMemoryAlign = 4096;    // O_DIRECT memory alignment (enough for any device)
constexpr size_t kBounceSize = 4 << 20;  // one O_DIRECT write covers at most this

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// A per-thread aligned buffer that the unaligned middle of a range is copied
// into for its O_DIRECT write.
uint8_t* BounceBuffer() {
  struct Buffer {
    uint8_t* data = static_cast<uint8_t*>(std::aligned_alloc(kMemoryAlign, kBounceSize));
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffer;
  return buffer.data;
}

Status WriteAll(int fd, const uint8_t* data, size_t size, uint64_t offset,
                const std::string& path) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "unable to write " + Quote(path));
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status WriteSparse(int fd, const uint8_t* data, size_t size, uint64_t offset,
                   const std::string& path, uint64_t* end) {
  constexpr uint64_t kBlock = 4096;
  size_t pos = 0;
  size_t run_start = 0;
  bool in_run = false;
  while (pos < size) {
    size_t len =
        static_cast<size_t>(std::min<uint64_t>(size - pos, kBlock - (offset + pos) % kBlock));
    bool zero = AllZero(data + pos, len);
    if (!zero && !in_run) {
      run_start = pos;
      in_run = true;
    } else if (zero && in_run) {
      LB_RETURN_IF_ERROR(WriteAll(fd, data + run_start, pos - run_start, offset + run_start, path));
      *end = std::max(*end, offset + pos);
      in_run = false;
    }
    pos += len;
  }
  if (!in_run) return Status::Ok();
  LB_RETURN_IF_ERROR(WriteAll(fd, data + run_start, size - run_start, offset + run_start, path));
  *end = std::max(*end, offset + size);
  return Status::Ok();
}

}  // namespace

bool AllZero(const uint8_t* p, size_t n) {
  // Word-at-a-time; the tail byte by byte.
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (w != 0) return false;
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    if (*p++ != 0) return false;
    --n;
  }
  return true;
}

bool DirectWritesPayOff(const std::string& dir) {
  constexpr long kExt4Magic = 0xEF53;  // also ext2 and ext3
  constexpr long kXfsMagic = 0x58465342;
  constexpr long kBtrfsMagic = 0x9123683E;
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return false;
  long type = static_cast<long>(fs.f_type);
  return type == kExt4Magic || type == kXfsMagic || type == kBtrfsMagic;
}

Status WriteBuffered(int fd, const uint8_t* data, size_t size, uint64_t offset, bool sparse,
                     const std::string& path, uint64_t* end) {
  if (sparse) return WriteSparse(fd, data, size, offset, path, end);
  LB_RETURN_IF_ERROR(WriteAll(fd, data, size, offset, path));
  *end = std::max(*end, offset + size);
  return Status::Ok();
}

uint32_t DirectFileWriter::BlockBytes(uint64_t block) const {
  uint64_t start = block * block_;
  return static_cast<uint32_t>(std::min<uint64_t>(block_, size_ - start));
}

Status DirectFileWriter::Write(int fd, const uint8_t* data, size_t size, uint64_t offset) {
  if (buffered_) return WriteBuffered(fd, data, size, offset, sparse_, path_, &end_);
  // The head: the rest of a block this range starts inside of.
  if (uint32_t in_block = static_cast<uint32_t>(offset % block_); in_block != 0 && size > 0) {
    uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(size, block_ - in_block));
    LB_RETURN_IF_ERROR(AddToBlock(fd, offset / block_, in_block, data, n));
    data += n;
    size -= n;
    offset += n;
  }
  // The middle: whole blocks. A range that ends at the end of the file ends
  // in its last block, which is complete as soon as it arrives.
  uint64_t whole = size / block_ * block_;
  if (whole > 0) {
    LB_RETURN_IF_ERROR(WriteBlocks(fd, data, whole, offset));
    data += whole;
    size -= whole;
    offset += whole;
  }
  // The tail: the start of a block the range ends inside of.
  if (size > 0)
    LB_RETURN_IF_ERROR(AddToBlock(fd, offset / block_, 0, data, static_cast<uint32_t>(size)));
  return Status::Ok();
}

Status DirectFileWriter::AddToBlock(int fd, uint64_t block, uint32_t in_block, const uint8_t* data,
                                    uint32_t n) {
  if (!buffered_ && held_.size() >= max_held_ && held_.find(block) == held_.end())
    LB_RETURN_IF_ERROR(SwitchToBuffered(fd));
  if (buffered_) return Write(fd, data, n, block * block_ + in_block);
  auto [it, added] = held_.try_emplace(block);
  Held& held = it->second;
  if (added) {
    held.data.reset(static_cast<uint8_t*>(
        std::aligned_alloc(kMemoryAlign, std::max<size_t>(block_, kMemoryAlign))));
    if (!held.data) return Status(Code::kIoError, "out of memory restoring " + Quote(path_));
    std::memset(held.data.get(), 0, block_);
  }
  std::memcpy(held.data.get() + in_block, data, n);
  held.filled += n;
  if (held.filled < BlockBytes(block)) return Status::Ok();
  // Out of the map before writing: a fallback to buffered I/O flushes it.
  Held complete = std::move(held);
  held_.erase(it);
  return WriteHeld(fd, block, complete);
}

Status DirectFileWriter::WriteHeld(int fd, uint64_t block, const Held& held) {
  const uint8_t* data = held.data.get();
  if (sparse_ && AllZero(data, block_)) return Status::Ok();  // stays a hole
  // Buffered, write only the file's bytes; direct, the whole (padded) block.
  size_t n = buffered_ ? BlockBytes(block) : block_;
  return WriteAligned(fd, data, n, block * block_);
}

Status DirectFileWriter::WriteBlocks(int fd, const uint8_t* data, uint64_t size, uint64_t offset) {
  uint8_t* bounce = BounceBuffer();
  if (bounce == nullptr) return Status(Code::kIoError, "out of memory restoring " + Quote(path_));
  // Runs of blocks are gathered into the aligned buffer; sparse, an all-zero
  // block ends a run and is not written.
  size_t run = 0;  // bytes gathered
  uint64_t run_offset = offset;
  for (uint64_t pos = 0; pos < size; pos += block_) {
    const uint8_t* src = data + pos;
    bool skip = sparse_ && AllZero(src, block_);
    if (!skip) {
      if (run == 0) run_offset = offset + pos;
      std::memcpy(bounce + run, src, block_);
      run += block_;
    }
    if (run > 0 && (skip || run == kBounceSize || pos + block_ == size)) {
      LB_RETURN_IF_ERROR(WriteAligned(fd, bounce, run, run_offset));
      run = 0;
    }
  }
  return Status::Ok();
}

Status DirectFileWriter::WriteAligned(int fd, const uint8_t* data, size_t size, uint64_t offset) {
  const uint64_t end = offset + size;
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && !buffered_) {
        LB_RETURN_IF_ERROR(SwitchToBuffered(fd));
        continue;  // the same bytes, buffered
      }
      return ErrnoStatus(errno, "unable to write " + Quote(path_));
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  end_ = std::max(end_, end);
  return Status::Ok();
}

Status DirectFileWriter::SwitchToBuffered(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_DIRECT) != 0)
    return ErrnoStatus(errno, "unable to write " + Quote(path_));
  buffered_ = true;
  return Flush(fd);
}

Status DirectFileWriter::Flush(int fd) {
  // Block order: one sequential pass (and deterministic errors).
  std::vector<uint64_t> blocks;
  blocks.reserve(held_.size());
  for (const auto& [block, held] : held_) blocks.push_back(block);
  std::sort(blocks.begin(), blocks.end());
  Status status = Status::Ok();
  for (uint64_t block : blocks) {
    auto it = held_.find(block);
    if (it == held_.end()) continue;  // written by a fallback inside this loop
    Held held = std::move(it->second);
    held_.erase(it);
    if (status.ok()) status = WriteHeld(fd, block, held);
  }
  return status;
}

}  // namespace lifeboat
