// WAL archive over an in-memory repository: round trip, idempotent and
// conflicting pushes, corrupted and swapped objects, names, not found.
#include "walarchive/wal_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "backend/mem_backend.h"
#include "backend/test_temp_dir.h"
#include "repo/sealed_object.h"
#include "repo/test_support.h"

namespace lifeboat {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSystem = 7310000000000000001ull;
constexpr uint64_t kOtherSystem = 7310000000000000002ull;
const std::string kSeg1 = "000000010000000000000001";
const std::string kSeg2 = "000000010000000000000002";

void WriteFile(const std::string& path, ByteView data) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class WalArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    auto mem = std::make_unique<MemBackend>("memory");
    auto repo = Repository::Init(std::move(mem), "pw", test_support::FastInit());
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    ASSERT_EQ(::mkdir((tmp_.path() + "/pg_wal").c_str(), 0700), 0);
  }

  // A WAL-like file (partly compressible, like real segments).
  std::string MakeSegment(const std::string& name, uint32_t seed, size_t size = 1 << 20) {
    Bytes data = test_support::Pattern(size, seed);
    std::fill(data.begin() + static_cast<ptrdiff_t>(size / 2), data.end(), 0);
    const std::string path = tmp_.path() + "/pg_wal/" + name;
    WriteFile(path, data);
    return path;
  }

  ObjectName ObjectOf(uint64_t system, const std::string& name) {
    return {ObjectType::kWal, WalObjectName(system, name)};
  }

  TestTempDir tmp_;
  std::unique_ptr<Repository> repo_;
};

TEST(WalFileNameTest, AcceptsWhatPostgresArchives) {
  for (const char* ok :
       {"000000010000000000000001", "0000000A00000003000000FF", "000000010000000000000001.partial",
        "00000002.history", "000000010000000000000002.00000028.backup"}) {
    EXPECT_TRUE(ValidateWalFileName(ok).ok()) << ok;
  }
  for (const char* bad :
       {"", "00000001000000000000001", "0000000100000000000000010", "00000001000000000000000g",
        "000000010000000000000001.foo", "0000002.history", "../00000002.history", "archive_status",
        "000000010000000000000002.0000028.backup", "00000001000000000000000a"}) {
    Status s = ValidateWalFileName(bad);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(WalObjectName(kSystem, kSeg1), "pg.7310000000000000001." + kSeg1);
}

TEST_F(WalArchiveTest, PushThenGetIsByteIdenticalAndCompressed) {
  const std::string path = MakeSegment(kSeg1, 1);
  auto pushed = PushWal(*repo_, kSystem, path);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(*pushed, PushOutcome::kStored);

  auto stored = repo_->backend().Stat(ObjectOf(kSystem, kSeg1));
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_LT(*stored, (1u << 20) * 3 / 4);  // the zero half compressed away

  const std::string dest = tmp_.path() + "/RECOVERYXLOG";
  Status got = GetWal(*repo_, kSystem, kSeg1, dest);
  ASSERT_TRUE(got.ok()) << got.ToString();
  EXPECT_EQ(ReadFile(dest), ReadFile(path));
  EXPECT_EQ(Entries(tmp_.path()), (std::set<std::string>{"RECOVERYXLOG", "pg_wal"}));

  // Getting again overwrites the destination (PostgreSQL reuses RECOVERYXLOG).
  ASSERT_TRUE(PushWal(*repo_, kSystem, MakeSegment(kSeg2, 2)).ok());
  ASSERT_TRUE(GetWal(*repo_, kSystem, kSeg2, dest).ok());
  EXPECT_EQ(ReadFile(dest), ReadFile(tmp_.path() + "/pg_wal/" + kSeg2));
}

TEST_F(WalArchiveTest, PushingTheSameFileAgainIsANoOp) {
  const std::string path = MakeSegment(kSeg1, 1);
  ASSERT_TRUE(PushWal(*repo_, kSystem, path).ok());
  auto before = repo_->backend().Load(ObjectOf(kSystem, kSeg1));
  ASSERT_TRUE(before.ok());
  auto again = PushWal(*repo_, kSystem, path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, PushOutcome::kAlreadyArchived);
  EXPECT_EQ(*repo_->backend().Load(ObjectOf(kSystem, kSeg1)), *before);  // not rewritten
}

TEST_F(WalArchiveTest, DifferentContentUnderAnArchivedNameIsRefused) {
  ASSERT_TRUE(PushWal(*repo_, kSystem, MakeSegment(kSeg1, 1)).ok());
  auto before = repo_->backend().Load(ObjectOf(kSystem, kSeg1));
  auto conflict = PushWal(*repo_, kSystem, MakeSegment(kSeg1, 99));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), Code::kAlreadyExists);
  EXPECT_THAT(conflict.status().message(), HasSubstr(kSeg1));
  EXPECT_THAT(conflict.status().message(), HasSubstr("different content"));
  EXPECT_FALSE(conflict.status().hint().empty());
  EXPECT_EQ(*repo_->backend().Load(ObjectOf(kSystem, kSeg1)), *before);

  // The same name of another cluster is another object.
  auto other = PushWal(*repo_, kOtherSystem, tmp_.path() + "/pg_wal/" + kSeg1);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(*other, PushOutcome::kStored);
}

