// Tests for the cache root's listing and `lifeboat cache --cleanup`'s logic,
// on real directories in a temporary folder.
#include "cache/cache_dirs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "backend/test_temp_dir.h"
#include "cache/caching_backend.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDay = 86400;
constexpr int64_t kNs = 1000000000;
constexpr int64_t kNow = 1800000000;  // seconds; every mtime is set relative to it

void SetMtime(const std::string& path, int64_t seconds) {
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

class CacheDirsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path() + "/cache";
    fs::create_directories(root_);
  }
  // A repository cache as CachingBackend leaves it, last used `days_ago`.
  std::string MakeCache(const std::string& location, int64_t days_ago, bool marker = true) {
    const std::string dir = CacheDirFor(root_, location);
    fs::create_directories(dir + "/index");
    WriteFile(dir + "/index/" + std::string(64, 'c'), std::string(1000, 'x'));
    WriteFile(dir + "/repository", "0123456789abcdef0123456789abcdef");
    if (marker) {
      TouchLastUsed(dir);
      SetMtime(dir + "/last-used", kNow - days_ago * kDay);
      SetMtime(dir, kNow);  // the directory's own mtime says nothing when a marker exists
    } else {
      SetMtime(dir, kNow - days_ago * kDay);
    }
    return dir;
  }

  TestTempDir tmp_;
  std::string root_;
};

TEST_F(CacheDirsTest, ListsCachesWithIdSizeAndLastUse) {
  const std::string a = MakeCache("s3:bucket/a", 3);
  auto dirs = ListCacheDirs(root_, true);
  ASSERT_TRUE(dirs.ok()) << dirs.status().ToString();
  ASSERT_EQ(dirs->size(), 1u);
  const CacheDirInfo& c = dirs->front();
  EXPECT_EQ(c.path, a);
  EXPECT_EQ(c.name, fs::path(a).filename().string());
  EXPECT_EQ(c.repository_id, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(c.size, 1000u + 32u);  // the index entry + the id file (+ empty marker)
  EXPECT_EQ(c.last_used_ns, (kNow - 3 * kDay) * kNs);
  auto no_size = ListCacheDirs(root_, false);
  ASSERT_TRUE(no_size.ok());
  EXPECT_EQ(no_size->front().size, 0u);
}

TEST_F(CacheDirsTest, MissingRootIsAnEmptyList) {
  auto dirs = ListCacheDirs(root_ + "/nothing-here", true);
  ASSERT_TRUE(dirs.ok());
  EXPECT_TRUE(dirs->empty());
  auto removed = RemoveUnusedCacheDirs(root_ + "/nothing-here", 30, kNow * kNs);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->empty());
}

TEST_F(CacheDirsTest, UnusedMeansMoreThanNWholeDays) {
  EXPECT_FALSE(CacheUnusedFor(0, 30 * kDay * kNs, 30));
  EXPECT_TRUE(CacheUnusedFor(0, 30 * kDay * kNs + 1, 30));
  EXPECT_TRUE(CacheUnusedFor(0, 1, 0));
  EXPECT_FALSE(CacheUnusedFor(5, 5, 0));
}

TEST_F(CacheDirsTest, CleanupRemovesOnlyCachesUnusedForNDays) {
  const std::string old_marked = MakeCache("sftp:u@h:/old", 40);
  const std::string recent = MakeCache("sftp:u@h:/recent", 10);
  const std::string old_unmarked = MakeCache("s3:b/older-build", 45, /*marker=*/false);
  // Things that are not caches CacheDirFor makes stay, however old.
  const std::string other_dir = root_ + "/not-a-cache";
  fs::create_directories(other_dir);
  SetMtime(other_dir, kNow - 400 * kDay);
  const std::string outside = tmp_.path() + "/precious";
  fs::create_directories(outside);
  WriteFile(outside + "/file", "keep me");
  const std::string link = root_ + "/" + std::string(32, 'e');
  ASSERT_EQ(symlink(outside.c_str(), link.c_str()), 0);
  SetMtime(link, kNow - 400 * kDay);
  const std::string plain_file = root_ + "/" + std::string(32, 'd');
  WriteFile(plain_file, "x");
  SetMtime(plain_file, kNow - 400 * kDay);

  auto removed = RemoveUnusedCacheDirs(root_, 30, kNow * kNs);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  std::set<std::string> paths;
  for (const CacheDirInfo& c : *removed) paths.insert(c.path);
  EXPECT_EQ(paths, (std::set<std::string>{old_marked, old_unmarked}));
  EXPECT_FALSE(fs::exists(old_marked));
  EXPECT_FALSE(fs::exists(old_unmarked));
  EXPECT_TRUE(fs::exists(recent + "/index"));
  EXPECT_TRUE(fs::exists(other_dir));
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_TRUE(fs::exists(outside + "/file"));
  EXPECT_TRUE(fs::exists(plain_file));
  for (const CacheDirInfo& c : *removed) EXPECT_GT(c.size, 0u);  // reported as freed

  // A shorter limit takes the recent one too; a negative one is refused.
  removed = RemoveUnusedCacheDirs(root_, 5, kNow * kNs);
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ(removed->front().path, recent);
  EXPECT_EQ(RemoveUnusedCacheDirs(root_, -1, kNow * kNs).status().code(), Code::kInvalidArgument);
  auto left = ListCacheDirs(root_, false);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST_F(CacheDirsTest, OpeningACacheMarksItUsed) {
  const std::string dir = MakeCache("s3:bucket/used", 100);
  ASSERT_TRUE(
      CacheUnusedFor(ListCacheDirs(root_, false)->front().last_used_ns, time(nullptr) * kNs, 30));
  // What every command that opens a remote repository does.
  class Nothing final : public Backend {
    std::string Location() const override { return "nothing"; }
    BackendCapabilities Capabilities() const override { return {}; }
    Status Create() override { return Status::Ok(); }
    Status Save(const ObjectName&, ByteView) override { return Status::Ok(); }
    Result<Bytes> Load(const ObjectName&, uint64_t, uint64_t) override { return Bytes{}; }
    Result<uint64_t> Stat(const ObjectName&) override { return uint64_t{0}; }
    Status Remove(const ObjectName&) override { return Status::Ok(); }
    Status List(ObjectType, const std::function<Status(const ObjectInfo&)>&) override {
      return Status::Ok();
    }
  };
  auto cache = CachingBackend::Open(std::make_unique<Nothing>(), dir);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  auto dirs = ListCacheDirs(root_, false);
  ASSERT_TRUE(dirs.ok() && dirs->size() == 1);
  EXPECT_FALSE(CacheUnusedFor(dirs->front().last_used_ns, time(nullptr) * kNs, 30));
  auto removed = RemoveUnusedCacheDirs(root_, 30, time(nullptr) * kNs);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->empty());
  EXPECT_TRUE(fs::exists(dir));
}

}  // namespace
}  // namespace lifeboat
