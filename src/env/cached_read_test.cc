#include "env/cached_read.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "env/test_page_cache.h"

namespace lifeboat {
namespace {

class CachedReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    // /var/tmp rather than /tmp: tmpfs keeps files in memory for good, so
    // dropping them from the page cache cannot be tried there.
    std::string tmpl = std::string(base ? base : "/var/tmp") + "/lifeboat-cread-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A file of `size` patterned bytes, flushed to disk so its pages can be dropped.
  std::string MakeFile(size_t size) {
    std::string path = dir_ + "/f";
    std::vector<uint8_t> data(size);
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>(i * 7 + i / 251);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, data.data(), size), static_cast<ssize_t>(size));
    EXPECT_EQ(fsync(fd), 0);
    close(fd);
    expected_ = std::move(data);
    return path;
  }

  std::string dir_;
  std::vector<uint8_t> expected_;
};

TEST_F(CachedReadTest, ReadsLikeReadAndTellsCachedFromDropped) {
  constexpr size_t kSize = 256 << 10;
  const std::string path = MakeFile(kSize);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  // Just written: in the page cache.
  std::vector<uint8_t> buf(kSize);
  bool waited = true;
  ASSERT_EQ(ReadNotingWait(fd, buf.data(), 100 << 10, 100 << 10, &waited), 100 << 10);
  EXPECT_FALSE(waited);
  EXPECT_EQ(std::memcmp(buf.data(), expected_.data(), 100 << 10), 0);
  // It reads from the file position, as read(2) does, and stops at the end.
  ASSERT_EQ(ReadNotingWait(fd, buf.data(), kSize, 0, &waited),
            static_cast<ssize_t>(kSize - (100 << 10)));
  EXPECT_EQ(std::memcmp(buf.data(), expected_.data() + (100 << 10), kSize - (100 << 10)), 0);
  EXPECT_EQ(ReadNotingWait(fd, buf.data(), kSize, 0, &waited), 0);
  EXPECT_FALSE(waited);

  // Dropped from the cache: the read waits, and still returns the bytes.
  if (!DropFromPageCache(fd)) {
    close(fd);
    GTEST_SKIP() << "the filesystem under " << dir_ << " keeps dropped pages (tmpfs?)";
  }
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  ssize_t n = ReadNotingWait(fd, buf.data(), 128 << 10, 128 << 10, &waited);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::memcmp(buf.data(), expected_.data(), static_cast<size_t>(n)), 0);
  EXPECT_TRUE(waited);

  // Partly cached: the read returns the cached start (a short read, as
  // read(2) may give) and counts as waiting.
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  ASSERT_EQ(read(fd, buf.data(), kSize), static_cast<ssize_t>(kSize));
  ASSERT_EQ(posix_fadvise(fd, 64 << 10, 0, POSIX_FADV_DONTNEED), 0);
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  n = ReadNotingWait(fd, buf.data(), 128 << 10, 128 << 10, &waited);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::memcmp(buf.data(), expected_.data(), static_cast<size_t>(n)), 0);
  EXPECT_LT(n, 128 << 10);
  EXPECT_TRUE(waited);
  close(fd);
}

TEST_F(CachedReadTest, AnErrorIsReturnedWithErrno) {
  bool waited = true;
  uint8_t byte;
  errno = 0;
  EXPECT_EQ(ReadNotingWait(-1, &byte, 1, 1, &waited), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_FALSE(waited);
}

}  // namespace
}  // namespace lifeboat
