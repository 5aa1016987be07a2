#include "cache/caching_backend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "archiver/archiver.h"
#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "backend/test_temp_dir.h"
#include "cache/cache_dirs.h"
#include "cache/repository_pack_classifier.h"
#include "crypto/hash.h"
#include "model/tree.h"
#include "repo/test_support.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

constexpr char kPassword[] = "cache-test-password";
// Appears in file names and contents of the backed-up tree: must never be
// found in the cache, which holds only encrypted bytes.
constexpr char kPlainMarker[] = "plaintext-marker-7f3a9c";

// Forwards to a MemBackend it does not own, but says it is durable and
// remote, so the repository stages packs in files and stores them with
// SaveStaged, as it does for S3 and SFTP.
class RemoteLike final : public Backend {
 public:
  explicit RemoteLike(Backend* inner) : inner_(inner) {}
  std::string Location() const override { return "remote-like:" + inner_->Location(); }
  BackendCapabilities Capabilities() const override { return {.durable = true, .local = false}; }
  Status Create() override { return inner_->Create(); }
  Status Save(const ObjectName& n, ByteView d) override { return inner_->Save(n, d); }
  Result<Bytes> Load(const ObjectName& n, uint64_t o, uint64_t l) override {
    return inner_->Load(n, o, l);
  }
  Result<uint64_t> Stat(const ObjectName& n) override { return inner_->Stat(n); }
  Status Remove(const ObjectName& n) override { return inner_->Remove(n); }
  Status List(ObjectType t, const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_->List(t, fn);
  }

 private:
  Backend* inner_;
};

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every regular file under `dir`.
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(it->path().string());
  }
  return out;
}

// Parameter: true = the repository stages packs in files (SaveStaged, like a
// remote store); false = packs built in memory and stored with Save.
class CachingBackendTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    src_ = tmp_.path() + "/src";
    cache_dir_ = tmp_.path() + "/cache/repo";
    for (int d = 0; d < 6; ++d) {
      std::string dir = src_ + "/dir" + std::to_string(d) + "/sub";
      fs::create_directories(dir);
      for (int f = 0; f < 4; ++f) {
        WriteFile(dir + "/" + kPlainMarker + "-" + std::to_string(f) + ".txt",
                  std::string(kPlainMarker) + " file " + std::to_string(d * 10 + f) +
                      std::string(3000, char('a' + f)));
      }
      WriteFile(dir + "/big.bin", std::string(AsString(test_support::Pattern(60000, d + 1))));
    }
    auto repo = Repository::Init(MakeBackend(), kPassword,
                                 test_support::FastInit(64 * 1024, {2048, 8192, 65536}));
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    AttachCache(**repo);
    ASSERT_TRUE(Backup(**repo).ok());
  }

  // The stack the CLI builds for a remote repository, with a counting
  // FaultBackend between the cache and the storage.
  std::unique_ptr<Backend> MakeBackend() {
    std::unique_ptr<Backend> base;
    if (GetParam()) {
      base = std::make_unique<RemoteLike>(&mem_);
    } else {
      base = std::make_unique<FaultBackend>(&mem_);  // a non-owning forwarder
    }
    auto fault = std::make_unique<FaultBackend>(std::move(base));
    fault_ = fault.get();
    auto cache = CachingBackend::Open(std::move(fault), cache_dir_);
    EXPECT_TRUE(cache.ok()) << cache.status().ToString();
    cache_ = cache->get();
    return std::move(*cache);
  }

  // A new process: a fresh cache object over the same directory.
  std::unique_ptr<Repository> OpenRepo() {
    auto repo = Repository::Open(MakeBackend(), kPassword);
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    if (!repo.ok()) return nullptr;
    EXPECT_EQ(AttachCache(**repo), cache_);
    Status loaded = (*repo)->LoadIndex();
    EXPECT_TRUE(loaded.ok()) << loaded.ToString();
    return std::move(*repo);
  }

  // Backs up src_ (against `parent` if given) and saves a snapshot.
  Result<Id> Backup(Repository& repo, std::optional<Id> parent = std::nullopt) {
    ArchiverOptions opt;
    opt.paths = {src_};
    opt.parent_tree = parent;
    Archiver archiver(repo, opt);
    LB_ASSIGN_OR_RETURN(ArchiveResult result, archiver.Run());
    LB_RETURN_IF_ERROR(repo.Flush());
    Snapshot snap;
    snap.time_ns = NowNs();
    snap.hostname = "host";
    snap.paths = {src_};
    snap.tree = result.tree;
    LB_RETURN_IF_ERROR(repo.SaveSnapshot(snap).status());
    return result.tree;
  }

  // Lists the snapshots and loads every tree of each; returns the trees seen.
  size_t WalkAllTrees(Repository& repo) {
    auto snaps = repo.ListSnapshots();
    EXPECT_TRUE(snaps.ok()) << snaps.status().ToString();
    if (!snaps.ok()) return 0;
    size_t trees = 0;
    std::vector<Id> todo;
    for (const SnapshotEntry& e : *snaps) todo.push_back(e.snapshot.tree);
    while (!todo.empty()) {
      Id id = todo.back();
      todo.pop_back();
      auto blob = repo.LoadBlob(format::BlobType::kTree, id);
      EXPECT_TRUE(blob.ok()) << blob.status().ToString();
      if (!blob.ok()) return trees;
      auto tree = DecodeTree(*blob);
      EXPECT_TRUE(tree.ok());
      if (!tree.ok()) return trees;
      ++trees;
      for (const Node& n : tree->nodes) {
        if (n.subtree) todo.push_back(*n.subtree);
      }
    }
    return trees;
  }

  int InnerLoads() const { return fault_->Calls(FaultBackend::Op::kLoad); }

  std::string EntryPath(ObjectType type, const std::string& name) const {
    return cache_dir_ + "/" + std::string(ObjectTypeName(type)) + "/" + name;
  }

  TestTempDir tmp_;
  MemBackend mem_;
  std::string src_, cache_dir_;
  FaultBackend* fault_ = nullptr;    // owned by cache_
  CachingBackend* cache_ = nullptr;  // owned by the open repository
};

