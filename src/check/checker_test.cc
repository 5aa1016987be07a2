#include "check/checker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <set>

#include "backend/test_remote_view.h"
#include "check/test_repo.h"
#include "crypto/hash.h"

namespace lifeboat {
namespace {

using testing_repo::AddSnapshot;
using testing_repo::MemRepo;
using testing_repo::Pattern;
using testing_repo::SnapshotBlobs;

std::string Dump(const CheckReport& r) {
  std::string out;
  for (const Finding& f : r.findings) out += f.ToString() + "\n";
  return out;
}

// Findings whose object and message contain the given texts.
size_t Count(const CheckReport& r, Severity sev, std::string_view object, std::string_view text) {
  size_t n = 0;
  for (const Finding& f : r.findings) {
    if (f.severity == sev && f.object.find(object) != std::string::npos &&
        f.message.find(text) != std::string::npos)
      ++n;
  }
  return n;
}

// Hands out each object 997 bytes at a time through LoadInPieces, the bytes
// not yet "read" holding garbage, so a blob verified before all of it is in
// fails; the read of `fail_pack` breaks once `fail_at` bytes are in.
struct PieceView : Backend {
  explicit PieceView(Backend* inner) : inner(inner) {}
  std::string Location() const override { return "piece view"; }
  BackendCapabilities Capabilities() const override { return inner->Capabilities(); }
  Status Create() override { return inner->Create(); }
  Status Save(const ObjectName& n, ByteView d) override { return inner->Save(n, d); }
  Result<Bytes> Load(const ObjectName& n, uint64_t o, uint64_t l) override {
    return inner->Load(n, o, l);
  }
  Status LoadInPieces(const ObjectName& n, RawBuffer* out,
                      const std::function<Status(size_t)>& on_loaded) override {
    LB_ASSIGN_OR_RETURN(Bytes whole, inner->Load(n));
    out->Clear();
    std::memset(out->Grow(whole.size()), 0xEE, whole.size());
    for (size_t done = 0; done < whole.size();) {
      if (n.name == fail_pack && done >= fail_at) return IoError("connection reset");
      const size_t piece = std::min<size_t>(997, whole.size() - done);
      std::memcpy(out->data() + done, whole.data() + done, piece);
      done += piece;
      ++pieces;
      LB_RETURN_IF_ERROR(on_loaded(done));
    }
    return Status::Ok();
  }
  Result<uint64_t> Stat(const ObjectName& n) override { return inner->Stat(n); }
  Status Remove(const ObjectName& n) override { return inner->Remove(n); }
  Status List(ObjectType t, const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner->List(t, fn);
  }
  Backend* inner;
  std::atomic<int> pieces{0};
  std::string fail_pack;  // set before a check, read only during it
  size_t fail_at = 0;
};

class CheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mr_.Init().ok());
    // Snapshot 1: a few files in nested folders; snapshot 2 shares most of it
    // and adds a file of its own.
    files_ = {{"a.txt", Pattern(20000, 1)},
              {"etc/b.conf", Pattern(9000, 2)},
              {"etc/deep/c.bin", Pattern(30000, 3)},
              {"empty", {}}};
    auto s1 = AddSnapshot(repo(), files_, 1000, &blobs1_);
    ASSERT_TRUE(s1.ok()) << s1.status().ToString();
    snap1_ = *s1;
    auto files2 = files_;
    files2.push_back({"etc/new.log", Pattern(25000, 4)});
    auto s2 = AddSnapshot(repo(), files2, 2000, &blobs2_);
    ASSERT_TRUE(s2.ok()) << s2.status().ToString();
    snap2_ = *s2;
  }

  Repository& repo() { return mr_.repo(); }

  CheckReport Check(bool read_data = false, ReadDataSubset subset = {}) {
    CheckOptions o;
    o.read_data = read_data;
    o.read_data_subset = subset;
    o.threads = 2;
    auto r = CheckRepository(repo(), o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : CheckReport{};
  }

  // Rewrites the pack holding `blob` with one byte flipped inside the blob.
  std::string FlipByteInBlob(format::BlobType type, const Id& blob) {
    auto loc = repo().index().Find(type, blob);
    EXPECT_TRUE(loc.has_value());
    if (!loc) return "";
    std::string name = loc->pack_id.Hex();
    auto bytes = mr_.mem().Load({ObjectType::kPack, name});
    EXPECT_TRUE(bytes.ok());
    (*bytes)[loc->blob.offset + loc->blob.length / 2] ^= 0x10;
    EXPECT_TRUE(mr_.mem().Save({ObjectType::kPack, name}, *bytes).ok());
    return name;
  }

  MemRepo mr_;
  std::vector<testing_repo::TestFile> files_;
  SnapshotBlobs blobs1_, blobs2_;
  Id snap1_, snap2_;
};

