// Binlog retention: which archived binlogs the retained dumps still need.
#include "mariadb/binlog_retention.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backend/mem_backend.h"
#include "mariadb/binlog_archive.h"
#include "repo/test_support.h"

namespace lifeboat {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

SnapshotEntry Dump(const std::string& server_id, const std::string& binlog_file) {
  SnapshotEntry e;
  e.snapshot.source = "mariadb";
  e.snapshot.source_info["server_id"] = server_id;
  if (!binlog_file.empty()) e.snapshot.source_info["binlog_file"] = binlog_file;
  return e;
}

TEST(BinlogFilesBeforeTest, SameBaseOnly) {
  EXPECT_THAT(BinlogFilesBefore({"b.000001", "b.000002", "b.000003", "c.000001"}, "b.000003"),
              ElementsAre("b.000001", "b.000002"));
  EXPECT_THAT(BinlogFilesBefore({"b.000009", "b.000010"}, "b.000010"), ElementsAre("b.000009"));
  EXPECT_THAT(BinlogFilesBefore({"b.000001"}, "not a name"), IsEmpty());
}

class BinlogRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto repo =
        Repository::Init(std::make_unique<MemBackend>("memory"), "pw", test_support::FastInit());
    ASSERT_TRUE(repo.ok());
    repo_ = std::move(*repo);
    for (const char* n : {"b.000001", "b.000002", "b.000003", "b.000004"}) {
      ASSERT_TRUE(PushBinlog(*repo_, 1, n, AsBytes(std::string_view(n))).ok());
      ASSERT_TRUE(PushBinlog(*repo_, 2, n, AsBytes(std::string_view(n))).ok());
    }
  }
  std::vector<std::string> Remaining(uint64_t server) {
    std::vector<std::string> out;
    auto list = ListBinlogs(*repo_, server);
    if (!list.ok()) return {"error: " + list.status().ToString()};
    for (const BinlogEntry& e : list.value()) out.push_back(e.name);
    return out;
  }
  std::unique_ptr<Repository> repo_;
};

TEST_F(BinlogRetentionTest, KeepsFromTheOldestRetainedDump) {
  // Server 1: dumps at 3 and 2 → keep from 2. Server 2: no dump with a
  // position → keep all. A dump without binlog (log_bin off) does not count.
  std::vector<SnapshotEntry> snaps = {Dump("1", "b.000003"), Dump("1", "b.000002"), Dump("2", "")};
  snaps.push_back(SnapshotEntry{});  // a files snapshot
  auto plan = PlanBinlogRetention(*repo_, snaps);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_TRUE(ApplyBinlogRetention(*repo_, *plan).ok());
  EXPECT_EQ(plan->files_deleted, 1u);
  EXPECT_THAT(Remaining(1), ElementsAre("b.000002", "b.000003", "b.000004"));
  EXPECT_THAT(Remaining(2), ElementsAre("b.000001", "b.000002", "b.000003", "b.000004"));
}

TEST_F(BinlogRetentionTest, InvalidSnapshotRemovesNothing) {
  auto plan = PlanBinlogRetention(*repo_, {Dump("x", "b.000003")});
  EXPECT_EQ(plan.status().code(), Code::kCorrupt);
  plan = PlanBinlogRetention(*repo_, {Dump("1", "../b.000003")});
  EXPECT_EQ(plan.status().code(), Code::kCorrupt);
  EXPECT_EQ(Remaining(1).size(), 4u);
}

}  // namespace
}  // namespace lifeboat
