// LocalBackend specifics: on-disk layout and modes, atomic-save leftovers,
// Create's refusals, errno mapping (including ENOSPC on a tiny tmpfs when
// mounting is allowed) and List's filtering of foreign files.
#include "backend/local_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "backend/test_temp_dir.h"

namespace lifeboat {
namespace {

using ::testing::HasSubstr;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

bool HasTempFile(const std::string& dir) {
  for (const std::string& n : Entries(dir)) {
    if (n.rfind(".tmp-", 0) == 0) return true;
  }
  return false;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

std::map<std::string, uint64_t> ListAll(Backend& b, ObjectType type) {
  std::map<std::string, uint64_t> seen;
  Status s = b.List(type, [&](const ObjectInfo& info) {
    seen[info.name] = info.size;
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return seen;
}

const std::string kPackName = "ab" + std::string(62, '0');

class LocalBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path() + "/nested/repo";
    backend_ = std::make_unique<LocalBackend>(root_);
  }
  void CreateRepo() {
    Status s = backend_->Create();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  TestTempDir tmp_;
  std::string root_;
  std::unique_ptr<LocalBackend> backend_;
};

TEST_F(LocalBackendTest, CreateMakesTheLayoutWithPrivateModes) {
  CreateRepo();
  EXPECT_EQ(backend_->Location(), root_);
  EXPECT_TRUE(backend_->Capabilities().durable);
  EXPECT_TRUE(backend_->Capabilities().local);
  EXPECT_EQ(ModeOf(root_), 0700u);
  EXPECT_EQ(ModeOf(tmp_.path() + "/nested"), 0700u);
  EXPECT_EQ(Entries(root_),
            (std::set<std::string>{"data", "index", "keys", "locks", "snapshots", "wal"}));
  for (const std::string& d : Entries(root_)) EXPECT_EQ(ModeOf(root_ + "/" + d), 0700u) << d;
  const std::set<std::string> shards = Entries(root_ + "/data");
  ASSERT_EQ(shards.size(), 256u);
  EXPECT_EQ(*shards.begin(), "00");
  EXPECT_EQ(*shards.rbegin(), "ff");
  EXPECT_TRUE(shards.count("a7"));
  for (const std::string& s : shards) EXPECT_EQ(ModeOf(root_ + "/data/" + s), 0700u) << s;
}

TEST_F(LocalBackendTest, ObjectsLiveAtTheDocumentedPathsAsPrivateFiles) {
  CreateRepo();
  ASSERT_TRUE(backend_->Save({ObjectType::kConfig, "config"}, AsBytes("cfg")).ok());
  ASSERT_TRUE(backend_->Save({ObjectType::kPack, kPackName}, AsBytes("pack")).ok());
  ASSERT_TRUE(backend_->Save({ObjectType::kKey, "k1"}, AsBytes("key")).ok());
  ASSERT_TRUE(backend_->Save({ObjectType::kIndex, "i1"}, AsBytes("idx")).ok());
  ASSERT_TRUE(backend_->Save({ObjectType::kSnapshot, "s1"}, AsBytes("snap")).ok());
  ASSERT_TRUE(backend_->Save({ObjectType::kLock, "l1"}, AsBytes("lock")).ok());
  ASSERT_TRUE(backend_->Save({ObjectType::kWal, "w1"}, AsBytes("wal")).ok());

  const std::string files[] = {root_ + "/config",       root_ + "/data/ab/" + kPackName,
                               root_ + "/keys/k1",      root_ + "/index/i1",
                               root_ + "/snapshots/s1", root_ + "/locks/l1",
                               root_ + "/wal/w1"};
  for (const std::string& f : files) {
    EXPECT_EQ(ModeOf(f), 0600u) << f;
    EXPECT_TRUE(std::filesystem::is_regular_file(f)) << f;
  }
  EXPECT_EQ(backend_->PathOf({ObjectType::kPack, kPackName}), root_ + "/data/ab/" + kPackName);
  EXPECT_EQ(backend_->DirOf({ObjectType::kPack, kPackName}), root_ + "/data/ab");

  // No temporary files stay behind.
  EXPECT_FALSE(HasTempFile(root_));
  EXPECT_FALSE(HasTempFile(root_ + "/data/ab"));
  EXPECT_FALSE(HasTempFile(root_ + "/keys"));
  EXPECT_FALSE(HasTempFile(root_ + "/snapshots"));
}

// Repositories created before wal/ existed: listing it is empty, the first
// save creates it (private), and nothing is created outside a repository.
TEST_F(LocalBackendTest, WalDirectoryIsCreatedLazilyInOlderRepositories) {
  CreateRepo();
  ASSERT_EQ(::rmdir((root_ + "/wal").c_str()), 0);
  EXPECT_TRUE(ListAll(*backend_, ObjectType::kWal).empty());
  EXPECT_EQ(backend_->Stat({ObjectType::kWal, "w1"}).status().code(), Code::kNotFound);
  EXPECT_EQ(backend_->Load({ObjectType::kWal, "w1"}).status().code(), Code::kNotFound);
  ASSERT_TRUE(backend_->Save({ObjectType::kWal, "w1"}, AsBytes("wal")).ok());
  EXPECT_EQ(ModeOf(root_ + "/wal"), 0700u);
  EXPECT_EQ(ModeOf(root_ + "/wal/w1"), 0600u);
  EXPECT_EQ(ListAll(*backend_, ObjectType::kWal), (std::map<std::string, uint64_t>{{"w1", 3}}));
  EXPECT_FALSE(HasTempFile(root_ + "/wal"));

  LocalBackend nowhere(tmp_.path() + "/absent/repo");
  EXPECT_EQ(nowhere.Save({ObjectType::kWal, "w1"}, AsBytes("wal")).code(), Code::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/absent"));
}

TEST_F(LocalBackendTest, CreateIsRepeatableUntilConfigExists) {
  CreateRepo();
  CreateRepo();  // a half-finished Create may be run again
  ASSERT_TRUE(backend_->Save({ObjectType::kConfig, ""}, AsBytes("cfg")).ok());
  Status s = backend_->Create();
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr(root_));
  EXPECT_FALSE(s.hint().empty());
}

TEST_F(LocalBackendTest, CreateAcceptsAnExistingEmptyDirectory) {
  ASSERT_EQ(::mkdir((tmp_.path() + "/nested").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  CreateRepo();
  EXPECT_EQ(Entries(root_).size(), 6u);
}

TEST_F(LocalBackendTest, CreateRefusesANonEmptyDirectory) {
  ASSERT_EQ(::mkdir((tmp_.path() + "/nested").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  WriteFile(root_ + "/notes.txt", "mine");
  Status s = backend_->Create();
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr("not empty"));
  EXPECT_THAT(s.message(), HasSubstr("notes.txt"));
  EXPECT_EQ(Entries(root_), (std::set<std::string>{"notes.txt"}));  // nothing added
}

TEST_F(LocalBackendTest, CreateRefusesAFile) {
  ASSERT_EQ(::mkdir((tmp_.path() + "/nested").c_str(), 0755), 0);
  WriteFile(root_, "not a directory");
  Status s = backend_->Create();
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr("not a directory"));
}

TEST_F(LocalBackendTest, OperationsOnAMissingRepositoryReportThePath) {
  Status s = backend_->Save({ObjectType::kKey, "k1"}, AsBytes("x"));
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("keys/k1"));
  EXPECT_THAT(s.message(), HasSubstr(root_));
  // Packs do not recreate a missing data/ directory either.
  s = backend_->Save({ObjectType::kPack, kPackName}, AsBytes("x"));
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_FALSE(std::filesystem::exists(root_));

  Status listed =
      backend_->List(ObjectType::kSnapshot, [](const ObjectInfo&) { return Status::Ok(); });
  EXPECT_EQ(listed.code(), Code::kNotFound);
  EXPECT_THAT(listed.message(), HasSubstr(root_ + "/snapshots"));
  listed = backend_->List(ObjectType::kPack, [](const ObjectInfo&) { return Status::Ok(); });
  EXPECT_EQ(listed.code(), Code::kNotFound);
}

TEST_F(LocalBackendTest, FailedSaveLeavesNoTemporaryFile) {
  CreateRepo();
  // A directory where the object should go makes the final rename fail.
  ASSERT_EQ(::mkdir((root_ + "/keys/blocked").c_str(), 0700), 0);
  Status s = backend_->Save({ObjectType::kKey, "blocked"}, AsBytes("secret key"));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("unable to save keys/blocked"));
  EXPECT_EQ(Entries(root_ + "/keys"), (std::set<std::string>{"blocked"}));
  EXPECT_TRUE(ListAll(*backend_, ObjectType::kKey).empty());
}

TEST_F(LocalBackendTest, MissingPackShardIsRecreated) {
  CreateRepo();
  ASSERT_EQ(::rmdir((root_ + "/data/ab").c_str()), 0);
  ASSERT_TRUE(backend_->Save({ObjectType::kPack, kPackName}, AsBytes("pack")).ok());
  EXPECT_EQ(ModeOf(root_ + "/data/ab"), 0700u);
  Result<Bytes> back = backend_->Load({ObjectType::kPack, kPackName});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(AsString(*back), "pack");
  // Names whose shard is not hex get a shard on demand as well.
  ASSERT_TRUE(backend_->Save({ObjectType::kPack, "zz-pack"}, AsBytes("z")).ok());
  EXPECT_EQ(ListAll(*backend_, ObjectType::kPack).size(), 2u);
}

TEST_F(LocalBackendTest, ListSkipsTemporaryAndForeignEntries) {
  CreateRepo();
  ASSERT_TRUE(backend_->Save({ObjectType::kIndex, "i1"}, AsBytes("12345")).ok());
  ASSERT_TRUE(backend_->Save({ObjectType::kPack, kPackName}, AsBytes("pp")).ok());
  WriteFile(root_ + "/index/.tmp-0123456789abcdef", "partial");
  WriteFile(root_ + "/index/.DS_Store", "junk");
  ASSERT_EQ(::mkdir((root_ + "/index/subdir").c_str(), 0700), 0);
  ASSERT_EQ(::symlink("i1", (root_ + "/index/link").c_str()), 0);
  WriteFile(root_ + "/data/ab/.tmp-feedfacefeedface", "partial pack");
  WriteFile(root_ + "/data/stray-file", "not in a shard");
  WriteFile(root_ + "/data/.tmp-x", "temp");

  EXPECT_EQ(ListAll(*backend_, ObjectType::kIndex), (std::map<std::string, uint64_t>{{"i1", 5}}));
  EXPECT_EQ(ListAll(*backend_, ObjectType::kPack),
            (std::map<std::string, uint64_t>{{kPackName, 2}}));
  EXPECT_TRUE(ListAll(*backend_, ObjectType::kConfig).empty());
  ASSERT_TRUE(backend_->Save({ObjectType::kConfig, "config"}, AsBytes("cfg")).ok());
  EXPECT_EQ(ListAll(*backend_, ObjectType::kConfig),
            (std::map<std::string, uint64_t>{{"config", 3}}));
}

TEST_F(LocalBackendTest, ShortFileIsCorruptNotShortData) {
  CreateRepo();
  const ObjectName name{ObjectType::kPack, kPackName};
  ASSERT_TRUE(backend_->Save(name, Bytes(4096, 7)).ok());
  ASSERT_EQ(::truncate(backend_->PathOf(name).c_str(), 100), 0);
  Result<Bytes> r = backend_->Load(name, 50, 200);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_THAT(r.status().message(), HasSubstr(backend_->PathOf(name)));
  EXPECT_THAT(r.status().message(), HasSubstr("100 bytes"));
  Result<Bytes> whole = backend_->Load(name);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->size(), 100u);
}

TEST_F(LocalBackendTest, LoadInPiecesReadsHalfMebibytesAtATime) {
  CreateRepo();
  const ObjectName name{ObjectType::kPack, kPackName};
  Bytes data((1 << 20) + 1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + i / 4096);
  ASSERT_TRUE(backend_->Save(name, data).ok());
  RawBuffer buf;
  std::vector<size_t> calls;
  Status s = backend_->LoadInPieces(name, &buf, [&](size_t loaded) {
    calls.push_back(loaded);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(calls, (std::vector<size_t>{512 << 10, 1 << 20, (1 << 20) + 1000}));
  EXPECT_TRUE(Bytes(buf.data(), buf.data() + buf.size()) == data);
}

TEST_F(LocalBackendTest, DirectoryInPlaceOfAnObjectIsAnError) {
  CreateRepo();
  ASSERT_EQ(::mkdir((root_ + "/snapshots/s1").c_str(), 0700), 0);
  const ObjectName name{ObjectType::kSnapshot, "s1"};
  EXPECT_FALSE(backend_->Load(name).ok());
  EXPECT_FALSE(backend_->Stat(name).ok());
  EXPECT_FALSE(backend_->Remove(name).ok());
}

TEST(SyncDirectoryTest, MissingDirectoryIsNotFound) {
  EXPECT_TRUE(SyncDirectory("/tmp").ok());
  Status s = SyncDirectory("/nonexistent/lifeboat-dir");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent/lifeboat-dir"));
}

// A 1 MiB tmpfs: needs permission to mount (root in a capable container).
class TinyFilesystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    if (::mount("tmpfs", tmp_.path().c_str(), "tmpfs", 0, "size=1m,mode=0700") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(tmp_.path().c_str(), MNT_DETACH);
  }
  TestTempDir tmp_;
  bool mounted_ = false;
};

TEST_F(TinyFilesystemTest, NoSpaceIsReportedAndLeavesNothing) {
  LocalBackend backend(tmp_.path() + "/repo");
  ASSERT_TRUE(backend.Create().ok());
  ASSERT_TRUE(backend.Save({ObjectType::kIndex, "small"}, Bytes(1000, 1)).ok());
  Status s = backend.Save({ObjectType::kPack, kPackName}, Bytes(4 << 20, 2));
  EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("data/" + kPackName));
  EXPECT_FALSE(s.hint().empty());
  EXPECT_TRUE(Entries(tmp_.path() + "/repo/data/ab").empty());
  EXPECT_EQ(backend.Stat({ObjectType::kPack, kPackName}).status().code(), Code::kNotFound);
  // The space is given back: a small object still fits afterwards.
  EXPECT_TRUE(backend.Save({ObjectType::kIndex, "after"}, Bytes(1000, 3)).ok());
}

}  // namespace
}  // namespace lifeboat