TEST_F(CheckerTest, CleanRepositoryPasses) {
  CheckReport structure = Check();
  EXPECT_TRUE(structure.ok()) << Dump(structure);
  EXPECT_TRUE(structure.findings.empty()) << Dump(structure);
  EXPECT_EQ(structure.snapshots, 2u);
  EXPECT_EQ(structure.index_files, 4u);  // one per Flush
  std::set<Id> data(blobs2_.data.begin(), blobs2_.data.end());
  EXPECT_EQ(structure.blobs, data.size());
  // root, etc, etc/deep for each snapshot; etc/deep is shared.
  EXPECT_EQ(structure.trees, 5u);
  EXPECT_EQ(structure.packs_read, 0u);
  EXPECT_GE(structure.packs, 2u);

  CheckProgress progress;
  CheckOptions o;
  o.read_data = true;
  auto full = CheckRepository(repo(), o, &progress);
  ASSERT_TRUE(full.ok());
  EXPECT_TRUE(full->findings.empty()) << Dump(*full);
  EXPECT_EQ(full->packs_read, full->packs);
  EXPECT_EQ(progress.packs_total.load(), full->packs);
  EXPECT_EQ(progress.packs_done.load(), full->packs);
  EXPECT_EQ(progress.bytes_done.load(), full->bytes_read);
  uint64_t stored = 0;
  mr_.mem()
      .List(ObjectType::kPack,
            [&](const ObjectInfo& i) {
              stored += i.size;
              return Status::Ok();
            })
      .IgnoreError();
  EXPECT_EQ(full->bytes_read, stored);
}

TEST_F(CheckerTest, FlippedByteInPackNeedsReadData) {
  std::string pack = FlipByteInBlob(format::BlobType::kData, blobs1_.data[0]);
  CheckReport structure = Check();
  EXPECT_TRUE(structure.ok()) << "a flipped byte keeps the size: " << Dump(structure);

  CheckReport full = Check(true);
  EXPECT_FALSE(full.ok());
  EXPECT_EQ(Count(full, Severity::kError, "data/" + pack, "does not match its name"), 1u)
      << Dump(full);
  EXPECT_EQ(Count(full, Severity::kError, "data/" + pack, "authentication"), 1u) << Dump(full);
  // The damaged blob is traced back to the file and both snapshots using it.
  EXPECT_EQ(Count(full, Severity::kError, "data blob " + blobs1_.data[0].Short(), "/a.txt"), 1u)
      << Dump(full);
  EXPECT_EQ(Count(full, Severity::kError, "snapshot " + snap1_.Short(), "cannot be restored"), 1u);
  EXPECT_EQ(Count(full, Severity::kError, "snapshot " + snap2_.Short(), "cannot be restored"), 1u);
}

TEST_F(CheckerTest, DeletedPackIsAnError) {
  // The pack holding snapshot 2's own file.
  Id only2 = blobs2_.data.back();
  auto loc = repo().index().Find(format::BlobType::kData, only2);
  ASSERT_TRUE(loc);
  ASSERT_TRUE(mr_.mem().Remove({ObjectType::kPack, loc->pack_id.Hex()}).ok());
  CheckReport r = Check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Count(r, Severity::kError, "data/" + loc->pack_id.Hex(), "pack is missing"), 1u)
      << Dump(r);
  EXPECT_GE(Count(r, Severity::kError, "data blob", "is missing"), 1u) << Dump(r);
  EXPECT_EQ(Count(r, Severity::kError, "snapshot " + snap2_.Short(), "cannot be restored"), 1u)
      << Dump(r);
}

