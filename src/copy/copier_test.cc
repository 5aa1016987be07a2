// Tests for Copier over in-memory repositories: same and different master
// keys, idempotence, resumption after an injected fault, shared blobs sent
// once, dry run.
#include "copy/copier.h"

#include <gtest/gtest.h>

#include <map>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "model/tree.h"
#include "repo/compression.h"
#include "repo/test_support.h"
#include "restore/tree_walk.h"

namespace lifeboat {
namespace {

using format::BlobType;
using test_support::FastInit;
using test_support::Pattern;

constexpr int64_t kTime = 1700000000123456789;

Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// One repository on a MemBackend that outlives reopenings; every Repository
// goes through a FaultBackend borrowing it, so faults can be injected.
struct TestRepo {
  MemBackend mem;
  FaultBackend* fault = nullptr;  // owned by repo
  std::unique_ptr<Repository> repo;
  std::string password;

  void Init(const std::string& pw, InitOptions options = FastInit()) {
    password = pw;
    auto f = std::make_unique<FaultBackend>(&mem);
    fault = f.get();
    auto r = Repository::Init(std::move(f), pw, options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo = std::move(*r);
  }
  void Reopen() {
    repo.reset();
    auto f = std::make_unique<FaultBackend>(&mem);
    fault = f.get();
    auto r = Repository::Open(std::move(f), password);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo = std::move(*r);
    ASSERT_TRUE(repo->LoadIndex().ok());
    auto adopted = repo->AdoptUnindexedPacks();
    ASSERT_TRUE(adopted.ok()) << adopted.status().ToString();
  }
  size_t ObjectCount() {
    size_t n = 0;
    for (ObjectType t : {ObjectType::kConfig, ObjectType::kKey, ObjectType::kPack,
                         ObjectType::kIndex, ObjectType::kSnapshot, ObjectType::kLock}) {
      EXPECT_TRUE(mem.List(t,
                           [&](const ObjectInfo&) {
                             ++n;
                             return Status::Ok();
                           })
                      .ok());
    }
    return n;
  }
  std::vector<SnapshotEntry> Snapshots() {
    auto s = repo->ListSnapshots();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : std::vector<SnapshotEntry>{};
  }
};

// Builds hand-made trees in a repository.
class Builder {
 public:
  explicit Builder(Repository& repo) : repo_(repo) {}
  Id Chunk(const Bytes& data) {
    Id id = repo_.ComputeBlobId(data);
    auto r = repo_.SaveBlob(BlobType::kData, id, data);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return id;
  }
  Node File(std::string name, const std::vector<Bytes>& chunks) {
    Node n;
    n.name = std::move(name);
    n.type = NodeType::kFile;
    n.mode = 0640;
    n.mtime_ns = kTime;
    for (const Bytes& c : chunks) {
      n.content.push_back(Chunk(c));
      n.size += c.size();
    }
    return n;
  }
  Node Dir(std::string name, std::vector<Node> children) {
    Node n;
    n.name = std::move(name);
    n.type = NodeType::kDir;
    n.mode = 0755;
    n.mtime_ns = kTime;
    n.subtree = TreeOf(std::move(children));
    return n;
  }
  Id TreeOf(std::vector<Node> children) {
    Tree t;
    t.nodes = std::move(children);
    t.Sort();
    Bytes enc = EncodeTree(t);
    Id id = repo_.ComputeBlobId(enc);
    auto r = repo_.SaveBlob(BlobType::kTree, id, enc);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return id;
  }
  Id Snapshot(const Id& tree, int64_t time, std::string host = "web-01") {
    lifeboat::Snapshot s;
    s.time_ns = time;
    s.hostname = std::move(host);
    s.username = "deploy";
    s.paths = {"/srv/app"};
    s.tags = {"daily"};
    s.tree = tree;
    EXPECT_TRUE(repo_.Flush().ok());
    auto id = repo_.SaveSnapshot(s);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return *id;
  }

