// Binlog archive over an in-memory repository: round trip, idempotent and
// conflicting pushes, swapped and corrupted objects, names, listing order,
// replay chains with gaps.
#include "mariadb/binlog_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backend/mem_backend.h"
#include "repo/sealed_object.h"
#include "repo/test_support.h"

namespace lifeboat {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class BinlogArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto repo =
        Repository::Init(std::make_unique<MemBackend>("memory"), "pw", test_support::FastInit());
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }
  std::unique_ptr<Repository> repo_;
};

TEST(BinlogNameTest, Names) {
  EXPECT_TRUE(ValidateBinlogFileName("mariadb-bin.000001").ok());
  EXPECT_TRUE(ValidateBinlogFileName("host_1.binlog.1234567").ok());
  EXPECT_FALSE(ValidateBinlogFileName("").ok());
  EXPECT_FALSE(ValidateBinlogFileName("mariadb-bin").ok());
  EXPECT_FALSE(ValidateBinlogFileName("mariadb-bin.").ok());
  EXPECT_FALSE(ValidateBinlogFileName(".000001").ok());
  EXPECT_FALSE(ValidateBinlogFileName("../x.000001").ok());
  EXPECT_FALSE(ValidateBinlogFileName("a/b.000001").ok());
  EXPECT_FALSE(ValidateBinlogFileName("mariadb-bin.index").ok());
  EXPECT_FALSE(ValidateBinlogFileName(std::string(200, 'a') + ".1").ok());
  EXPECT_EQ(BinlogSequence("mariadb-bin.000012"), 12u);
  EXPECT_EQ(BinlogSequence("x"), std::nullopt);
  EXPECT_EQ(BinlogBase("mariadb-bin.000012"), "mariadb-bin");
  EXPECT_EQ(BinlogObjectName(7, "mariadb-bin.000012"), "mariadb.7.mariadb-bin.000012");
}

TEST_F(BinlogArchiveTest, RoundTripAndIdempotentPush) {
  const Bytes data = test_support::Pattern(300000, 1);
  auto first = PushBinlog(*repo_, 1, "mariadb-bin.000002", data);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, BinlogPushOutcome::kStored);
  auto again = PushBinlog(*repo_, 1, "mariadb-bin.000002", data);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, BinlogPushOutcome::kAlreadyArchived);
  auto got = GetBinlog(*repo_, 1, "mariadb-bin.000002");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data);
  // Same name on another server is another object.
  EXPECT_EQ(GetBinlog(*repo_, 2, "mariadb-bin.000002").status().code(), Code::kNotFound);
}

TEST_F(BinlogArchiveTest, DifferentContentIsRefused) {
  ASSERT_TRUE(PushBinlog(*repo_, 1, "b.000001", test_support::Pattern(1000, 1)).ok());
  auto other = PushBinlog(*repo_, 1, "b.000001", test_support::Pattern(1000, 2));
  EXPECT_EQ(other.status().code(), Code::kAlreadyExists);
  EXPECT_THAT(other.status().message(), HasSubstr("different content"));
  auto got = GetBinlog(*repo_, 1, "b.000001");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, test_support::Pattern(1000, 1));
}

TEST_F(BinlogArchiveTest, SwappedObjectIsRefused) {
  ASSERT_TRUE(PushBinlog(*repo_, 1, "b.000001", test_support::Pattern(1000, 1)).ok());
  auto stored = repo_->backend().Load({ObjectType::kWal, BinlogObjectName(1, "b.000001")});
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(
      repo_->backend().Save({ObjectType::kWal, BinlogObjectName(1, "b.000002")}, *stored).ok());
  ASSERT_TRUE(
      repo_->backend().Save({ObjectType::kWal, BinlogObjectName(9, "b.000001")}, *stored).ok());
  EXPECT_EQ(GetBinlog(*repo_, 1, "b.000002").status().code(), Code::kCorrupt);
  EXPECT_EQ(GetBinlog(*repo_, 9, "b.000001").status().code(), Code::kCorrupt);
  EXPECT_EQ(PushBinlog(*repo_, 1, "b.000002", test_support::Pattern(1000, 1)).status().code(),
            Code::kCorrupt);
}