TEST_P(CachingBackendTest, SecondOpenReadsOnlyTheConfig) {
  auto repo = OpenRepo();
  ASSERT_NE(repo, nullptr);
  // Nothing of index, snapshots, keys or trees came from the storage: the
  // one Load is the config, which is always read fresh.
  EXPECT_GE(WalkAllTrees(*repo), 13u);  // src, its parents, 6 × (dir, sub)
  EXPECT_EQ(InnerLoads(), 1);
  EXPECT_GT(cache_->stats().hits.load(), 0u);
  EXPECT_EQ(cache_->stats().misses.load(), 0u);

  // Only tree packs are cached, and trees do have packs of their own.
  auto packs = ListNames(mem_, ObjectType::kPack);
  ASSERT_TRUE(packs.ok());
  RepositoryPackClassifier classify(*repo);
  size_t cached = 0, tree_packs = 0;
  for (const std::string& p : *packs) {
    const bool is_tree = classify.IsTreePack(p);
    tree_packs += is_tree;
    if (fs::exists(EntryPath(ObjectType::kPack, p))) {
      ++cached;
      EXPECT_TRUE(is_tree) << p;
    }
  }
  EXPECT_GE(tree_packs, 1u);
  EXPECT_EQ(cached, tree_packs);
  // The repository never mixes trees and data in one pack.
  std::map<Id, std::set<format::BlobType>> types;
  repo->index().ForEachBlob(
      [&](const Id& pack, const PackedBlob& blob) { types[pack].insert(blob.type); });
  for (const auto& [pack, in_pack] : types) EXPECT_EQ(in_pack.size(), 1u) << pack.Hex();
  EXPECT_LT(cached, packs->size());
}