 private:
  Repository& repo_;
};

// Every node of a snapshot, by path: its metadata (ids cleared) and content.
struct Flat {
  Node node;
  Bytes content;
  bool operator==(const Flat&) const = default;
};
std::map<std::string, Flat> Flatten(Repository& repo, const Id& root) {
  std::map<std::string, Flat> out;
  Status s = WalkTree(repo, root, [&](const std::string& path, const Node& node) {
    Flat f{node, {}};
    for (const Id& id : node.content) {
      LB_ASSIGN_OR_RETURN(Bytes data, repo.LoadBlob(BlobType::kData, id));
      f.content.insert(f.content.end(), data.begin(), data.end());
    }
    f.node.content.clear();
    f.node.subtree.reset();
    out[path] = std::move(f);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

class CopierTest : public ::testing::TestWithParam<bool> {  // param: same master key
 protected:
  void SetUp() override {
    a_.Init("password-a");
    InitOptions bo = FastInit(/*pack_size=*/16 * 1024);  // many packs: faults land midway
    if (GetParam()) bo.master_key = a_.repo->keys().master();
    b_.Init("password-b", bo);
    ASSERT_TRUE(a_.repo->LoadIndex().ok());
    ASSERT_TRUE(b_.repo->LoadIndex().ok());
  }

  // Two snapshots sharing most of their data; returns their ids.
  std::vector<Id> MakeSnapshots() {
    Builder b(*a_.repo);
    shared_ = Pattern(20000, 1);
    Id t1 = b.TreeOf({
        b.File("a.bin", {Pattern(20000, 2), shared_, Pattern(7000, 3)}),
        b.File("empty", {}),
        b.Dir("sub", {b.File("b.txt", {Text("hello world\n")}),
                      b.Dir("deeper", {b.File("c", {shared_})})}),
    });
    Id t2 = b.TreeOf({
        b.File("a.bin", {Pattern(20000, 2), shared_, Pattern(9000, 4)}),
        b.Dir("sub", {b.File("b.txt", {Text("hello world\n")}),
                      b.Dir("deeper", {b.File("c", {shared_})})}),
    });
    return {b.Snapshot(t1, kTime), b.Snapshot(t2, kTime + 1000)};
  }

  Result<CopyResult> Copy(bool dry_run = false) {
    CopyOptions o;
    o.dry_run = dry_run;
    Copier copier(*a_.repo, *b_.repo, o);
    return copier.Run(a_.Snapshots(), b_.Snapshots());
  }

  // Checks that every snapshot of A has one copy in B with the same content.
  void ExpectCopiesEqual() {
    auto sa = a_.Snapshots();
    auto sb = b_.Snapshots();
    ASSERT_EQ(sa.size(), sb.size());
    for (const SnapshotEntry& src : sa) {
      const SnapshotEntry* copy = nullptr;
      for (const SnapshotEntry& e : sb) {
        if (e.snapshot.original == src.id) copy = &e;
      }
      ASSERT_NE(copy, nullptr) << "no copy of " << src.id.Short();
      EXPECT_EQ(copy->snapshot.time_ns, src.snapshot.time_ns);
      EXPECT_EQ(copy->snapshot.hostname, src.snapshot.hostname);
      EXPECT_EQ(copy->snapshot.username, src.snapshot.username);
      EXPECT_EQ(copy->snapshot.paths, src.snapshot.paths);
      EXPECT_EQ(copy->snapshot.tags, src.snapshot.tags);
      EXPECT_FALSE(copy->snapshot.parent.has_value());
      if (GetParam()) {
        EXPECT_EQ(copy->snapshot.tree, src.snapshot.tree);
      } else {
        EXPECT_NE(copy->snapshot.tree, src.snapshot.tree);
      }
      auto fa = Flatten(*a_.repo, src.snapshot.tree);
      auto fb = Flatten(*b_.repo, copy->snapshot.tree);
      EXPECT_FALSE(fa.empty());
      EXPECT_TRUE(fa == fb) << "content of the copy of " << src.id.Short() << " differs";
    }
  }

  TestRepo a_, b_;
  Bytes shared_;
};

TEST_P(CopierTest, CopiesSnapshotsWithIdenticalContent) {
  MakeSnapshots();
  EXPECT_EQ(SameMasterKey(*a_.repo, *b_.repo), GetParam());
  auto r = Copy();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->same_master_key, GetParam());
  EXPECT_EQ(r->snapshots_copied, 2u);
  EXPECT_EQ(r->snapshots_skipped, 0u);
  EXPECT_GT(r->bytes_sent_stored, 0u);
  ExpectCopiesEqual();
  // Reopened from storage (index files, not the in-memory state) it still holds.
  b_.Reopen();
  ExpectCopiesEqual();
}

TEST_P(CopierTest, SharedBlobsAreSentOnce) {
  MakeSnapshots();
  auto r = Copy();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // B started empty: every blob it holds now was sent exactly once.
  EXPECT_EQ(r->blobs_sent, b_.repo->index().blob_count());
  EXPECT_EQ(b_.repo->index().duplicate_count(), 0u);
  // Unique blobs in A: 5 data chunks (2, shared, 3, 4, hello) and the trees
  // (t1, t2, sub, deeper; sub/deeper are equal in both snapshots).
  EXPECT_EQ(r->blobs_sent, a_.repo->index().blob_count());
  EXPECT_EQ(r->blobs_sent, 9u);
}

TEST_P(CopierTest, SecondRunCopiesNothing) {
  MakeSnapshots();
  auto first = Copy();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  b_.Reopen();
  size_t objects = b_.ObjectCount();
  auto second = Copy();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->snapshots_copied, 0u);
  EXPECT_EQ(second->snapshots_skipped, 2u);
  EXPECT_EQ(second->blobs_sent, 0u);
  EXPECT_EQ(second->blobs_read, 0u);
  EXPECT_EQ(b_.ObjectCount(), objects);
  EXPECT_EQ(b_.Snapshots().size(), 2u);
}

TEST_P(CopierTest, NewSnapshotAfterCopySendsOnlyNewData) {
  MakeSnapshots();
  ASSERT_TRUE(Copy().ok());
  Builder b(*a_.repo);
  Id t3 = b.TreeOf({b.File("a.bin", {Pattern(20000, 2), shared_, Pattern(3000, 5)})});
  b.Snapshot(t3, kTime + 2000);
  auto r = Copy();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->snapshots_copied, 1u);
  EXPECT_EQ(r->snapshots_skipped, 2u);
  EXPECT_EQ(r->blobs_sent, 2u);  // the new chunk and the new root tree
  auto root = a_.repo->LoadBlob(BlobType::kTree, t3);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(r->bytes_sent, 3000u + root->size());  // re-encoding keeps the size
  ExpectCopiesEqual();
}

TEST_P(CopierTest, ResumesAfterAFaultWithoutResending) {
  MakeSnapshots();
  size_t total = a_.repo->index().blob_count();
  // The 3rd save into B fails: some packs are stored, then the copy stops.
  b_.fault->FailNext(FaultBackend::Op::kSave, 3, IoError("injected fault: disk gone"));
  auto first = Copy();
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.status().message().find("injected fault"), std::string::npos)
      << first.status().ToString();
  b_.Reopen();  // adopts the packs stored before the fault
  size_t present = b_.repo->index().blob_count();
  EXPECT_GT(present, 0u);
  EXPECT_LT(present, total);
  auto second = Copy();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->blobs_sent, total - present);
  EXPECT_EQ(b_.repo->index().blob_count(), total);
  ExpectCopiesEqual();
  if (GetParam()) {
    // Same key: what B had was not even read again (only trees are walked).
    EXPECT_LT(second->blobs_read, total);
  }
}

TEST_P(CopierTest, DryRunWritesNothing) {
  MakeSnapshots();
  size_t objects = b_.ObjectCount();
  auto r = Copy(/*dry_run=*/true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->snapshots_copied, 2u);
  EXPECT_EQ(r->blobs_sent, 9u);  // what would be sent
  EXPECT_EQ(r->bytes_sent_stored, 0u);
  EXPECT_EQ(b_.ObjectCount(), objects);
  EXPECT_TRUE(b_.Snapshots().empty());
  EXPECT_EQ(b_.repo->index().blob_count(), 0u);
}

TEST_P(CopierTest, CancelStopsTheCopy) {
  MakeSnapshots();
  Copier copier(*a_.repo, *b_.repo, {});
  copier.Cancel();
  auto r = copier.Run(a_.Snapshots(), b_.Snapshots());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCancelled);
  EXPECT_TRUE(b_.Snapshots().empty());
}