TEST_F(BinlogArchiveTest, TamperedObjectIsRefused) {
  ASSERT_TRUE(PushBinlog(*repo_, 1, "b.000001", test_support::Pattern(1000, 1)).ok());
  const ObjectName name{ObjectType::kWal, BinlogObjectName(1, "b.000001")};
  auto stored = repo_->backend().Load(name);
  ASSERT_TRUE(stored.ok());
  Bytes bad = *stored;
  bad[bad.size() / 2] ^= 1;
  ASSERT_TRUE(repo_->backend().Remove(name).ok());
  ASSERT_TRUE(repo_->backend().Save(name, bad).ok());
  EXPECT_EQ(GetBinlog(*repo_, 1, "b.000001").status().code(), Code::kCorrupt);
}

TEST(BinlogPayloadTest, DecodeChecksSizeAndHash) {
  Bytes p = EncodeBinlogPayload(3, "b.000001", AsBytes(std::string_view("hello")));
  ByteView body;
  auto h = DecodeBinlogPayload(p, &body);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->server_id, 3u);
  EXPECT_EQ(AsString(body), "hello");
  Bytes flipped = p;
  flipped.back() ^= 1;
  EXPECT_EQ(DecodeBinlogPayload(flipped, &body).status().code(), Code::kCorrupt);
  Bytes cut(p.begin(), p.end() - 1);
  EXPECT_EQ(DecodeBinlogPayload(cut, &body).status().code(), Code::kCorrupt);
  for (size_t n = 0; n < 30; ++n) {
    Bytes head(p.begin(), p.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(DecodeBinlogPayload(head, &body).ok());
  }
}

TEST_F(BinlogArchiveTest, ListSortsByNumber) {
  for (const char* n : {"b.000010", "b.000009", "b.1000000", "a.000001"}) {
    ASSERT_TRUE(PushBinlog(*repo_, 1, n, AsBytes(std::string_view(n))).ok());
  }
  ASSERT_TRUE(PushBinlog(*repo_, 2, "b.000001", AsBytes(std::string_view("x"))).ok());
  auto list = ListBinlogs(*repo_, 1);
  ASSERT_TRUE(list.ok());
  std::vector<std::string> names;
  for (const auto& e : *list) names.push_back(e.name);
  EXPECT_THAT(names, ElementsAre("a.000001", "b.000009", "b.000010", "b.1000000"));
}

std::vector<BinlogEntry> Entries(std::vector<std::string> names) {
  std::vector<BinlogEntry> out;
  for (auto& n : names) out.push_back({n, 1});
  return out;
}

TEST(BinlogReplayChainTest, Chains) {
  auto all = Entries({"b.000001", "b.000002", "b.000003", "b.000004"});
  auto c = BinlogReplayChain(all, "b.000002", std::nullopt);
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(*c, ElementsAre("b.000002", "b.000003", "b.000004"));
  c = BinlogReplayChain(all, "b.000002", "b.000003");
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(*c, ElementsAre("b.000002", "b.000003"));
  // The start is not archived.
  auto missing = BinlogReplayChain(all, "b.000005", std::nullopt);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("b.000005"));
  // A gap with later files is an error, naming the missing file.
  auto gap = BinlogReplayChain(Entries({"b.000002", "b.000004"}), "b.000002", std::nullopt);
  EXPECT_EQ(gap.status().code(), Code::kNotFound);
  EXPECT_THAT(gap.status().message(), HasSubstr("b.000003 is missing"));
  // ... but not when the target lies before it.
  c = BinlogReplayChain(Entries({"b.000002", "b.000004"}), "b.000002", "b.000002");
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(*c, ElementsAre("b.000002"));
  // A target file not archived yet.
  auto beyond = BinlogReplayChain(all, "b.000002", "b.000006");
  EXPECT_EQ(beyond.status().code(), Code::kNotFound);
  EXPECT_THAT(beyond.status().message(), HasSubstr("b.000005"));
  // A target before the start.
  EXPECT_EQ(BinlogReplayChain(all, "b.000002", "b.000001").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat
