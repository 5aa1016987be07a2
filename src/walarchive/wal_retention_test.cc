// WAL retention: which archived files no retained base backup needs; the
// plan from a repository's snapshots; removal, idempotence.
#include "walarchive/wal_retention.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backend/mem_backend.h"
#include "crypto/hash.h"
#include "repo/test_support.h"
#include "walarchive/wal_archive.h"

namespace lifeboat {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kSystem = 7310000000000000001ull;
constexpr uint64_t kOther = 7310000000000000002ull;

TEST(WalFilesBeforeTest, ExpiresOlderPositionsOnEveryTimelineButKeepsHistory) {
  const std::vector<std::string> names = {
      "000000010000000000000003",
      "000000010000000000000004",
      "000000010000000000000004.00000028.backup",
      "000000010000000000000005.partial",
      "000000010000000000000006",
      "00000002.history",
      "000000020000000000000004",  // a later timeline, still before the limit
      "000000020000000000000007",
      "000000010000000100000000",  // log 1: after every log-0 position
  };
  EXPECT_THAT(WalFilesBefore(names, "000000010000000000000005"),
              ElementsAre("000000010000000000000003", "000000010000000000000004",
                          "000000010000000000000004.00000028.backup",
                          "000000020000000000000004"));
  // The limit itself is kept, and a history name is no limit at all.
  EXPECT_THAT(WalFilesBefore(names, "000000010000000000000003"), ElementsAre());
  EXPECT_THAT(WalFilesBefore(names, "00000002.history"), ElementsAre());
  EXPECT_EQ(WalFilesBefore(names, "000000030000000200000000").size(), 8u);
}

class WalRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto repo = Repository::Init(std::make_unique<MemBackend>("memory"), "pw",
                                 test_support::FastInit());
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }

  void Archive(uint64_t system, const std::string& name) {
    const Bytes payload = EncodeWalPayload(system, name, AsBytes("wal " + name));
    ASSERT_TRUE(repo_->backend().Save({ObjectType::kWal, WalObjectName(system, name)}, payload).ok());
  }

  static SnapshotEntry Base(uint64_t system, const std::string& start) {
    SnapshotEntry e;
    e.id = Sha256(AsBytes(start + std::to_string(system)));
    e.snapshot.source = "postgres";
    e.snapshot.source_info["system_identifier"] = std::to_string(system);
    e.snapshot.source_info["start_wal_file"] = start;
    return e;
  }

  std::vector<std::string> Remaining(uint64_t system) {
    auto list = ListWal(*repo_, system);
    EXPECT_TRUE(list.ok());
    std::vector<std::string> out;
    for (const WalEntry& e : *list) out.push_back(e.name);
    return out;
  }

  std::unique_ptr<Repository> repo_;
};

TEST_F(WalRetentionTest, KeepsWhatTheOldestRetainedBackupNeedsPerCluster) {
  for (const char* n : {"000000010000000000000001", "000000010000000000000002",
                        "000000010000000000000002.00000028.backup", "000000010000000000000003",
                        "000000010000000000000004", "00000002.history"}) {
    Archive(kSystem, n);
  }
  Archive(kOther, "000000010000000000000001");  // a cluster with no base backup
  SnapshotEntry files;                           // a file snapshot is ignored
  files.snapshot.source = "files";
  const std::vector<SnapshotEntry> snaps = {Base(kSystem, "000000010000000000000004"),
                                            Base(kSystem, "000000010000000000000003"), files};
  auto plan = PlanWalRetention(*repo_, snaps);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->clusters.size(), 2u);
  const WalRetentionCluster& c = plan->clusters[0];
  EXPECT_EQ(c.system_id, kSystem);
  EXPECT_EQ(c.base_backups, 2u);
  EXPECT_EQ(c.keep_from, "000000010000000000000003");
  EXPECT_EQ(c.files_total, 6u);
  EXPECT_EQ(c.expire.size(), 3u);
  EXPECT_GT(c.bytes_expire, 0u);
  EXPECT_EQ(plan->clusters[1].system_id, kOther);
  EXPECT_EQ(plan->clusters[1].keep_from, "");
  EXPECT_TRUE(plan->clusters[1].expire.empty());

  ASSERT_TRUE(ApplyWalRetention(*repo_, *plan).ok());
  EXPECT_EQ(plan->files_deleted, 3u);
  EXPECT_EQ(plan->bytes_deleted, c.bytes_expire);
  EXPECT_THAT(Remaining(kSystem), ElementsAre("000000010000000000000003",
                                              "000000010000000000000004", "00000002.history"));
  EXPECT_THAT(Remaining(kOther), ElementsAre("000000010000000000000001"));

  // Again: nothing left to remove.
  auto again = PlanWalRetention(*repo_, snaps);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->clusters[0].expire.empty());
}

TEST_F(WalRetentionTest, ASnapshotWithoutItsWalStartStopsEverything) {
  Archive(kSystem, "000000010000000000000001");
  SnapshotEntry bad = Base(kSystem, "000000010000000000000004");
  bad.snapshot.source_info.erase("start_wal_file");
  auto plan = PlanWalRetention(*repo_, {Base(kSystem, "000000010000000000000004"), bad});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Code::kCorrupt);
  EXPECT_THAT(plan.status().message(), HasSubstr("no WAL is removed"));
  bad.snapshot.source_info["start_wal_file"] = "../../config";
  EXPECT_FALSE(PlanWalRetention(*repo_, {bad}).ok());
  EXPECT_THAT(Remaining(kSystem), ElementsAre("000000010000000000000001"));
}

TEST_F(WalRetentionTest, ForeignObjectsInWalAreLeftAlone) {
  ASSERT_TRUE(repo_->backend().Save({ObjectType::kWal, "notes.txt"}, AsBytes("x")).ok());
  ASSERT_TRUE(repo_->backend().Save({ObjectType::kWal, "pg.12x.000000010000000000000001"},
                                    AsBytes("x")).ok());
  Archive(kSystem, "000000010000000000000001");
  auto plan = PlanWalRetention(*repo_, {Base(kSystem, "000000010000000000000002")});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->clusters.size(), 1u);
  ASSERT_TRUE(ApplyWalRetention(*repo_, *plan).ok());
  EXPECT_EQ(plan->files_deleted, 1u);
  EXPECT_TRUE(repo_->backend().Stat({ObjectType::kWal, "notes.txt"}).ok());
}

}  // namespace
}  // namespace lifeboat

namespace lifeboat {
namespace {

// stream-wal's partial objects expire with their segment.
TEST(WalRetentionStreamTest, PartialsExpireWithTheirSegment) {
  const std::vector<std::string> names = {
      "000000010000000000000004.00FF0000.stream", "000000010000000000000005",
      "000000010000000000000006.00001000.stream", "000000010000000000000007.00000100.stream"};
  EXPECT_EQ(WalFilesBefore(names, "000000010000000000000006"),
            (std::vector<std::string>{"000000010000000000000004.00FF0000.stream",
                                      "000000010000000000000005"}));
}

}  // namespace
}  // namespace lifeboat