TEST_F(CheckerTest, DeletedIndexFileLeavesBlobsUnindexed) {
  // Remove the index file listing the pack of snapshot 2's new data.
  auto index_names = mr_.Names(ObjectType::kIndex);
  ASSERT_EQ(index_names.size(), 4u);
  auto loc = repo().index().Find(format::BlobType::kData, blobs2_.data.back());
  ASSERT_TRUE(loc);
  std::string victim;
  for (const std::string& name : index_names) {
    auto f = repo().LoadIndexFile(*Id::FromHex(name));
    ASSERT_TRUE(f.ok());
    for (const IndexedPack& p : f->packs)
      if (p.id == loc->pack_id) victim = name;
  }
  ASSERT_FALSE(victim.empty());
  ASSERT_TRUE(mr_.mem().Remove({ObjectType::kIndex, victim}).ok());

  CheckReport r = Check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Count(r, Severity::kError, "data blob " + blobs2_.data.back().Short(),
                  "snapshot " + snap2_.Short()),
            1u)
      << Dump(r);
  EXPECT_EQ(Count(r, Severity::kError, "data blob", "/etc/new.log"),
            Count(r, Severity::kError, "data blob", ""))
      << "only the new file's blobs are lost: " << Dump(r);
  EXPECT_EQ(Count(r, Severity::kError, "snapshot " + snap2_.Short(), "cannot be restored"), 1u);
  EXPECT_EQ(Count(r, Severity::kError, "snapshot " + snap1_.Short(), ""), 0u) << Dump(r);
  EXPECT_GE(Count(r, Severity::kWarning, "data/" + loc->pack_id.Hex(), "unreferenced pack"), 1u);
}

TEST_F(CheckerTest, CorruptedIndexFileIsAnError) {
  auto index_names = mr_.Names(ObjectType::kIndex);
  auto bytes = mr_.mem().Load({ObjectType::kIndex, index_names[0]});
  ASSERT_TRUE(bytes.ok());
  bytes->back() ^= 1;
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kIndex, index_names[0]}, *bytes).ok());
  CheckReport r = Check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Count(r, Severity::kError, "index/" + index_names[0], "unable to load"), 1u) << Dump(r);
  EXPECT_GE(Count(r, Severity::kWarning, "data/", "unreferenced"), 1u);
}

TEST_F(CheckerTest, CorruptedSnapshotFile) {
  auto bytes = mr_.mem().Load({ObjectType::kSnapshot, snap1_.Hex()});
  ASSERT_TRUE(bytes.ok());
  (*bytes)[bytes->size() / 2] ^= 0x01;
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kSnapshot, snap1_.Hex()}, *bytes).ok());
  CheckReport r = Check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Count(r, Severity::kError, "snapshot " + snap1_.Short(), "unable to load"), 1u)
      << Dump(r);
  EXPECT_EQ(r.errors(), 1u) << Dump(r);
  EXPECT_EQ(r.snapshots, 2u);
}

TEST_F(CheckerTest, TruncatedPackIsFoundWithoutReadingData) {
  auto loc = repo().index().Find(format::BlobType::kData, blobs1_.data[0]);
  ASSERT_TRUE(loc);
  auto bytes = mr_.mem().Load({ObjectType::kPack, loc->pack_id.Hex()});
  ASSERT_TRUE(bytes.ok());
  bytes->resize(bytes->size() - 100);
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kPack, loc->pack_id.Hex()}, *bytes).ok());
  CheckReport r = Check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Count(r, Severity::kError, "data/" + loc->pack_id.Hex(), "truncated"), 1u) << Dump(r);

  CheckReport full = Check(true);
  EXPECT_GE(Count(full, Severity::kError, "data/" + loc->pack_id.Hex(), "trailer"), 1u)
      << Dump(full);
}

TEST_F(CheckerTest, CorruptedTreeBlob) {
  // blobs1_.trees: etc/deep, etc, root. Damage "etc" (shared by both snapshots).
  ASSERT_EQ(blobs1_.trees.size(), 3u);
  Id etc = blobs1_.trees[1];
  FlipByteInBlob(format::BlobType::kTree, etc);
  CheckReport r = Check();
  EXPECT_FALSE(r.ok());
  // Snapshot 2's "etc" differs (it has new.log), so only snapshot 1 is hit.
  EXPECT_EQ(Count(r, Severity::kError, "tree " + etc.Short(), "authentication"), 1u) << Dump(r);
  EXPECT_EQ(Count(r, Severity::kError, "tree " + etc.Short(), "/etc in snapshot " + snap1_.Short()),
            1u)
      << Dump(r);
  EXPECT_EQ(Count(r, Severity::kError, "snapshot " + snap1_.Short(), "cannot be restored"), 1u);
  EXPECT_EQ(Count(r, Severity::kError, "snapshot " + snap2_.Short(), ""), 0u) << Dump(r);
}