TEST_P(CachingBackendTest, ColdCacheDownloadsOnceThenServesLocally) {
  fs::remove_all(cache_dir_);
  auto repo = OpenRepo();
  ASSERT_NE(repo, nullptr);
  const size_t trees = WalkAllTrees(*repo);
  const int cold = InnerLoads();
  EXPECT_GT(cold, 3);  // config, key, index, snapshot, tree pack(s)
  EXPECT_EQ(WalkAllTrees(*repo), trees);
  EXPECT_EQ(InnerLoads(), cold);  // the second walk is served from the cache
}

TEST_P(CachingBackendTest, IncrementalBackupDownloadsNoTreePacks) {
  Id parent;
  {
    auto repo = OpenRepo();
    ASSERT_NE(repo, nullptr);
    auto snaps = repo->ListSnapshots();
    ASSERT_TRUE(snaps.ok() && snaps->size() == 1);
    parent = snaps->back().snapshot.tree;
  }
  WriteFile(src_ + "/dir2/sub/changed.txt", "new content");
  auto repo = OpenRepo();
  ASSERT_NE(repo, nullptr);
  auto tree = Backup(*repo, parent);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_NE(*tree, parent);
  EXPECT_EQ(InnerLoads(), 1);  // the config only: parent trees came from the cache

  // The new snapshot's trees were cached as they were written.
  auto again = OpenRepo();
  ASSERT_NE(again, nullptr);
  EXPECT_GT(WalkAllTrees(*again), 13u);
  EXPECT_EQ(InnerLoads(), 1);
}

TEST_P(CachingBackendTest, DeletingTheCacheAtAnyTimeOnlyCostsDownloads) {
  auto repo = OpenRepo();
  ASSERT_NE(repo, nullptr);
  fs::remove_all(cache_dir_);  // after the index was loaded
  const size_t trees = WalkAllTrees(*repo);
  EXPECT_GT(InnerLoads(), 1);
  fs::remove_all(cache_dir_);  // with packs marked as verified in memory
  EXPECT_EQ(WalkAllTrees(*repo), trees);
  const int loads = InnerLoads();
  EXPECT_EQ(WalkAllTrees(*repo), trees);
  EXPECT_EQ(InnerLoads(), loads);  // cached again
  // And a backup with no cache directory at all still works and fills it.
  fs::remove_all(tmp_.path() + "/cache");
  WriteFile(src_ + "/dir0/sub/more.txt", "more");
  EXPECT_TRUE(Backup(*repo).ok());
  EXPECT_FALSE(FilesUnder(cache_dir_).empty());
}

TEST_P(CachingBackendTest, DamagedEntryIsDeletedAndFetchedAgain) {
  auto snaps = ListNames(mem_, ObjectType::kSnapshot);
  ASSERT_TRUE(snaps.ok() && snaps->size() == 1);
  const std::string snap_path = EntryPath(ObjectType::kSnapshot, snaps->front());
  std::string tree_pack;
  for (const std::string& f : FilesUnder(cache_dir_ + "/data")) tree_pack = f;
  ASSERT_FALSE(tree_pack.empty());
  for (const std::string& path : {snap_path, tree_pack}) {
    std::string bytes = ReadAll(path);
    ASSERT_FALSE(bytes.empty()) << path;
    bytes[bytes.size() / 2] ^= 1;
    WriteFile(path, bytes);
  }
  auto repo = OpenRepo();
  ASSERT_NE(repo, nullptr);
  EXPECT_GE(WalkAllTrees(*repo), 13u);  // no error surfaces
  EXPECT_EQ(cache_->stats().damaged.load(), 2u);
  EXPECT_EQ(InnerLoads(), 3);  // config, the snapshot, the tree pack
  // Both entries were replaced by good copies.
  for (const std::string& path : {snap_path, tree_pack}) {
    EXPECT_EQ(Sha256(AsBytes(ReadAll(path))).Hex(), fs::path(path).filename().string());
  }
}