INSTANTIATE_TEST_SUITE_P(Keys, CopierTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "SameKey" : "DifferentKeys"; });

// Text that compresses well: its blobs are stored as zstd frames.
Bytes Compressible(size_t n, uint32_t seed) {
  Bytes out;
  uint32_t x = seed;
  while (out.size() < n) {
    x = x * 1664525u + 1013904223u;
    std::string line = "row " + std::to_string(x >> 20) + ", status ok, lifeboat\n";
    out.insert(out.end(), line.begin(), line.end());
  }
  out.resize(n);
  return out;
}

// Same master key: data blobs keep their stored form (no recompression), so
// the destination's index entries match the source's.
TEST(CopierSameKeyTest, CompressedBlobsAreCopiedAsStored) {
  TestRepo a, b;
  a.Init("password-a");
  InitOptions bo = FastInit();
  bo.master_key = a.repo->keys().master();
  bo.compression_level = 19;  // not applied to blobs copied as stored
  b.Init("password-b", bo);
  ASSERT_TRUE(a.repo->LoadIndex().ok());
  ASSERT_TRUE(b.repo->LoadIndex().ok());
  Builder build(*a.repo);
  Node file =
      build.File("log.csv", {Compressible(30000, 1), Compressible(30000, 2), Pattern(20000, 3)});
  build.Snapshot(build.TreeOf({file}), kTime);
  Copier copier(*a.repo, *b.repo, CopyOptions{});
  auto result = copier.Run(a.Snapshots(), b.Snapshots());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->same_master_key);
  EXPECT_EQ(result->blobs_sent, 4u);      // three chunks and the tree
  EXPECT_GT(result->bytes_read, 80000u);  // the chunks and the tree
  EXPECT_LT(result->bytes_read, 81000u);
  size_t compressed = 0;
  for (const Id& id : file.content) {
    auto src = a.repo->index().Find(BlobType::kData, id);
    auto dst = b.repo->index().Find(BlobType::kData, id);
    ASSERT_TRUE(src && dst);
    EXPECT_EQ(dst->blob.compression, src->blob.compression);
    EXPECT_EQ(dst->blob.length, src->blob.length);
    EXPECT_EQ(dst->blob.raw_length, src->blob.raw_length);
    compressed += src->blob.compression == format::Compression::kZstd;
  }
  EXPECT_EQ(compressed, 2u);
  auto sb = b.Snapshots();
  ASSERT_EQ(sb.size(), 1u);
  EXPECT_TRUE(Flatten(*a.repo, a.Snapshots()[0].snapshot.tree) ==
              Flatten(*b.repo, sb[0].snapshot.tree));
}