TEST_F(CheckerTest, UnreferencedPackIsOnlyAWarning) {
  PackWriter w(repo().keys());
  Bytes b = Pattern(3000, 99);
  ASSERT_TRUE(
      w.Add(format::BlobType::kData, repo().ComputeBlobId(b), format::Compression::kNone, b, 3000)
          .ok());
  auto p_finished = w.Finish();
  ASSERT_TRUE(p_finished.ok());
  FinishedPack p = std::move(*p_finished);
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kPack, p.id.Hex()}, p.data).ok());
  CheckReport r = Check(true);
  EXPECT_TRUE(r.ok()) << Dump(r);
  ASSERT_EQ(r.findings.size(), 1u) << Dump(r);
  EXPECT_EQ(r.findings[0].severity, Severity::kWarning);
  EXPECT_EQ(r.findings[0].object, "data/" + p.id.Hex());
  EXPECT_NE(r.findings[0].message.find("unreferenced pack"), std::string::npos);
  EXPECT_EQ(r.warnings(), 1u);
}

// On a remote store (a few connections, a round trip per read) the trees are
// read ahead of the walk by several threads at once; the report is the same,
// finding for finding, as the one from the local store. One tree is damaged,
// so the findings' order and wording are compared too.
TEST_F(CheckerTest, TreesOfARemoteStoreAreReadAheadWithTheSameFindings) {
  // Ten more snapshots, each with folders of its own two and three deep.
  SnapshotBlobs damaged_snapshot;
  for (int i = 0; i < 10; ++i) {
    std::vector<testing_repo::TestFile> files = files_;
    const std::string d = "d" + std::to_string(i);
    files.push_back({d + "/x/file", Pattern(5000, 10 + i)});
    files.push_back({d + "/y/z/file", Pattern(6000, 30 + i)});
    files.push_back({d + "/w", Pattern(7000, 50 + i)});
    auto id = AddSnapshot(repo(), files, 3000 + i, i == 4 ? &damaged_snapshot : nullptr);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
  }
  // d4/y (second of the snapshot's trees, stored deepest first: y/z, y, x, ...).
  ASSERT_GE(damaged_snapshot.trees.size(), 2u);
  FlipByteInBlob(format::BlobType::kTree, damaged_snapshot.trees[1]);

  CheckReport local = Check();
  EXPECT_FALSE(local.ok());
  EXPECT_EQ(Count(local, Severity::kError, "tree " + damaged_snapshot.trees[1].Short(), ""), 1u)
      << Dump(local);

  TestRemoteView remote(&mr_.mem(),
                        [](const ObjectName& n) { return n.type == ObjectType::kPack; });
  auto reopened = mr_.Reopen(&remote);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  CheckOptions o;
  o.threads = 2;
  auto far = CheckRepository(**reopened, o);
  ASSERT_TRUE(far.ok()) << far.status().ToString();
  EXPECT_EQ(Dump(*far), Dump(local));
  EXPECT_EQ(far->trees, local.trees);
  EXPECT_EQ(far->snapshots, 12u);
  EXPECT_GT(remote.max_in_flight.load(), 1);
  EXPECT_EQ(remote.reads.load(), static_cast<int>(far->trees));  // each tree read once
  // The readers, plus the walk reading a tree it was not ahead for.
  EXPECT_LE(remote.max_in_flight.load(), static_cast<int>((*reopened)->MetadataThreads()) + 1);
}

TEST_F(CheckerTest, PacksReadInPiecesGiveTheSameFindings) {
  // A flipped byte in one blob and a pack cut short (blobs past its end).
  const std::string flipped = FlipByteInBlob(format::BlobType::kData, blobs1_.data[0]);
  auto loc = repo().index().Find(format::BlobType::kData, blobs2_.data.back());
  ASSERT_TRUE(loc);
  ASSERT_NE(loc->pack_id.Hex(), flipped);
  auto bytes = mr_.mem().Load({ObjectType::kPack, loc->pack_id.Hex()});
  ASSERT_TRUE(bytes.ok());
  bytes->resize(loc->blob.offset + loc->blob.length / 2);
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kPack, loc->pack_id.Hex()}, *bytes).ok());

  CheckReport whole = Check(true);
  EXPECT_EQ(Count(whole, Severity::kError, "data/" + flipped, "authentication"), 1u) << Dump(whole);
  EXPECT_GE(Count(whole, Severity::kError, "data/" + loc->pack_id.Hex(), "beyond the end"), 1u)
      << Dump(whole);

  // Straight onto the store: the test repository's own wrapper would load
  // through Load.
  auto view = std::make_unique<PieceView>(&mr_.mem());
  PieceView* viewed = view.get();
  auto reopened = Repository::Open(std::move(view), "secret");
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  ASSERT_TRUE((*reopened)->LoadIndex().ok());
  CheckOptions o;
  o.read_data = true;
  o.threads = 2;
  auto pieces = CheckRepository(**reopened, o);
  ASSERT_TRUE(pieces.ok()) << pieces.status().ToString();
  // The same findings; two packs checked at once may interleave theirs.
  auto sorted_lines = [](const CheckReport& r) {
    std::multiset<std::string> lines;
    for (const Finding& f : r.findings) lines.insert(f.ToString());
    return lines;
  };
  EXPECT_EQ(sorted_lines(*pieces), sorted_lines(whole)) << Dump(*pieces) << "\n" << Dump(whole);
  EXPECT_EQ(pieces->bytes_read, whole.bytes_read);
  EXPECT_GT(viewed->pieces.load(), static_cast<int>(2 * pieces->packs_read));
}

