#include "archiver/tree_ingest.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "backend/mem_backend.h"
#include "model/tree.h"
#include "repo/test_support.h"
#include "restore/restorer.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

std::string Random(size_t n, uint32_t seed) {
  Bytes b = test_support::Pattern(n, seed);
  return std::string(AsString(b));
}

ByteView View(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

NodeMeta Meta(uint32_t mode) {
  NodeMeta m;
  m.mode = mode;
  m.uid = geteuid();
  m.gid = getegid();
  m.mtime_ns = 1700000000123456789;
  return m;
}

class TreeIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-ingest-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto repo = Repository::Init(std::make_unique<MemBackend>(), "pw",
                                 test_support::FastInit(256 * 1024, {4096, 16384, 65536}));
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Writes `content` as one file in pieces of `piece` bytes.
  Status AddFile(TreeIngest& ingest, const std::string& path, const std::string& content,
                 size_t piece = 1000) {
    LB_RETURN_IF_ERROR(ingest.BeginFile(path, Meta(0640)));
    for (size_t off = 0; off < content.size(); off += piece) {
      LB_RETURN_IF_ERROR(ingest.Write(View(content).subspan(off, std::min(piece, content.size() - off))));
    }
    return ingest.EndFile();
  }

  Result<ArchiveResult> IngestSample(const std::string& big) {
    TreeIngest ingest(*repo_, {.saver_threads = 2});
    // Children before their parents, parents implied, any order.
    LB_RETURN_IF_ERROR(AddFile(ingest, "pgdata/base/1/1259", big, 7777));
    LB_RETURN_IF_ERROR(AddFile(ingest, "/pgdata/PG_VERSION", "15\n"));
    LB_RETURN_IF_ERROR(AddFile(ingest, "./pgdata/empty", ""));
    LB_RETURN_IF_ERROR(ingest.AddDirectory("pgdata", Meta(0700)));
    LB_RETURN_IF_ERROR(ingest.AddDirectory("pgdata/pg_wal", Meta(0700)));
    LB_RETURN_IF_ERROR(ingest.AddSymlink("pgdata/pg_tblspc/16384", "/srv/ts", Meta(0777)));
    return ingest.Finish();
  }

  std::string root_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(TreeIngestTest, RoundTripsThroughTheRestorer) {
  const std::string big = Random(300000, 3);
  auto r = IngestSample(big);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->summary.files_new, 3u);
  EXPECT_EQ(r->summary.bytes_total, big.size() + 3);
  EXPECT_GE(r->summary.dirs_new, 5u);  // pgdata, base, 1, pg_wal, pg_tblspc
  EXPECT_GT(r->summary.bytes_added, big.size() - 1);

  RestorerOptions ropt;
  ropt.target = root_ + "/out";
  Restorer restorer(*repo_, ropt);
  auto restored = restorer.Restore(r->tree);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_TRUE(restored->errors.empty());
  EXPECT_EQ(ReadAll(root_ + "/out/pgdata/base/1/1259"), big);
  EXPECT_EQ(ReadAll(root_ + "/out/pgdata/PG_VERSION"), "15\n");
  EXPECT_TRUE(fs::is_regular_file(root_ + "/out/pgdata/empty"));
  EXPECT_EQ(fs::file_size(root_ + "/out/pgdata/empty"), 0u);
  EXPECT_EQ(fs::read_symlink(root_ + "/out/pgdata/pg_tblspc/16384"), "/srv/ts");
  struct stat st {};
  ASSERT_EQ(stat((root_ + "/out/pgdata/base/1/1259").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  ASSERT_EQ(stat((root_ + "/out/pgdata/base").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);  // implied directory
}

TEST_F(TreeIngestTest, SecondIngestOfTheSameDataAddsAlmostNothing) {
  const std::string big = Random(500000, 4);
  auto first = IngestSample(big);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = IngestSample(big);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->tree, first->tree);
  EXPECT_EQ(second->summary.bytes_added, 0u);

  // One changed page in the middle: only the chunks around it are new.
  std::string changed = big;
  for (size_t i = 250000; i < 258192; ++i) changed[i] = 'x';
  auto third = IngestSample(changed);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_NE(third->tree, first->tree);
  EXPECT_GT(third->summary.bytes_added, 8000u);
  EXPECT_LT(third->summary.bytes_added, 200000u);
}

TEST_F(TreeIngestTest, RejectsBadPathsAndDuplicates) {
  TreeIngest ingest(*repo_, {.saver_threads = 1});
  EXPECT_EQ(ingest.AddDirectory("a/../b", Meta(0700)).code(), Code::kInvalidArgument);
  EXPECT_EQ(ingest.AddDirectory("", Meta(0700)).code(), Code::kInvalidArgument);
  EXPECT_EQ(ingest.AddDirectory("/./", Meta(0700)).code(), Code::kInvalidArgument);
  EXPECT_EQ(ingest.BeginFile(std::string("a\0b", 3), Meta(0600)).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ingest.Write(View("x")).code(), Code::kInvalidArgument);  // no file open
  EXPECT_EQ(ingest.EndFile().code(), Code::kInvalidArgument);
  ASSERT_TRUE(AddFile(ingest, "d/f", "data").ok());
  EXPECT_EQ(AddFile(ingest, "d/f", "again").code(), Code::kAlreadyExists);
  EXPECT_EQ(ingest.AddDirectory("d/f", Meta(0700)).code(), Code::kAlreadyExists);
  EXPECT_EQ(AddFile(ingest, "d/f/g", "under a file").code(), Code::kAlreadyExists);
  EXPECT_EQ(ingest.AddSymlink("d/l", "", Meta(0777)).code(), Code::kInvalidArgument);
  // An implied directory may be given explicitly once, not twice.
  EXPECT_TRUE(ingest.AddDirectory("d", Meta(0750)).ok());
  EXPECT_EQ(ingest.AddDirectory("d", Meta(0750)).code(), Code::kAlreadyExists);
  EXPECT_EQ(AddFile(ingest, "d", "a file where a dir is").code(), Code::kAlreadyExists);
  ASSERT_TRUE(ingest.BeginFile("open", Meta(0600)).ok());
  EXPECT_EQ(ingest.AddDirectory("x", Meta(0700)).code(), Code::kInvalidArgument);
  EXPECT_EQ(ingest.Finish().status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(ingest.EndFile().ok());
  auto r = ingest.Finish();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->summary.files_new, 2u);
  EXPECT_FALSE(ingest.Finish().ok());  // nothing after Finish
}

TEST_F(TreeIngestTest, CancelStopsTheIngest) {
  TreeIngest ingest(*repo_, {.saver_threads = 1});
  ASSERT_TRUE(ingest.BeginFile("f", Meta(0600)).ok());
  ingest.Cancel();
  EXPECT_EQ(ingest.Write(View("abc")).code(), Code::kCancelled);
  EXPECT_EQ(ingest.Finish().status().code(), Code::kCancelled);
}

}  // namespace
}  // namespace lifeboat