// A blob whose bytes authenticate but do not hash to its id (a writer's bug)
// is refused by a verifying copy, and carried over by one that does not.
TEST(CopierSameKeyTest, VerificationRefusesABlobThatDoesNotMatchItsId) {
  for (bool verify : {true, false}) {
    SCOPED_TRACE(verify ? "verify" : "no verify");
    TestRepo a, b;
    a.Init("password-a");
    InitOptions bo = FastInit();
    bo.master_key = a.repo->keys().master();
    b.Init("password-b", bo);
    ASSERT_TRUE(a.repo->LoadIndex().ok());
    ASSERT_TRUE(b.repo->LoadIndex().ok());
    const Bytes real = Compressible(30000, 7);
    const Id claimed = a.repo->ComputeBlobId(Compressible(30000, 8));
    StoredBlob bad;
    ASSERT_TRUE(CompressForStorage(real, 3, &bad.data));
    bad.compression = format::Compression::kZstd;
    bad.raw_length = static_cast<uint32_t>(real.size());
    auto saved = a.repo->SaveStoredBlob(BlobType::kData, claimed, bad, /*verify_id=*/false);
    ASSERT_TRUE(saved.ok() && *saved);
    Builder build(*a.repo);
    Node file;
    file.name = "bad";
    file.type = NodeType::kFile;
    file.size = real.size();
    file.content = {claimed};
    build.Snapshot(build.TreeOf({file}), kTime);

    CopyOptions options;
    options.verify_blobs = verify;
    Copier copier(*a.repo, *b.repo, options);
    auto result = copier.Run(a.Snapshots(), b.Snapshots());
    if (verify) {
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.status().code(), Code::kCorrupt);
      EXPECT_NE(result.status().message().find("does not match its id"), std::string::npos)
          << result.status().message();
      EXPECT_TRUE(b.Snapshots().empty());
    } else {
      ASSERT_TRUE(result.ok()) << result.status().ToString();
      EXPECT_EQ(b.Snapshots().size(), 1u);
    }
  }
}

TEST(KeyFingerprintTest, DiffersBetweenRepositoriesAndRevealsNoKey) {
  TestRepo a, b;
  a.Init("x");
  b.Init("y");
  EXPECT_NE(KeyFingerprint(*a.repo), KeyFingerprint(*b.repo));
  EXPECT_FALSE(SameMasterKey(*a.repo, *b.repo));
  EXPECT_NE(KeyFingerprint(*a.repo).Hex(), HexEncode(a.repo->keys().master().View()));
}

TEST(SnapshotOriginalTest, RoundTrips) {
  Snapshot s;
  s.time_ns = kTime;
  s.tree = Id{};
  auto decoded = DecodeSnapshot(EncodeSnapshot(s));
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->original.has_value());
  Id orig;
  orig.bytes[0] = 0xab;
  s.original = orig;
  std::string doc = EncodeSnapshot(s);
  EXPECT_NE(doc.find("\"original\":\"ab00"), std::string::npos) << doc;
  decoded = DecodeSnapshot(doc);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->original, orig);
  EXPECT_FALSE(DecodeSnapshot(R"({"time":"2026-01-01T00:00:00Z","tree":")" + std::string(64, '0') +
                              R"(","original":"xyz"})")
                   .ok());
}

}  // namespace
}  // namespace lifeboat
