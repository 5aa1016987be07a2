// WAL prefetch: next-segment arithmetic, and the worker fetching what is
// asked plus a window ahead, marking what the archive lacks.
#include "walarchive/wal_prefetch.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "backend/mem_backend.h"
#include "backend/test_temp_dir.h"
#include "repo/test_support.h"
#include "walarchive/wal_archive.h"

namespace lifeboat {
namespace {

constexpr uint64_t kSystem = 7310000000000000001ull;

TEST(NextWalSegmentTest, CountsWithinAndAcrossLogIds) {
  EXPECT_EQ(NextWalSegment("000000010000000000000001", 16 << 20), "000000010000000000000002");
  EXPECT_EQ(NextWalSegment("0000000100000000000000FF", 16 << 20), "000000010000000100000000");
  EXPECT_EQ(NextWalSegment("00000002000000000000003F", 64 << 20), "000000020000000100000000");
  EXPECT_EQ(NextWalSegment("00000002.history", 16 << 20), "");
  EXPECT_EQ(NextWalSegment("000000010000000000000001.partial", 16 << 20), "");
}

TEST(WalFetchSpoolTest, WorkerFetchesTheAskAndAWindowAhead) {
  TestTempDir tmp;
  auto repo = Repository::Init(std::make_unique<MemBackend>("memory"), "pw",
                               test_support::FastInit());
  ASSERT_TRUE(repo.ok());
  // Segments 1..5 archived; 6 is not.
  for (int i = 1; i <= 5; ++i) {
    const std::string name = "00000001000000000000000" + std::to_string(i);
    const std::string path = tmp.path() + "/" + name;
    std::ofstream(path) << "segment " << i;
    ASSERT_TRUE(PushWal(**repo, kSystem, path).ok());
  }
  WalFetchSpool spool(tmp.path() + "/spool", kSystem);
  ASSERT_TRUE(spool.Prepare().ok());
  ASSERT_TRUE(spool.Want("000000010000000000000002").ok());
  std::thread worker([&] {
    WalFetchWorkerOptions options;
    options.window = 5;
    options.threads = 2;
    options.idle_exit_seconds = 0.3;
    RunWalFetchWorker(**repo, kSystem, spool, options, nullptr);
  });
  // The ask and the window: 2 (asked), 3, 4, 5 fetched; 6, 7 marked missing.
  auto wait_for = [&](const std::string& name) {
    for (int i = 0; i < 400 && spool.Check(name, nullptr) == WalFetchSpool::State::kNone; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return spool.Check(name, nullptr);
  };
  EXPECT_EQ(wait_for("000000010000000000000002"), WalFetchSpool::State::kReady);
  EXPECT_EQ(wait_for("000000010000000000000005"), WalFetchSpool::State::kReady);
  EXPECT_EQ(wait_for("000000010000000000000006"), WalFetchSpool::State::kMissing);
  EXPECT_EQ(spool.Check("000000010000000000000001", nullptr), WalFetchSpool::State::kNone);

  const std::string dest = tmp.path() + "/RECOVERYXLOG";
  ASSERT_TRUE(spool.Take("000000010000000000000002", dest).ok());
  std::ifstream in(dest);
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "segment 2");
  // Taken is copied: a repeated ask (PostgreSQL re-reads the last segment at
  // the end of recovery) is served from the spool again.
  EXPECT_EQ(spool.Check("000000010000000000000002", nullptr), WalFetchSpool::State::kReady);

  // Later asks drop the prefetched segments older than both the ask and the
  // one before it.
  auto wait_gone = [&](const std::string& name) {
    for (int i = 0; i < 400 && spool.Check(name, nullptr) != WalFetchSpool::State::kNone; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return spool.Check(name, nullptr);
  };
  ASSERT_TRUE(spool.Want("000000010000000000000004").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(spool.Check("000000010000000000000002", nullptr), WalFetchSpool::State::kReady);
  EXPECT_EQ(spool.Check("000000010000000000000003", nullptr), WalFetchSpool::State::kReady);
  ASSERT_TRUE(spool.Want("000000010000000000000005").ok());
  EXPECT_EQ(wait_gone("000000010000000000000002"), WalFetchSpool::State::kNone);
  EXPECT_EQ(wait_gone("000000010000000000000003"), WalFetchSpool::State::kNone);
  EXPECT_EQ(spool.Check("000000010000000000000004", nullptr), WalFetchSpool::State::kReady);
  EXPECT_EQ(spool.Check("000000010000000000000005", nullptr), WalFetchSpool::State::kReady);
  worker.join();  // exits once idle
}

// The in-process worker of `restore postgres --start` never idles out: it
// serves until stopped, however long PostgreSQL replays between asks (or the
// files take to restore), and holds the worker lock only while it runs.
TEST(WalPrefetchThreadTest, ServesUntilStoppedThenReleasesTheLock) {
  TestTempDir tmp;
  auto repo = Repository::Init(std::make_unique<MemBackend>("memory"), "pw",
                               test_support::FastInit());
  ASSERT_TRUE(repo.ok());
  for (const char* name : {"000000010000000000000007", "000000010000000000000009"}) {
    std::ofstream(tmp.path() + "/" + name) << "segment " << name;
    ASSERT_TRUE(PushWal(**repo, kSystem, tmp.path() + "/" + name).ok());
  }
  WalFetchSpool spool(tmp.path() + "/spool", kSystem);
  ASSERT_TRUE(spool.Prepare().ok());
  auto wait_for = [&](const std::string& name) {
    for (int i = 0; i < 400 && spool.Check(name, nullptr) == WalFetchSpool::State::kNone; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return spool.Check(name, nullptr);
  };
  WalPrefetchThread prefetch;
  WalFetchWorkerOptions options;
  options.window = 1;
  ASSERT_TRUE(prefetch.Start(**repo, kSystem, spool, "000000010000000000000007", options).ok());
  ASSERT_TRUE(prefetch.running());
  EXPECT_EQ(wait_for("000000010000000000000007"), WalFetchSpool::State::kReady);
  EXPECT_EQ(wait_for("000000010000000000000008"), WalFetchSpool::State::kMissing);
  auto lock = spool.TryLockWorker();  // held by the thread: no second worker
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(*lock, -1);
  // Longer than the default idle exit (2 s) without an ask: still serving.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  ASSERT_TRUE(spool.Want("000000010000000000000009").ok());
  EXPECT_EQ(wait_for("000000010000000000000009"), WalFetchSpool::State::kReady);
  // The window marked 0A missing ahead of time: nobody asked for it yet.
  EXPECT_FALSE(prefetch.exhausted());
  // PostgreSQL asks for the segment after the archive's last: all replayed.
  ASSERT_TRUE(spool.Want("00000001000000000000000A").ok());
  for (int i = 0; i < 400 && !prefetch.exhausted(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(prefetch.exhausted());
  prefetch.Stop();
  EXPECT_FALSE(prefetch.running());
  lock = spool.TryLockWorker();
  ASSERT_TRUE(lock.ok());
  EXPECT_GE(*lock, 0);
  if (*lock >= 0) ::close(*lock);
}

}  // namespace
}  // namespace lifeboat