TEST_F(WalArchiveTest, MissingFilesAreNotFound) {
  Status s = GetWal(*repo_, kSystem, "00000002.history", tmp_.path() + "/x");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("00000002.history"));
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/x"));

  auto pushed = PushWal(*repo_, kSystem, tmp_.path() + "/pg_wal/" + kSeg1);
  EXPECT_EQ(pushed.status().code(), Code::kNotFound);
  EXPECT_EQ(PushWal(*repo_, kSystem, tmp_.path() + "/pg_wal").status().code(),
            Code::kInvalidArgument);  // not a WAL file name
  EXPECT_EQ(GetWal(*repo_, kSystem, "../../etc/passwd", tmp_.path() + "/x").code(),
            Code::kInvalidArgument);
}

TEST_F(WalArchiveTest, CorruptedObjectIsRefusedAndNeverOverwritten) {
  const std::string path = MakeSegment(kSeg1, 1);
  ASSERT_TRUE(PushWal(*repo_, kSystem, path).ok());
  const ObjectName object = ObjectOf(kSystem, kSeg1);
  Bytes stored = *repo_->backend().Load(object);
  stored[stored.size() / 2] ^= 0x01;
  ASSERT_TRUE(repo_->backend().Save(object, stored).ok());

  const std::string dest = tmp_.path() + "/RECOVERYXLOG";
  WriteFile(dest, AsBytes("previous"));
  Status got = GetWal(*repo_, kSystem, kSeg1, dest);
  EXPECT_EQ(got.code(), Code::kCorrupt);
  EXPECT_THAT(got.message(), HasSubstr(object.ToString()));
  EXPECT_EQ(ReadFile(dest), Bytes(AsBytes("previous").begin(), AsBytes("previous").end()));

  auto pushed = PushWal(*repo_, kSystem, path);
  EXPECT_EQ(pushed.status().code(), Code::kCorrupt);
  EXPECT_EQ(*repo_->backend().Load(object), stored);  // left for the operator to look at
}

TEST_F(WalArchiveTest, ObjectRenamedOrSwappedIsDetected) {
  ASSERT_TRUE(PushWal(*repo_, kSystem, MakeSegment(kSeg1, 1)).ok());
  ASSERT_TRUE(PushWal(*repo_, kOtherSystem, MakeSegment(kSeg2, 2)).ok());
  Backend& b = repo_->backend();
  // Segment 1 stored under segment 2's name (same cluster), and another
  // cluster's segment 2 under this cluster's name: both authenticate, both
  // are refused by their header.
  Bytes seg1 = *b.Load(ObjectOf(kSystem, kSeg1));
  Bytes foreign = *b.Load(ObjectOf(kOtherSystem, kSeg2));
  ASSERT_TRUE(b.Save(ObjectOf(kSystem, kSeg2), seg1).ok());
  Status renamed = GetWal(*repo_, kSystem, kSeg2, tmp_.path() + "/out");
  EXPECT_EQ(renamed.code(), Code::kCorrupt);
  EXPECT_THAT(renamed.message(), HasSubstr("holds WAL file '" + kSeg1 + "'"));

  ASSERT_TRUE(b.Save(ObjectOf(kSystem, "000000010000000000000003"), foreign).ok());
  Status swapped = GetWal(*repo_, kSystem, "000000010000000000000003", tmp_.path() + "/out");
  EXPECT_EQ(swapped.code(), Code::kCorrupt);
  EXPECT_THAT(swapped.message(), HasSubstr(std::to_string(kOtherSystem)));
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/out"));

  // A push over a swapped object fails too rather than calling it archived.
  auto pushed = PushWal(*repo_, kSystem, tmp_.path() + "/pg_wal/" + kSeg2);
  EXPECT_EQ(pushed.status().code(), Code::kCorrupt);
}

TEST_F(WalArchiveTest, PayloadHeaderIsCheckedFieldByField) {
  const Bytes contents = test_support::Pattern(1000, 5);
  Bytes payload = EncodeWalPayload(kSystem, kSeg1, contents);
  ByteView view;
  auto ok = DecodeWalPayload(payload, &view);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->system_id, kSystem);
  EXPECT_EQ(ok->name, kSeg1);
  EXPECT_EQ(ok->size, 1000u);
  EXPECT_TRUE(std::equal(view.begin(), view.end(), contents.begin(), contents.end()));

  // Every truncation, a flipped content byte and a wrong size are refused.
  for (size_t n = 0; n < payload.size(); n += 37) {
    EXPECT_EQ(DecodeWalPayload(ByteView(payload).first(n), &view).status().code(), Code::kCorrupt)
        << n;
  }
  Bytes flipped = payload;
  flipped.back() ^= 0x80;
  EXPECT_THAT(DecodeWalPayload(flipped, &view).status().message(), HasSubstr("SHA-256"));
  Bytes longer = payload;
  longer.push_back(0);
  EXPECT_EQ(DecodeWalPayload(longer, &view).status().code(), Code::kCorrupt);
  Bytes bad_magic = payload;
  bad_magic[0] = 'X';
  EXPECT_EQ(DecodeWalPayload(bad_magic, &view).status().code(), Code::kCorrupt);
}