// A read that breaks part-way reports only that: the blobs verified before
// it are not reported (as when a whole read failed), even a damaged one.
TEST_F(CheckerTest, APackWhoseReadBreaksPartWayIsOnlyUnreadable) {
  const std::string flipped = FlipByteInBlob(format::BlobType::kData, blobs1_.data[0]);
  auto loc = repo().index().Find(format::BlobType::kData, blobs1_.data[0]);
  ASSERT_TRUE(loc);
  auto view = std::make_unique<PieceView>(&mr_.mem());
  view->fail_pack = flipped;
  view->fail_at = loc->blob.offset + loc->blob.length + 997;  // the damaged blob was verified
  auto reopened = Repository::Open(std::move(view), "secret");
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  ASSERT_TRUE((*reopened)->LoadIndex().ok());
  CheckOptions o;
  o.read_data = true;
  auto r = CheckRepository(**reopened, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Count(*r, Severity::kError, "data/" + flipped, "unable to read: connection reset"), 1u)
      << Dump(*r);
  EXPECT_EQ(Count(*r, Severity::kError, "data/" + flipped, ""), 1u) << Dump(*r);
  EXPECT_EQ(Count(*r, Severity::kError, "data blob " + blobs1_.data[0].Short(), ""), 0u)
      << Dump(*r);
  EXPECT_EQ(r->packs_read + 1, r->packs);
}

TEST_F(CheckerTest, DamagedConfigAndKeyFile) {
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kConfig, "config"}, AsBytes("garbage")).ok());
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kKey, "badkey"}, AsBytes("{not json")).ok());
  CheckReport r = Check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Count(r, Severity::kError, "config", ""), 1u) << Dump(r);
  EXPECT_EQ(Count(r, Severity::kError, "keys/badkey", "malformed"), 1u) << Dump(r);
  EXPECT_EQ(r.errors(), 2u) << Dump(r);
}

TEST_F(CheckerTest, ManyDamagesAreAllReported) {
  // A damaged tree, a deleted pack and a damaged snapshot at once.
  FlipByteInBlob(format::BlobType::kTree, blobs1_.trees[1]);
  auto loc = repo().index().Find(format::BlobType::kData, blobs2_.data.back());
  ASSERT_TRUE(mr_.mem().Remove({ObjectType::kPack, loc->pack_id.Hex()}).ok());
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kSnapshot, snap2_.Hex()}, AsBytes("x")).ok());
  CheckReport r = Check();
  EXPECT_GE(Count(r, Severity::kError, "tree ", ""), 1u) << Dump(r);
  EXPECT_EQ(Count(r, Severity::kError, "data/", "pack is missing"), 1u) << Dump(r);
  EXPECT_EQ(Count(r, Severity::kError, "snapshot " + snap2_.Short(), "unable to load"), 1u);
}

