// The async archiving spool: markers, the worker lock, sweeping, and the
// worker pushing every ready segment of a fake data directory.
#include "walarchive/wal_spool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "backend/mem_backend.h"
#include "backend/test_temp_dir.h"
#include "repo/test_support.h"
#include "walarchive/wal_archive.h"

namespace lifeboat {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kSystem = 7310000000000000001ull;

void Touch(const std::string& path, const std::string& text = "") {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(WalSpoolTest, MarkersLockAndSweep) {
  TestTempDir tmp;
  WalSpool spool(tmp.path() + "/spool", kSystem);
  ASSERT_TRUE(spool.Prepare().ok());
  struct stat st;
  ASSERT_EQ(::stat(spool.dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  const std::string a = "000000010000000000000001", b = "000000010000000000000002";
  EXPECT_EQ(spool.Check(a, nullptr), WalSpool::State::kNone);
  ASSERT_TRUE(spool.MarkError(a, "disk full").ok());
  std::string message;
  EXPECT_EQ(spool.Check(a, &message), WalSpool::State::kError);
  EXPECT_EQ(message, "disk full");
  ASSERT_TRUE(spool.MarkOk(a).ok());  // a later success replaces the error
  EXPECT_EQ(spool.Check(a, nullptr), WalSpool::State::kOk);
  spool.Consume(a);
  EXPECT_EQ(spool.Check(a, nullptr), WalSpool::State::kNone);

  // Only one worker at a time.
  auto first = spool.TryLockWorker();
  ASSERT_TRUE(first.ok());
  ASSERT_GE(*first, 0);
  auto second = spool.TryLockWorker();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, -1);
  ::close(*first);
  auto third = spool.TryLockWorker();
  ASSERT_TRUE(third.ok());
  EXPECT_GE(*third, 0);
  ::close(*third);

  // Markers of names no longer ready go, others stay.
  ASSERT_TRUE(spool.MarkOk(a).ok());
  ASSERT_TRUE(spool.MarkOk(b).ok());
  spool.Sweep({b}, "");
  EXPECT_EQ(spool.Check(a, nullptr), WalSpool::State::kNone);
  EXPECT_EQ(spool.Check(b, nullptr), WalSpool::State::kOk);
}

TEST(WalSpoolTest, WorkerPushesEveryReadySegmentAndMarksIt) {
  TestTempDir tmp;
  const std::string pgdata = tmp.path() + "/pgdata";
  ASSERT_EQ(::mkdir(pgdata.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((pgdata + "/pg_wal").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((pgdata + "/pg_wal/archive_status").c_str(), 0700), 0);
  const std::vector<std::string> names = {"000000010000000000000001", "000000010000000000000002",
                                          "000000010000000000000003", "00000002.history"};
  for (const std::string& n : names) {
    Touch(pgdata + "/pg_wal/" + n, "contents of " + n);
    Touch(pgdata + "/pg_wal/archive_status/" + n + ".ready");
  }
  // Already archived: not marked ready, not pushed.
  Touch(pgdata + "/pg_wal/000000010000000000000000", "old");
  Touch(pgdata + "/pg_wal/archive_status/000000010000000000000000.done");
  // Ready but unreadable: an error marker, the others still go.
  Touch(pgdata + "/pg_wal/archive_status/000000010000000000000004.ready");

  auto ready = ReadyWalFiles(pgdata);
  ASSERT_TRUE(ready.ok());
  EXPECT_THAT(*ready, ElementsAre("000000010000000000000001", "000000010000000000000002",
                                  "000000010000000000000003", "000000010000000000000004",
                                  "00000002.history"));

  auto repo = Repository::Init(std::make_unique<MemBackend>("memory"), "pw",
                               test_support::FastInit());
  ASSERT_TRUE(repo.ok());
  WalSpool spool(tmp.path() + "/spool", kSystem);
  ASSERT_TRUE(spool.Prepare().ok());
  std::vector<std::string> logged;
  WorkerOptions options;
  options.threads = 3;
  options.idle_exit_seconds = 0.05;
  RunWalWorker(**repo, kSystem, pgdata, spool, options,
               [&](const std::string& line) { logged.push_back(line); });
  for (const std::string& n : names) {
    EXPECT_EQ(spool.Check(n, nullptr), WalSpool::State::kOk) << n;
    const std::string dest = tmp.path() + "/got-" + n;
    ASSERT_TRUE(GetWal(**repo, kSystem, n, dest).ok()) << n;
    std::ifstream in(dest);
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(got, "contents of " + n);
  }
  std::string message;
  EXPECT_EQ(spool.Check("000000010000000000000004", &message), WalSpool::State::kError);
  EXPECT_THAT(message, HasSubstr("000000010000000000000004"));
  ASSERT_EQ(logged.size(), 1u);
  auto list = ListWal(**repo, kSystem);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 4u);  // not the .done one
}

}  // namespace
}  // namespace lifeboat