TEST_P(CachingBackendTest, ObjectsRemovedElsewhereLeaveTheCacheOnList) {
  auto snaps = ListNames(mem_, ObjectType::kSnapshot);
  ASSERT_TRUE(snaps.ok() && snaps->size() == 1);
  const std::string path = EntryPath(ObjectType::kSnapshot, snaps->front());
  ASSERT_TRUE(fs::exists(path));
  // Another machine forgets the snapshot: this cache is not told.
  ASSERT_TRUE(mem_.Remove({ObjectType::kSnapshot, snaps->front()}).ok());
  auto repo = OpenRepo();
  ASSERT_NE(repo, nullptr);
  auto listed = repo->ListSnapshots();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(cache_->stats().dropped.load(), 1u);
}

TEST_P(CachingBackendTest, RemoveThroughTheCacheRemovesBoth) {
  auto repo = OpenRepo();
  ASSERT_NE(repo, nullptr);
  auto snaps = repo->ListSnapshots();
  ASSERT_TRUE(snaps.ok() && snaps->size() == 1);
  const std::string path = EntryPath(ObjectType::kSnapshot, snaps->front().id.Hex());
  ASSERT_TRUE(fs::exists(path));
  ASSERT_TRUE(repo->RemoveSnapshot(snaps->front().id).ok());
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(mem_.Stat({ObjectType::kSnapshot, snaps->front().id.Hex()}).status().code(),
            Code::kNotFound);
}