// Every pack damaged: read-data's findings come grouped by pack, in the same
// order whether one thread reads the packs or many, run after run.
TEST_F(CheckerTest, ReadDataFindingsDoNotDependOnTheThreads) {
  std::vector<std::string> packs;
  ASSERT_TRUE(mr_.mem()
                  .List(ObjectType::kPack,
                        [&](const ObjectInfo& o) {
                          packs.push_back(o.name);
                          return Status::Ok();
                        })
                  .ok());
  ASSERT_GE(packs.size(), 3u);
  for (const std::string& name : packs) {
    auto bytes = mr_.mem().Load({ObjectType::kPack, name});
    ASSERT_TRUE(bytes.ok());
    (*bytes)[bytes->size() / 3] ^= 0x01;
    ASSERT_TRUE(mr_.mem().Save({ObjectType::kPack, name}, *bytes).ok());
  }
  CheckOptions o;
  o.read_data = true;
  o.threads = 1;
  auto one = CheckRepository(repo(), o);
  ASSERT_TRUE(one.ok());
  for (const std::string& name : packs) {
    EXPECT_EQ(Count(*one, Severity::kError, "data/" + name, "does not match its name"), 1u)
        << Dump(*one);
  }
  // Grouped: once the findings move on from a pack, it does not come back.
  std::vector<std::string> order;
  for (const Finding& f : one->findings) {
    if (f.object.rfind("data/", 0) != 0) continue;
    if (order.empty() || order.back() != f.object) order.push_back(f.object);
  }
  EXPECT_EQ(order.size(), packs.size()) << Dump(*one);
  for (int round = 0; round < 10; ++round) {
    o.threads = 8;
    auto many = CheckRepository(repo(), o);
    ASSERT_TRUE(many.ok());
    EXPECT_EQ(Dump(*many), Dump(*one)) << "round " << round;
  }
}

TEST_F(CheckerTest, ReadDataSubsetGroupsCoverEveryPackOnce) {
  size_t total = 0;
  for (uint32_t n = 1; n <= 2; ++n) {
    ReadDataSubset s;
    s.group = n;
    s.groups = 2;
    CheckReport r = Check(true, s);
    EXPECT_TRUE(r.ok()) << Dump(r);
    total += r.packs_read;
  }
  EXPECT_EQ(total, Check().packs);
}

TEST(ReadDataSubsetTest, Parse) {
  auto g = ParseReadDataSubset("2/5");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->group, 2u);
  EXPECT_EQ(g->groups, 5u);
  EXPECT_EQ(g->ToString(), "2/5");
  auto p = ParseReadDataSubset("10%");
  ASSERT_TRUE(p.ok());
  EXPECT_DOUBLE_EQ(p->fraction, 0.1);
  EXPECT_EQ(p->ToString(), "10%");
  auto f = ParseReadDataSubset("0.25");
  ASSERT_TRUE(f.ok());
  EXPECT_DOUBLE_EQ(f->fraction, 0.25);
  EXPECT_TRUE(ParseReadDataSubset("100%")->all());
  EXPECT_TRUE(ParseReadDataSubset("1/1")->all());
  EXPECT_FALSE(ParseReadDataSubset("1/2")->all());
  for (const char* bad : {"", "0/5", "6/5", "1/0", "a/b", "1/", "/2", "0%", "101%", "0", "1.5",
                          "-0.5", "%", "1/2/3", "10 %", "abc"}) {
    auto r = ParseReadDataSubset(bad);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << "'" << bad << "'";
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(bad), std::string::npos);
      EXPECT_FALSE(r.status().hint().empty());
    }
  }
}

TEST(ReadDataSubsetTest, SelectionIsAPartitionAndFractionIsRoughlyRight) {
  std::vector<Id> ids;
  for (int i = 0; i < 3000; ++i) ids.push_back(Sha256(AsBytes(std::to_string(i))));
  for (uint32_t m : {1u, 2u, 3u, 7u}) {
    for (const Id& id : ids) {
      int hits = 0;
      for (uint32_t n = 1; n <= m; ++n)
        hits += ParseReadDataSubset(std::to_string(n) + "/" + std::to_string(m))->Selects(id);
      ASSERT_EQ(hits, 1) << m;
    }
  }
  ReadDataSubset tenth = *ParseReadDataSubset("10%");
  size_t selected = 0;
  for (const Id& id : ids) selected += tenth.Selects(id);
  EXPECT_GT(selected, 200u);
  EXPECT_LT(selected, 400u);
  // Deterministic, and a larger fraction selects a superset.
  ReadDataSubset half = *ParseReadDataSubset("0.5");
  for (const Id& id : ids) {
    EXPECT_EQ(tenth.Selects(id), tenth.Selects(id));
    if (tenth.Selects(id)) {
      EXPECT_TRUE(half.Selects(id));
    }
  }
  ReadDataSubset all;
  for (const Id& id : ids) EXPECT_TRUE(all.Selects(id));
}

}  // namespace
}  // namespace lifeboat
