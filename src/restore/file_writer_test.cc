#include "restore/file_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <vector>

#include "backend/test_temp_dir.h"
#include "restore/restore_test_util.h"

namespace lifeboat {
namespace {

using testing_util::ReadFileBytes;

struct Range {
  uint64_t offset;
  size_t size;
};

// Content of `size` bytes: random bytes with all-zero stretches (some longer
// than a block, some not aligned), like chunks of a sparse file.
Bytes SparseContent(uint64_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (auto& b : out) b = static_cast<uint8_t>(rng() | 1);
  for (int i = 0; i < 6 && size > 0; ++i) {
    uint64_t start = rng() % size;
    uint64_t len = std::min<uint64_t>(size - start, rng() % 20000);
    std::fill(out.begin() + start, out.begin() + start + len, 0);
  }
  return out;
}

// Cuts [0, size) into ranges of 1 byte to ~300 KB, in a shuffled order.
std::vector<Range> Cut(uint64_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Range> ranges;
  for (uint64_t pos = 0; pos < size;) {
    size_t len = (rng() % 4 == 0) ? 1 + rng() % 5000 : 1 + rng() % 300000;
    len = static_cast<size_t>(std::min<uint64_t>(len, size - pos));
    ranges.push_back({pos, len});
    pos += len;
  }
  std::shuffle(ranges.begin(), ranges.end(), rng);
  return ranges;
}

class DirectFileWriterTest : public ::testing::Test {
 protected:
  // Opens a new file with O_DIRECT; skips the test where the filesystem has
  // no O_DIRECT.
  int OpenDirect(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT, 0600);
    if (fd < 0 && errno == EINVAL) return -1;
    EXPECT_GE(fd, 0) << path;
    return fd;
  }

  // Writes `content` through a DirectFileWriter the way the restorer does:
  // the ranges in their order, all-zero ranges skipped when sparse, then
  // Flush and a cut back to the size where the writes went elsewhere.
  void WriteAndFinish(int fd, DirectFileWriter& writer, const Bytes& content,
                      const std::vector<Range>& ranges, bool sparse) {
    for (const Range& r : ranges) {
      const uint8_t* p = content.data() + r.offset;
      if (sparse && AllZero(p, r.size)) continue;
      Status s = writer.Write(fd, p, r.size, r.offset);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    Status s = writer.Flush(fd);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(writer.held_blocks(), 0u);
    if (writer.FileEnd() != content.size()) {
      ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(content.size())), 0);
    }
  }

  TestTempDir tmp_;
};

TEST_F(DirectFileWriterTest, RangesInAnyOrderGiveTheExactFile) {
  const uint64_t sizes[] = {
      1, 4095, 4096, 4097, 65536, (1 << 20) + 123, (5 << 20) + 4096, (3 << 20) + 1};
  uint32_t seed = 1;
  for (uint64_t size : sizes) {
    for (bool sparse : {true, false}) {
      SCOPED_TRACE("size " + std::to_string(size) + (sparse ? " sparse" : " dense"));
      ++seed;
      Bytes content = SparseContent(size, seed);
      std::string path = tmp_.path() + "/f" + std::to_string(seed);
      int fd = OpenDirect(path);
      if (fd < 0) GTEST_SKIP() << "no O_DIRECT on " << tmp_.path();
      DirectFileWriter writer(size, sparse, path);
      WriteAndFinish(fd, writer, content, Cut(size, seed), sparse);
      ::close(fd);
      EXPECT_TRUE(ReadFileBytes(path) == content);
    }
  }
}

TEST_F(DirectFileWriterTest, AllZeroBlocksStayHolesAndTheSizeIsKept) {
  // 2 MiB of data, 4 MiB of zeros (arriving as one range, and as ranges the
  // restorer skips), 1 MiB + 5 bytes of data, 1 MiB of zeros at the end.
  const uint64_t mib = 1 << 20;
  Bytes content(8 * mib + 5, 0);
  Bytes head = SparseContent(2 * mib, 7), tail = SparseContent(mib + 5, 8);
  std::copy(head.begin(), head.end(), content.begin());
  std::copy(tail.begin(), tail.end(), content.begin() + 6 * mib);
  std::vector<Range> ranges = {{6 * mib, static_cast<size_t>(mib + 5)},
                               {2 * mib + 77, static_cast<size_t>(2 * mib)},  // zeros, written
                               {0, static_cast<size_t>(2 * mib + 77)},
                               {4 * mib + 77, static_cast<size_t>(2 * mib - 77)},
                               {7 * mib + 5, static_cast<size_t>(mib)}};
  std::string path = tmp_.path() + "/holes";
  int fd = OpenDirect(path);
  if (fd < 0) GTEST_SKIP() << "no O_DIRECT on " << tmp_.path();
  DirectFileWriter writer(content.size(), true, path);
  WriteAndFinish(fd, writer, content, ranges, /*sparse=*/true);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  ::close(fd);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), content.size());
  // 3 MiB and a bit of data; the 5 MiB of zeros take no blocks.
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 4 * mib);
  EXPECT_TRUE(ReadFileBytes(path) == content);
}