TEST_F(WalArchiveTest, ListShowsOneClusterSorted) {
  ASSERT_TRUE(PushWal(*repo_, kSystem, MakeSegment(kSeg2, 2, 1000)).ok());
  ASSERT_TRUE(PushWal(*repo_, kSystem, MakeSegment(kSeg1, 1, 1000)).ok());
  ASSERT_TRUE(PushWal(*repo_, kSystem, MakeSegment("00000002.history", 3, 50)).ok());
  ASSERT_TRUE(PushWal(*repo_, kOtherSystem, tmp_.path() + "/pg_wal/" + kSeg1).ok());
  auto listed = ListWal(*repo_, kSystem);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].name, kSeg1);
  EXPECT_EQ((*listed)[1].name, kSeg2);
  EXPECT_EQ((*listed)[2].name, "00000002.history");  // timeline 2 begins after timeline 1
  EXPECT_GT((*listed)[0].stored, 0u);
  EXPECT_EQ(ListWal(*repo_, 42)->size(), 0u);
}

}  // namespace
}  // namespace lifeboat

namespace lifeboat {
namespace {

TEST(StreamPartialNameTest, FormatsAndParses) {
  const std::string name = StreamPartialName("000000010000000000000005", 0xA3F000);
  EXPECT_EQ(name, "000000010000000000000005.00A3F000.stream");
  EXPECT_TRUE(ValidateWalFileName(name).ok());
  std::string seg;
  uint64_t len = 0;
  ASSERT_TRUE(ParseStreamPartialName(name, &seg, &len));
  EXPECT_EQ(seg, "000000010000000000000005");
  EXPECT_EQ(len, 0xA3F000u);
  EXPECT_FALSE(ParseStreamPartialName("000000010000000000000005.partial", &seg, &len));
  EXPECT_FALSE(ParseStreamPartialName("000000010000000000000005.00000028.backup", &seg, &len));
  EXPECT_FALSE(ValidateWalFileName("000000010000000000000005.00a3f000.stream").ok());
}

// stream-wal's partials: GetWal of a segment that is not archived whole
// gives the longest partial; the full segment wins once it is there;
// RemoveStreamPartials keeps what it is told to.
TEST_F(WalArchiveTest, StreamPartialsStandInForAMissingSegment) {
  const size_t size = 1 << 20;
  Bytes full = test_support::Pattern(size, 7);
  auto partial_of = [&](size_t valid) {
    Bytes b(size, 0);
    std::copy(full.begin(), full.begin() + static_cast<ptrdiff_t>(valid), b.begin());
    return b;
  };
  const std::string dest = tmp_.path() + "/RECOVERYXLOG";
  EXPECT_EQ(GetWal(*repo_, kSystem, kSeg1, dest).code(), Code::kNotFound);
  ASSERT_TRUE(PushWalContents(*repo_, kSystem, StreamPartialName(kSeg1, 1000), partial_of(1000)).ok());
  ASSERT_TRUE(
      PushWalContents(*repo_, kSystem, StreamPartialName(kSeg1, 300000), partial_of(300000)).ok());
  ASSERT_TRUE(PushWalContents(*repo_, kSystem, StreamPartialName(kSeg1, 5000), partial_of(5000)).ok());
  EXPECT_EQ(*NewestStreamPartial(*repo_, kSystem, kSeg1), StreamPartialName(kSeg1, 300000));
  EXPECT_EQ(NewestStreamPartial(*repo_, kSystem, kSeg2).status().code(), Code::kNotFound);
  EXPECT_EQ(NewestStreamPartial(*repo_, kOtherSystem, kSeg1).status().code(), Code::kNotFound);
  ASSERT_TRUE(GetWal(*repo_, kSystem, kSeg1, dest).ok());
  const Bytes got = ReadFile(dest);
  EXPECT_EQ(got.size(), size);  // zero-filled to the segment size
  EXPECT_EQ(got, partial_of(300000));

  auto removed = RemoveStreamPartials(*repo_, kSystem, kSeg1, StreamPartialName(kSeg1, 300000));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2);
  auto listed = ListWal(*repo_, kSystem);
  ASSERT_EQ(listed->size(), 1u);

  // The full segment supersedes the partial.
  const std::string path = tmp_.path() + "/pg_wal/" + kSeg1;
  WriteFile(path, full);
  ASSERT_TRUE(PushWal(*repo_, kSystem, path).ok());
  ASSERT_TRUE(GetWal(*repo_, kSystem, kSeg1, dest).ok());
  EXPECT_EQ(ReadFile(dest), full);
  EXPECT_EQ(*RemoveStreamPartials(*repo_, kSystem, kSeg1, ""), 1);
  EXPECT_EQ(ListWal(*repo_, kSystem)->size(), 1u);
}

}  // namespace
}  // namespace lifeboat