TEST_P(CachingBackendTest, FilesArePrivateAndHoldNoPlaintext) {
  auto files = FilesUnder(cache_dir_);
  ASSERT_GE(files.size(), 4u);  // key, index, snapshot, tree pack(s)
  for (const std::string& f : files) {
    struct stat st {};
    ASSERT_EQ(stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
    const std::string bytes = ReadAll(f);
    EXPECT_EQ(bytes.find(kPlainMarker), std::string::npos) << f;
    EXPECT_EQ(bytes.find(kPassword), std::string::npos) << f;
    EXPECT_EQ(bytes.find(src_), std::string::npos) << f;
  }
  for (auto it = fs::recursive_directory_iterator(cache_dir_); it != fs::end(it); ++it) {
    if (!it->is_directory()) continue;
    struct stat st {};
    ASSERT_EQ(stat(it->path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u) << it->path();
  }
  // Decrypted, the cached trees do hold the marker: the check above is not
  // vacuous. Reading them needs no download.
  auto repo = OpenRepo();
  ASSERT_NE(repo, nullptr);
  auto snaps = repo->ListSnapshots();
  ASSERT_TRUE(snaps.ok() && !snaps->empty());
  std::vector<Id> todo = {snaps->front().snapshot.tree};
  bool found = false;
  while (!todo.empty() && !found) {
    auto blob = repo->LoadBlob(format::BlobType::kTree, todo.back());
    todo.pop_back();
    ASSERT_TRUE(blob.ok());
    found = AsString(*blob).find(kPlainMarker) != std::string::npos || [&] {
      auto tree = DecodeTree(*blob);
      for (const Node& n : tree->nodes) {
        if (n.name.find(kPlainMarker) != std::string::npos) return true;
        if (n.subtree) todo.push_back(*n.subtree);
      }
      return false;
    }();
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(InnerLoads(), 1);
}

// Sets the mtime of `path` to `seconds_ago` seconds before now.
void Backdate(const std::string& path, int64_t seconds_ago) {
  struct timespec times[2];
  clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= seconds_ago;
  times[1] = times[0];
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

TEST_P(CachingBackendTest, PacksPrunedElsewhereLeaveTheCacheWhenTheIndexLoads) {
  std::vector<std::string> cached = FilesUnder(cache_dir_ + "/data");
  ASSERT_FALSE(cached.empty());
  for (const std::string& f : cached) Backdate(f, 2 * 3600);
  // A pack the index does not name, cached long ago (pruned elsewhere), and
  // one cached a moment ago (maybe by a backup running beside us that has
  // not written its index yet).
  const std::string gone = EntryPath(ObjectType::kPack, std::string(64, 'a'));
  const std::string recent = EntryPath(ObjectType::kPack, std::string(64, 'b'));
  WriteFile(gone, "pruned");
  WriteFile(recent, "not indexed yet");
  Backdate(gone, 2 * 3600);

  auto repo = OpenRepo();  // LoadIndex: no listing of packs, no extra loads
  ASSERT_NE(repo, nullptr);
  EXPECT_EQ(fault_->Calls(FaultBackend::Op::kList), 2);  // keys, index
  EXPECT_FALSE(fs::exists(gone));
  EXPECT_TRUE(fs::exists(recent));
  for (const std::string& f : cached) EXPECT_TRUE(fs::exists(f)) << f;  // still indexed
  EXPECT_EQ(cache_->stats().dropped.load(), 1u);
  repo.reset();

  // Another machine prunes everything: every index file and pack goes.
  for (ObjectType t : {ObjectType::kIndex, ObjectType::kPack, ObjectType::kSnapshot}) {
    auto names = ListNames(mem_, t);
    ASSERT_TRUE(names.ok());
    for (const std::string& n : *names) ASSERT_TRUE(mem_.Remove({t, n}).ok());
  }
  repo = OpenRepo();
  ASSERT_NE(repo, nullptr);
  EXPECT_EQ(repo->index().pack_count(), 0u);
  for (const std::string& f : cached) EXPECT_FALSE(fs::exists(f)) << f;
  EXPECT_TRUE(FilesUnder(cache_dir_ + "/index").empty());        // dropped by the listing
  EXPECT_TRUE(fs::exists(recent));                               // still young
  EXPECT_GE(cache_->stats().dropped.load(), cached.size() + 1);  // + the index file(s)
}

TEST_P(CachingBackendTest, OpenRecordsLastUseAndRepositoryId) {
  const std::string marker = cache_dir_ + "/last-used";
  ASSERT_TRUE(fs::exists(marker));
  Backdate(marker, 40 * 86400);
  auto repo = OpenRepo();
  ASSERT_NE(repo, nullptr);
  struct stat st {};
  ASSERT_EQ(stat(marker.c_str(), &st), 0);
  EXPECT_LT(std::abs(time(nullptr) - st.st_mtime), 60);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadAll(cache_dir_ + "/repository"), repo->config().id);
  EXPECT_NE(ReadAll(tmp_.path() + "/cache/CACHEDIR.TAG")
                .find("Signature: 8a477f597d28d172789f06886806bc55"),
            std::string::npos);
  auto dirs = ListCacheDirs(tmp_.path() + "/cache", true);
  ASSERT_TRUE(dirs.ok());
  EXPECT_TRUE(dirs->empty());  // "repo" is not a name CacheDirFor makes
}

INSTANTIATE_TEST_SUITE_P(StagedAndInMemoryPacks, CachingBackendTest, ::testing::Bool());

TEST(CacheDirTest, DefaultRootAndPerRepositoryDirectory) {
  const char* xdg = getenv("XDG_CACHE_HOME");
  std::string saved = xdg ? xdg : "";
  setenv("XDG_CACHE_HOME", "/x/cache", 1);
  EXPECT_EQ(DefaultCacheRoot(), "/x/cache/lifeboat");
  setenv("XDG_CACHE_HOME", "relative", 1);
  setenv("HOME", "/home/u", 1);
  EXPECT_EQ(DefaultCacheRoot(), "/home/u/.cache/lifeboat");
  if (xdg) {
    setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  } else {
    unsetenv("XDG_CACHE_HOME");
  }
  const std::string a = CacheDirFor("/c", "sftp:user@host:/srv/backup");
  EXPECT_EQ(a.size(), 3u + 32u);
  EXPECT_EQ(a.find("host"), std::string::npos);  // the location is not spelled out
  EXPECT_NE(a, CacheDirFor("/c", "sftp:user@host:/srv/other"));
  EXPECT_EQ(a, CacheDirFor("/c", "sftp:user@host:/srv/backup"));
}

}  // namespace
}  // namespace lifeboat