TEST_F(DirectFileWriterTest, PartialBlocksAreHeldOnlyUntilComplete) {
  // Two ranges meet inside block 1: after the first, that block is held;
  // the second completes it and it is written at once.
  Bytes content = SparseContent(3 * 4096, 9);
  std::string path = tmp_.path() + "/held";
  int fd = OpenDirect(path);
  if (fd < 0) GTEST_SKIP() << "no O_DIRECT on " << tmp_.path();
  DirectFileWriter writer(content.size(), false, path);
  ASSERT_TRUE(writer.Write(fd, content.data(), 5000, 0).ok());
  EXPECT_EQ(writer.held_blocks(), 1u);
  EXPECT_EQ(writer.FileEnd(), 4096u);  // block 0 went out whole
  ASSERT_TRUE(writer.Write(fd, content.data() + 5000, content.size() - 5000, 5000).ok());
  EXPECT_EQ(writer.held_blocks(), 0u);
  EXPECT_EQ(writer.FileEnd(), content.size());
  EXPECT_FALSE(writer.buffered());
  ::close(fd);
  EXPECT_TRUE(ReadFileBytes(path) == content);
}

// The device's O_DIRECT offset alignment as the kernel reports it (0 if not).
uint32_t DirectOffsetAlign(int fd) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) != 0) return 0;
  if (!(stx.stx_mask & STATX_DIOALIGN)) return 0;
  return stx.stx_dio_offset_align;
}

TEST_F(DirectFileWriterTest, FallsBackToBufferedWritesWhereTheAlignmentIsRefused) {
  // Blocks of 64 bytes: a filesystem whose device wants 512 or more refuses
  // the first O_DIRECT write; the file must come out right all the same.
  const uint64_t size = (1 << 20) + 999;
  Bytes content = SparseContent(size, 11);
  std::string path = tmp_.path() + "/fallback";
  int fd = OpenDirect(path);
  if (fd < 0) GTEST_SKIP() << "no O_DIRECT on " << tmp_.path();
  uint32_t align = DirectOffsetAlign(fd);
  DirectFileWriter writer(size, true, path, /*block=*/64);
  WriteAndFinish(fd, writer, content, Cut(size, 12), true);
  if (align > 64) {
    EXPECT_TRUE(writer.buffered());
    EXPECT_EQ(::fcntl(fd, F_GETFL) & O_DIRECT, 0);
  }
  ::close(fd);
  EXPECT_TRUE(ReadFileBytes(path) == content);
}

TEST_F(DirectFileWriterTest, TooManyHeldBlocksSwitchToBufferedWrites) {
  // Every other 5000-byte range first: each leaves its edge blocks held
  // until the neighbours arrive. With room for 10, the file goes buffered
  // at the next range.
  const uint64_t size = 200 * 5000;
  Bytes content = SparseContent(size, 14);
  std::vector<Range> ranges;
  for (int pass = 0; pass < 2; ++pass) {
    for (uint64_t k = pass; k < 200; k += 2) ranges.push_back({k * 5000, 5000});
  }
  std::string path = tmp_.path() + "/scattered";
  int fd = OpenDirect(path);
  if (fd < 0) GTEST_SKIP() << "no O_DIRECT on " << tmp_.path();
  DirectFileWriter writer(size, true, path, DirectFileWriter::kDefaultBlock, /*max_held=*/10);
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(writer.Write(fd, content.data() + ranges[i].offset, 5000, ranges[i].offset).ok());
  }
  EXPECT_FALSE(writer.buffered());
  EXPECT_EQ(writer.held_blocks(), 9u);  // the first range starts on a block: one
  WriteAndFinish(fd, writer, content, std::vector<Range>(ranges.begin() + 5, ranges.end()), true);
  EXPECT_TRUE(writer.buffered());
  EXPECT_EQ(::fcntl(fd, F_GETFL) & O_DIRECT, 0);
  ::close(fd);
  EXPECT_TRUE(ReadFileBytes(path) == content);
}

TEST_F(DirectFileWriterTest, WriteErrorsNameTheFile) {
  // A descriptor opened read-only: every write fails with EBADF.
  std::string path = tmp_.path() + "/ro";
  int fd = OpenDirect(path);
  if (fd < 0) GTEST_SKIP() << "no O_DIRECT on " << tmp_.path();
  ::close(fd);
  fd = ::open(path.c_str(), O_RDONLY | O_DIRECT);
  ASSERT_GE(fd, 0);
  Bytes content = SparseContent(3 * 4096, 13);
  DirectFileWriter writer(content.size(), false, path);
  Status s = writer.Write(fd, content.data(), content.size(), 0);
  ::close(fd);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find(path), std::string::npos) << s.ToString();
}

TEST(DirectWritesPayOffTest, OnlyOnLocalBlockDeviceFilesystems) {
  EXPECT_FALSE(DirectWritesPayOff("/proc"));
  EXPECT_FALSE(DirectWritesPayOff("/nonexistent/dir"));
  EXPECT_FALSE(DirectWritesPayOff("/dev/shm"));  // tmpfs
}

}  // namespace
}  // namespace lifeboat
