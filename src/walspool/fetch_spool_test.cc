// The fetch spool's file protocol, without a worker: markers, copies that
// stay for a repeated ask, a boot-scoped directory.
#include "walspool/fetch_spool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iterator>

#include "backend/test_temp_dir.h"

namespace lifeboat {
namespace {

constexpr uint64_t kSystem = 7000000000000000001ull;
constexpr char kSegment[] = "000000010000000000000003";

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(FetchSpoolTest, DirectoryBelongsToThisBootAndIsNotSynced) {
  TestTempDir tmp;
  WalFetchSpool spool(tmp.path() + "/spool", kSystem);
  ASSERT_TRUE(spool.Prepare().ok());
  if (::access("/proc/sys/kernel/random/boot_id", R_OK) != 0) GTEST_SKIP() << "no boot_id";
  const std::string prefix = tmp.path() + "/spool/" + std::to_string(kSystem) + "/in-";
  ASSERT_EQ(spool.dir().compare(0, prefix.size(), prefix), 0) << spool.dir();
  EXPECT_EQ(spool.dir().size(), prefix.size() + 12);
  EXPECT_FALSE(spool.durable());
  // Another spool object of the same boot finds the same directory.
  EXPECT_EQ(WalFetchSpool(tmp.path() + "/spool", kSystem).dir(), spool.dir());
}

TEST(FetchSpoolTest, TakeCopiesAndLeavesTheFileForARepeatedAsk) {
  TestTempDir tmp;
  WalFetchSpool spool(tmp.path() + "/spool", kSystem);
  ASSERT_TRUE(spool.Prepare().ok());
  EXPECT_EQ(spool.Check(kSegment, nullptr), WalFetchSpool::State::kNone);
  std::ofstream(spool.dir() + "/" + kSegment) << "wal bytes";
  ASSERT_EQ(spool.Check(kSegment, nullptr), WalFetchSpool::State::kReady);
  const std::string dest = tmp.path() + "/RECOVERYXLOG";
  std::ofstream(dest) << "an older, longer file in the way";
  ASSERT_TRUE(spool.Take(kSegment, dest).ok());
  EXPECT_EQ(Slurp(dest), "wal bytes");
  EXPECT_EQ(spool.Check(kSegment, nullptr), WalFetchSpool::State::kReady);
  ASSERT_TRUE(spool.Take(kSegment, tmp.path() + "/again").ok());
  EXPECT_EQ(Slurp(tmp.path() + "/again"), "wal bytes");
  // A missing source fails and leaves the destination alone.
  EXPECT_FALSE(spool.Take("000000010000000000000004", dest).ok());
  EXPECT_EQ(Slurp(dest), "wal bytes");
}

TEST(FetchSpoolTest, MarkersReportOnceConsumed) {
  TestTempDir tmp;
  WalFetchSpool spool(tmp.path() + "/spool", kSystem);
  ASSERT_TRUE(spool.Prepare().ok());
  ASSERT_TRUE(spool.MarkMissing(kSegment).ok());
  EXPECT_EQ(spool.Check(kSegment, nullptr), WalFetchSpool::State::kMissing);
  spool.ConsumeMarkers(kSegment);
  EXPECT_EQ(spool.Check(kSegment, nullptr), WalFetchSpool::State::kNone);

  ASSERT_TRUE(spool.MarkError(kSegment, std::string(10000, 'x')).ok());
  std::string message;
  ASSERT_EQ(spool.Check(kSegment, &message), WalFetchSpool::State::kError);
  EXPECT_EQ(message.size(), 4096u);  // cut to 4 KiB
  spool.ConsumeMarkers(kSegment);
  EXPECT_EQ(spool.Check(kSegment, nullptr), WalFetchSpool::State::kNone);
}

TEST(FetchSpoolTest, TheAskCarriesANonceSoARepeatIsNew) {
  TestTempDir tmp;
  WalFetchSpool spool(tmp.path() + "/spool", kSystem);
  ASSERT_TRUE(spool.Prepare().ok());
  EXPECT_EQ(spool.Wanted(), "");
  ASSERT_TRUE(spool.Want(kSegment).ok());
  const std::string first = spool.Wanted();
  EXPECT_EQ(first.substr(0, 25), std::string(kSegment) + " ");
  ASSERT_TRUE(spool.Want(kSegment).ok());
  EXPECT_NE(spool.Wanted(), first);
}

TEST(FetchSpoolTest, AwaitCopiesReportsMissingAndAsksForAWorker) {
  TestTempDir tmp;
  WalFetchSpool spool(tmp.path() + "/spool", kSystem);
  ASSERT_TRUE(spool.Prepare().ok());
  const std::string dest = tmp.path() + "/RECOVERYXLOG";
  int calls = 0;
  // No worker and nobody answers: the callback gets the lock (once per
  // poll), then the wait times out naming the worker's log.
  Status s = spool.Await(kSegment, dest, 0.02, [&](int fd) {
    ++calls;
    ::close(fd);
  });
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_GE(calls, 1);
  EXPECT_NE(s.ToString().find("worker.log"), std::string::npos) << s.ToString();
  EXPECT_EQ(spool.Wanted().substr(0, 24), kSegment);  // the ask was recorded

  // A worker's answers: a fetched file is copied, a missing one reported.
  auto as_worker = [&](const std::function<void()>& answer) {
    return [answer](int fd) {
      answer();
      ::close(fd);
    };
  };
  s = spool.Await(kSegment, dest, 5, as_worker([&] { std::ofstream(spool.dir() + "/" + kSegment) << "wal"; }));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Slurp(dest), "wal");
  s = spool.Await("000000010000000000000009", dest, 5,
                  as_worker([&] { ASSERT_TRUE(spool.MarkMissing("000000010000000000000009").ok()); }));
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(spool.Check("000000010000000000000009", nullptr), WalFetchSpool::State::kNone);
  s = spool.Await("00000001000000000000000A", dest, 5,
                  as_worker([&] { ASSERT_TRUE(spool.MarkError("00000001000000000000000A", "disk on fire").ok()); }));
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_NE(s.ToString().find("disk on fire"), std::string::npos);
  EXPECT_EQ(Slurp(dest), "wal");  // failures leave the destination alone
}

}  // namespace
}  // namespace lifeboat
