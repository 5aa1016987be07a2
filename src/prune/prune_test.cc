#include "prune/prune.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>

#include "backend/locking_backend.h"
#include "check/checker.h"
#include "check/test_repo.h"
#include "repo/lock.h"

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

// Every object name of every type, for "nothing changed" comparisons.
std::map<ObjectType, std::set<std::string>> AllObjects(MemRepo& mr) {
  std::map<ObjectType, std::set<std::string>> out;
  for (ObjectType t : {ObjectType::kConfig, ObjectType::kKey, ObjectType::kPack, ObjectType::kIndex,
                       ObjectType::kSnapshot, ObjectType::kLock}) {
    auto names = mr.Names(t);
    out[t] = std::set<std::string>(names.begin(), names.end());
  }
  return out;
}

class PruneTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mr_.Init().ok()); }

  // Snapshot A: shared + only_a; snapshot B: shared + only_b. 4 KiB chunks,
  // 64 KiB packs: A's data packs mix shared and A-only blobs.
  void TwoSnapshots() {
    auto a = AddSnapshot(repo(), {{"shared", Pattern(40000, 1)}, {"z_only_a", Pattern(90000, 2)}},
                         1000, &blobs_a_);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    snap_a_ = *a;
    auto b = AddSnapshot(repo(), {{"shared", Pattern(40000, 1)}, {"z_only_b", Pattern(30000, 3)}},
                         2000, &blobs_b_);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    snap_b_ = *b;
  }

  Repository& repo() { return mr_.repo(); }

  // Runs a full check (read-data) on a freshly opened repository.
  CheckReport CheckNow() {
    auto fresh = Repository::Open(mr_.View(), "secret");
    EXPECT_TRUE(fresh.ok()) << fresh.status().ToString();
    if (!fresh.ok()) return {};
    CheckOptions o;
    o.read_data = true;
    o.threads = 2;
    auto r = CheckRepository(**fresh, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : CheckReport{};
  }

  // Every blob of `blobs` loads from a freshly opened repository.
  void ExpectAllLoad(const SnapshotBlobs& blobs) {
    auto fresh = mr_.Reopen();
    ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
    for (const Id& id : blobs.data) {
      auto b = (*fresh)->LoadBlob(format::BlobType::kData, id);
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      EXPECT_EQ((*fresh)->ComputeBlobId(*b), id);
    }
    for (const Id& id : blobs.trees) {
      EXPECT_TRUE((*fresh)->LoadBlob(format::BlobType::kTree, id).ok());
    }
  }

  std::vector<Id> OnlyIn(const SnapshotBlobs& a, const SnapshotBlobs& b) {
    std::set<Id> in_b(b.data.begin(), b.data.end());
    std::vector<Id> out;
    for (const Id& id : a.data)
      if (!in_b.count(id)) out.push_back(id);
    return out;
  }

  uint64_t StoredPackBytes() {
    uint64_t total = 0;
    mr_.mem()
        .List(ObjectType::kPack,
              [&](const ObjectInfo& o) {
                total += o.size;
                return Status::Ok();
              })
        .IgnoreError();
    return total;
  }

  MemRepo mr_;
  SnapshotBlobs blobs_a_, blobs_b_;
  Id snap_a_, snap_b_;
};

TEST_F(PruneTest, ForgetThenPruneFreesUniqueData) {
  TwoSnapshots();
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a_).ok());
  uint64_t before = StoredPackBytes();
  std::vector<std::string> log;
  auto r = Prune(repo(), {}, [&](std::string_view l) { log.emplace_back(l); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const PrunePlan& plan = r->plan;
  EXPECT_GE(plan.packs_delete, 2u);  // A's tree pack and a pack of A-only data
  EXPECT_EQ(plan.packs_repack, 1u);  // the pack mixing shared and A-only data
  EXPECT_EQ(plan.bytes_unused_after, 0u);
  EXPECT_EQ(plan.blobs_used, std::set<Id>(blobs_b_.data.begin(), blobs_b_.data.end()).size() +
                                 blobs_b_.trees.size());
  EXPECT_EQ(r->packs_written, 1u);
  EXPECT_FALSE(r->new_index_files.empty());
  EXPECT_EQ(r->index_files_deleted, plan.index_files);
  EXPECT_FALSE(log.empty());
  uint64_t after = StoredPackBytes();
  EXPECT_LT(after, before);
  EXPECT_EQ(before - after, r->bytes_freed);
  // ~90 KB of A-only data went away.
  EXPECT_GT(r->bytes_freed, 85000u);
  EXPECT_EQ(mr_.Names(ObjectType::kIndex).size(), r->new_index_files.size());
  EXPECT_TRUE(mr_.Names(ObjectType::kLock).empty()) << "the lock is released";

  CheckReport check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(blobs_b_);
  auto fresh = mr_.Reopen();
  ASSERT_TRUE(fresh.ok());
  for (const Id& id : OnlyIn(blobs_a_, blobs_b_)) {
    EXPECT_FALSE((*fresh)->HasBlob(format::BlobType::kData, id));
  }
  EXPECT_EQ((*fresh)->index().blob_count(), plan.blobs_used);

  // A second prune has nothing to do.
  auto again = Prune(**fresh, {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->plan.nothing_to_do());
  EXPECT_EQ(again->plan.bytes_unused, 0u);
}

TEST_F(PruneTest, PruneWithoutForgetChangesNothing) {
  TwoSnapshots();
  auto before = AllObjects(mr_);
  auto r = Prune(repo(), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->plan.nothing_to_do());
  EXPECT_EQ(r->plan.bytes_unused, 0u);
  EXPECT_EQ(AllObjects(mr_), before);
}

// Index files are loaded on several threads: with two of them damaged, the
// error names the first by name (not whichever thread failed first), and
// nothing is written or removed.
TEST_F(PruneTest, DamagedIndexFilesStopPruneNamingTheFirstByName) {
  TwoSnapshots();
  auto names = mr_.Names(ObjectType::kIndex);
  ASSERT_GE(names.size(), 3u);
  std::sort(names.begin(), names.end());
  for (const std::string& name : {names[1], names.back()}) {
    ASSERT_TRUE(mr_.mem().Save({ObjectType::kIndex, name}, AsBytes("garbage")).ok());
  }
  auto before = AllObjects(mr_);
  auto r = Prune(repo(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find("unable to load index/" + names[1]), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(AllObjects(mr_), before);
}

TEST_F(PruneTest, DuplicateBlobsAreReclaimed) {
  TwoSnapshots();
  // A pack holding second copies of three used blobs, and one holding copies
  // of two used blobs plus a new blob that a later snapshot uses.
  auto copy_of = [&](const Id& id) {
    auto b = repo().LoadBlob(format::BlobType::kData, id);
    EXPECT_TRUE(b.ok());
    return *b;
  };
  IndexFile extra;
  PackWriter dup(repo().keys());
  for (int i = 0; i < 3; ++i) {
    Bytes b = copy_of(blobs_b_.data[i]);
    ASSERT_TRUE(
        dup.Add(format::BlobType::kData, blobs_b_.data[i], format::Compression::kNone, b, b.size())
            .ok());
  }
  PackWriter mixed(repo().keys());
  for (int i = 3; i < 5; ++i) {
    Bytes b = copy_of(blobs_b_.data[i]);
    ASSERT_TRUE(
        mixed
            .Add(format::BlobType::kData, blobs_b_.data[i], format::Compression::kNone, b, b.size())
            .ok());
  }
  Bytes fresh_data = Pattern(4000, 77);
  Id fresh_id = repo().ComputeBlobId(fresh_data);
  ASSERT_TRUE(mixed
                  .Add(format::BlobType::kData, fresh_id, format::Compression::kNone, fresh_data,
                       fresh_data.size())
                  .ok());
  for (PackWriter* w : {&dup, &mixed}) {
    auto p_finished = w->Finish();
    ASSERT_TRUE(p_finished.ok());
    FinishedPack p = std::move(*p_finished);
    ASSERT_TRUE(mr_.mem().Save({ObjectType::kPack, p.id.Hex()}, p.data).ok());
    extra.packs.push_back({p.id, p.salt, p.blobs});
  }
  ASSERT_TRUE(repo().SaveIndexFile(extra).ok());
  // A snapshot that uses the new blob (already indexed: not stored again).
  auto reopened = mr_.Reopen();
  ASSERT_TRUE(reopened.ok());
  SnapshotBlobs blobs_c;
  auto c = AddSnapshot(**reopened, {{"c", fresh_data}}, 3000, &blobs_c);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*reopened)->index().duplicate_count(), 5u);

  PruneOptions o;
  o.max_unused_fraction = 0;
  auto r = Prune(**reopened, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->plan.blobs_duplicate, 5u);
  EXPECT_EQ(r->plan.packs_delete, 1u) << "the pack of duplicates only";
  EXPECT_EQ(r->plan.packs_repack, 1u) << "the mixed pack";
  EXPECT_EQ(r->plan.blobs_repack, 1u) << "only the new blob is copied";
  EXPECT_EQ(r->plan.bytes_unused_after, 0u);

  auto after = mr_.Reopen();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)->index().duplicate_count(), 0u);
  CheckReport check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(blobs_a_);
  ExpectAllLoad(blobs_b_);
  ExpectAllLoad(blobs_c);
}

TEST_F(PruneTest, RepackingKeepsTreesAndDataInSeparatePacks) {
  TwoSnapshots();
  // Rewrite the repository so that snapshot B's trees and data all live in
  // one pack that mixes both types (as repositories written before tree
  // packs do), plus an unused blob so that prune must repack it.
  IndexFile only_mixed;
  only_mixed.supersedes = repo().LoadedIndexFiles();
  PackWriter mixed(repo().keys());
  auto add = [&](format::BlobType type, const Id& id) {
    auto b = repo().LoadBlob(type, id);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    ASSERT_TRUE(mixed.Add(type, id, format::Compression::kNone, *b, b->size()).ok());
  };
  std::set<Id> seen;
  for (const Id& id : blobs_b_.trees)
    if (seen.insert(id).second) add(format::BlobType::kTree, id);
  for (const Id& id : blobs_b_.data)
    if (seen.insert(id).second) add(format::BlobType::kData, id);
  Bytes garbage = Pattern(5000, 99);
  ASSERT_TRUE(mixed
                  .Add(format::BlobType::kData, repo().ComputeBlobId(garbage),
                       format::Compression::kNone, garbage, garbage.size())
                  .ok());
  auto finished = mixed.Finish();
  ASSERT_TRUE(finished.ok());
  for (const std::string& old : mr_.Names(ObjectType::kPack))
    ASSERT_TRUE(mr_.mem().Remove({ObjectType::kPack, old}).ok());
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kPack, finished->id.Hex()}, finished->data).ok());
  only_mixed.packs.push_back({finished->id, finished->salt, finished->blobs});
  ASSERT_TRUE(repo().SaveIndexFile(only_mixed).ok());
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a_).ok());

  auto reopened = mr_.Reopen();
  ASSERT_TRUE(reopened.ok());
  PruneOptions o;
  o.max_unused_fraction = 0;
  auto r = Prune(**reopened, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->plan.packs_repack, 1u);
  EXPECT_GE(r->packs_written, 2u) << "at least one pack of trees and one of data";

  auto after = mr_.Reopen();
  ASSERT_TRUE(after.ok());
  std::map<Id, std::set<format::BlobType>> types_per_pack;
  (*after)->index().ForEachBlob(
      [&](const Id& pack, const PackedBlob& b) { types_per_pack[pack].insert(b.type); });
  EXPECT_EQ(types_per_pack.size(), r->packs_written);
  for (const auto& [pack, types] : types_per_pack)
    EXPECT_EQ(types.size(), 1u) << "pack " << pack.Short() << " mixes trees and data";
  CheckReport check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(blobs_b_);
}

// Snapshot A interleaves files of its own with files B shares, over many
// 64 KiB packs, so forgetting A leaves every one of them partly used.
// Half of the shared files compress, half do not.
void InterleavedSnapshots(Repository& repo, SnapshotBlobs* a, SnapshotBlobs* b, Id* snap_a) {
  std::vector<testing_repo::TestFile> files_a, files_b;
  for (uint32_t i = 0; i < 12; ++i) {
    const std::string n = std::to_string(10 + i);
    Bytes shared = Pattern(20000, 200 + i);
    if (i % 2 == 0) {
      std::string text;
      while (text.size() < 20000)
        text += "row " + std::to_string(text.size() % 977) + " of " + n + "\n";
      shared = Bytes(text.begin(), text.end());
    }
    files_a.push_back({"a" + n, Pattern(20000, 100 + i)});
    files_a.push_back({"s" + n, shared});
    files_b.push_back({"s" + n, shared});
    files_b.push_back({"b" + n, Pattern(6000, 300 + i)});
  }
  auto sa = AddSnapshot(repo, files_a, 1000, a);
  ASSERT_TRUE(sa.ok()) << sa.status().ToString();
  *snap_a = *sa;
  ASSERT_TRUE(AddSnapshot(repo, files_b, 2000, b).ok());
}

TEST_F(PruneTest, ManyPacksRepackedAtOnceKeepTheirStoredFormInOneNewIndex) {
  SnapshotBlobs a, b;
  Id snap_a;
  ASSERT_NO_FATAL_FAILURE(InterleavedSnapshots(repo(), &a, &b, &snap_a));
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a).ok());
  std::map<Id, PackedBlob> before;
  size_t zstd = 0, raw = 0;
  for (const Id& id : b.data) {
    auto loc = repo().index().Find(format::BlobType::kData, id);
    ASSERT_TRUE(loc);
    before[id] = loc->blob;
    (loc->blob.compression == format::Compression::kZstd ? zstd : raw)++;
  }
  ASSERT_GT(zstd, 0u);
  ASSERT_GT(raw, 0u);

  PruneOptions o;
  o.max_unused_fraction = 0;
  PruneProgress progress;
  o.progress = &progress;
  auto r = Prune(repo(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(r->plan.packs_repack, 6u) << "enough packs for every repacking thread";
  EXPECT_EQ(progress.packs_total, r->plan.packs_repack);
  EXPECT_EQ(progress.packs_done, r->plan.packs_repack);
  EXPECT_EQ(progress.bytes_total, r->plan.bytes_repack);
  EXPECT_EQ(progress.bytes_done, r->plan.bytes_repack);
  EXPECT_EQ(r->plan.bytes_unused_after, 0u);
  EXPECT_GT(r->packs_written, 0u);

  // The index files the repository wrote for the new packs were folded in:
  // what is left is exactly the new index prune reports.
  std::set<std::string> reported;
  for (const Id& id : r->new_index_files) reported.insert(id.Hex());
  auto names = mr_.Names(ObjectType::kIndex);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), reported);

  auto after = mr_.Reopen();
  ASSERT_TRUE(after.ok());
  for (const auto& [id, old] : before) {
    auto loc = (*after)->index().Find(format::BlobType::kData, id);
    ASSERT_TRUE(loc);
    EXPECT_EQ(loc->blob.compression, old.compression) << id.Short();
    EXPECT_EQ(loc->blob.length, old.length) << id.Short() << ": stored form changed";
    EXPECT_EQ(loc->blob.raw_length, old.raw_length) << id.Short();
  }
  for (const Id& id : OnlyIn(a, b)) {
    EXPECT_FALSE((*after)->index().Find(format::BlobType::kData, id)) << id.Short();
  }
  CheckReport check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(b);
}

// A blob that fails to authenticate, or a pack shorter than its index says,
// stops the repack with kCorrupt naming it; nothing is removed, and the next
// prune after mending does the job.
TEST_F(PruneTest, ADamagedBlobOrPackStopsTheRepackAndRemovesNothing) {
  SnapshotBlobs a, b;
  Id snap_a;
  ASSERT_NO_FATAL_FAILURE(InterleavedSnapshots(repo(), &a, &b, &snap_a));
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a).ok());
  PruneOptions o;
  o.max_unused_fraction = 0;
  PruneOptions plan_only = o;
  plan_only.dry_run = true;
  auto plan = Prune(repo(), plan_only);
  ASSERT_TRUE(plan.ok());
  ASSERT_GE(plan->plan.repack_packs.size(), 4u);
  // Damage a blob B uses in the last pack to be repacked.
  const Id victim_pack = plan->plan.repack_packs.back();
  std::optional<BlobLocation> victim;
  for (const Id& id : b.data) {
    auto loc = repo().index().Find(format::BlobType::kData, id);
    if (loc && loc->pack_id == victim_pack) victim = loc;
  }
  ASSERT_TRUE(victim);
  const ObjectName pack_name{ObjectType::kPack, victim_pack.Hex()};
  auto original = mr_.mem().Load(pack_name);
  ASSERT_TRUE(original.ok());

  auto expect_stopped = [&](const Bytes& damaged, const std::string& says) {
    SCOPED_TRACE(says);
    ASSERT_TRUE(mr_.mem().Save(pack_name, damaged).ok());
    auto objects = AllObjects(mr_);
    auto r = Prune(repo(), o);
    EXPECT_EQ(r.status().code(), Code::kCorrupt) << r.status().ToString();
    EXPECT_NE(r.status().message().find(says), std::string::npos) << r.status().ToString();
    EXPECT_NE(r.status().hint().find("check"), std::string::npos) << r.status().ToString();
    auto now = AllObjects(mr_);
    for (const auto& [type, names] : objects) {
      if (type == ObjectType::kLock) continue;
      for (const std::string& name : names) {
        EXPECT_TRUE(now[type].count(name)) << "removed: " << ObjectName{type, name}.ToString();
      }
    }
  };
  Bytes flipped = *original;
  flipped[victim->blob.offset + victim->blob.length / 2] ^= 0x40;
  expect_stopped(flipped, "unable to repack data blob " + victim->blob.id.Short());
  const Bytes truncated(original->begin(), original->begin() + victim->blob.offset + 1);
  expect_stopped(truncated, "unable to read pack " + victim_pack.Short() + " for repacking");

  // Mended, the next prune does the job.
  ASSERT_TRUE(mr_.mem().Save(pack_name, *original).ok());
  auto reopened = mr_.Reopen();
  ASSERT_TRUE(reopened.ok());
  auto second = Prune(**reopened, o);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  CheckReport check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(b);
}

TEST_F(PruneTest, MaxUnusedThreshold) {
  TwoSnapshots();
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a_).ok());

  PruneOptions none;
  none.dry_run = true;
  none.max_unused_fraction = 1.0;
  auto keep_all = Prune(repo(), none);
  ASSERT_TRUE(keep_all.ok());
  EXPECT_EQ(keep_all->plan.packs_repack, 0u);
  EXPECT_GT(keep_all->plan.bytes_unused_after, 0u);
  EXPECT_GE(keep_all->plan.packs_delete, 2u);

  PruneOptions capped = none;
  capped.max_unused_fraction = 0;
  capped.max_repack_bytes = 1;
  auto limited = Prune(repo(), capped);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->plan.packs_repack, 0u) << "every repack would copy more than 1 byte";

  PruneOptions all = none;
  all.max_unused_fraction = 0;
  auto repack_all = Prune(repo(), all);
  ASSERT_TRUE(repack_all.ok());
  EXPECT_GT(repack_all->plan.packs_repack, 0u);
  EXPECT_EQ(repack_all->plan.bytes_unused_after, 0u);
  EXPECT_EQ(repack_all->plan.packs_delete, keep_all->plan.packs_delete);

  // For real with 1.0: only the fully unused packs go; the unused bytes in
  // the partly used pack stay, and the repository checks clean.
  none.dry_run = false;
  auto r1 = Prune(repo(), none);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->packs_written, 0u);
  EXPECT_EQ(r1->packs_deleted, keep_all->plan.packs_delete);
  CheckReport check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(blobs_b_);

  // Then with 0: the partly used pack is repacked.
  auto fresh = mr_.Reopen();
  ASSERT_TRUE(fresh.ok());
  all.dry_run = false;
  auto r0 = Prune(**fresh, all);
  ASSERT_TRUE(r0.ok()) << r0.status().ToString();
  EXPECT_EQ(r0->plan.packs_repack, repack_all->plan.packs_repack);
  EXPECT_EQ(r0->plan.packs_delete, 0u);
  EXPECT_EQ(r0->packs_written, 1u);
  EXPECT_EQ(r0->plan.bytes_unused_after, 0u);
  check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(blobs_b_);
}

TEST_F(PruneTest, DryRunChangesNothing) {
  TwoSnapshots();
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a_).ok());
  PackWriter w(repo().keys());
  Bytes b = Pattern(3000, 9);
  ASSERT_TRUE(
      w.Add(format::BlobType::kData, repo().ComputeBlobId(b), format::Compression::kNone, b, 3000)
          .ok());
  auto orphan_finished = w.Finish();
  ASSERT_TRUE(orphan_finished.ok());
  FinishedPack orphan = std::move(*orphan_finished);
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kPack, orphan.id.Hex()}, orphan.data).ok());

  auto before = AllObjects(mr_);
  PruneOptions o;
  o.dry_run = true;
  auto r = Prune(repo(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->plan.nothing_to_do());
  EXPECT_EQ(r->plan.packs_unreferenced, 1u);
  ASSERT_EQ(r->plan.unreferenced_packs.size(), 1u);
  EXPECT_EQ(r->plan.unreferenced_packs[0], orphan.id.Hex());
  EXPECT_GT(r->plan.bytes_to_free, 0u);
  EXPECT_EQ(r->packs_deleted, 0u);
  EXPECT_TRUE(r->new_index_files.empty());
  EXPECT_EQ(AllObjects(mr_), before);
}

TEST_F(PruneTest, RefusesWhileABackupHoldsALock) {
  TwoSnapshots();
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a_).ok());
  auto shared = RepoLock::Acquire(repo(), /*exclusive=*/false);
  ASSERT_TRUE(shared.ok());
  auto before = AllObjects(mr_);
  auto r = Prune(repo(), {});
  EXPECT_EQ(r.status().code(), Code::kLocked);
  EXPECT_NE(r.status().message().find("shared lock"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(AllObjects(mr_), before);
  shared->reset();
  EXPECT_TRUE(Prune(repo(), {}).ok());
}

TEST_F(PruneTest, RefusesOnADamagedRepository) {
  TwoSnapshots();
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a_).ok());
  // B's own data is lost: prune must not act on a partial view.
  auto loc = repo().index().Find(format::BlobType::kData, blobs_b_.data.back());
  ASSERT_TRUE(loc);
  ASSERT_TRUE(mr_.mem().Remove({ObjectType::kPack, loc->pack_id.Hex()}).ok());
  auto before = AllObjects(mr_);
  auto r = Prune(repo(), {});
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find("missing"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().hint().find("check"), std::string::npos);
  EXPECT_EQ(AllObjects(mr_), before);

  // An unreadable snapshot also stops it.
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kSnapshot, snap_b_.Hex()}, AsBytes("junk")).ok());
  EXPECT_EQ(Prune(repo(), {}).status().code(), Code::kCorrupt);
  EXPECT_EQ(Prune(repo(), {.max_unused_fraction = 2}).status().code(), Code::kInvalidArgument);
}

TEST_F(PruneTest, ADamagedTreeIsReportedWithItsPath) {
  auto snap = AddSnapshot(repo(), {{"dir/sub/f", Pattern(5000, 1)}, {"g", Pattern(3000, 2)}}, 1000);
  ASSERT_TRUE(snap.ok());
  // Find /dir/sub's tree: the root names dir, dir names sub.
  auto subtree_of = [&](const Id& tree_id, const std::string& name) -> Id {
    auto plain = repo().LoadBlob(format::BlobType::kTree, tree_id);
    EXPECT_TRUE(plain.ok());
    auto tree = DecodeTree(*plain);
    EXPECT_TRUE(tree.ok());
    for (const Node& n : tree->nodes)
      if (n.name == name && n.subtree) return *n.subtree;
    ADD_FAILURE() << "no subtree " << name;
    return {};
  };
  auto snapshot = repo().LoadSnapshot(*snap);
  ASSERT_TRUE(snapshot.ok());
  const Id sub = subtree_of(subtree_of(snapshot->tree, "dir"), "sub");
  auto loc = repo().index().Find(format::BlobType::kTree, sub);
  ASSERT_TRUE(loc);
  const ObjectName pack_name{ObjectType::kPack, loc->pack_id.Hex()};
  auto bytes = mr_.mem().Load(pack_name);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[loc->blob.offset + 3] ^= 0x01;
  ASSERT_TRUE(mr_.mem().Save(pack_name, *bytes).ok());
  auto before = AllObjects(mr_);

  auto r = Prune(repo(), {});
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find("unable to load tree " + sub.Short() + " (/dir/sub in snapshot " +
                                      snap->Short()),
            std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(AllObjects(mr_), before);
}

TEST_F(PruneTest, EverythingForgottenEmptiesTheRepository) {
  TwoSnapshots();
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a_).ok());
  ASSERT_TRUE(repo().RemoveSnapshot(snap_b_).ok());
  auto r = Prune(repo(), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(mr_.Names(ObjectType::kPack).empty());
  EXPECT_EQ(mr_.Names(ObjectType::kIndex).size(), 1u) << "one empty index recording supersedes";
  CheckReport check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
}

// A prune stopped at any write or removal (simulated by a failing backend
// call) leaves a repository that checks without errors and whose remaining
// snapshot loads completely; the next prune finishes the job.
class PruneCrashTest : public ::testing::TestWithParam<FaultBackend::Op> {};

TEST_P(PruneCrashTest, StoppedAtEveryStepLeavesACleanRepository) {
  const FaultBackend::Op op = GetParam();
  bool completed = false;
  int steps = 0;
  for (int step = 1; step <= 60 && !completed; ++step) {
    steps = step;
    SCOPED_TRACE("failing call " + std::to_string(step));
    MemRepo mr;
    ASSERT_TRUE(mr.Init().ok());
    SnapshotBlobs blobs_a, blobs_b;
    auto a = AddSnapshot(mr.repo(), {{"shared", Pattern(40000, 1)}, {"z_a", Pattern(90000, 2)}},
                         1000, &blobs_a);
    ASSERT_TRUE(a.ok());
    auto b = AddSnapshot(mr.repo(), {{"shared", Pattern(40000, 1)}, {"z_b", Pattern(30000, 3)}},
                         2000, &blobs_b);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(mr.repo().RemoveSnapshot(*a).ok());
    PackWriter w(mr.repo().keys());
    Bytes orphan_data = Pattern(3000, 9);
    ASSERT_TRUE(w.Add(format::BlobType::kData, mr.repo().ComputeBlobId(orphan_data),
                      format::Compression::kNone, orphan_data, 3000)
                    .ok());
    auto orphan_finished = w.Finish();
    ASSERT_TRUE(orphan_finished.ok());
    FinishedPack orphan = std::move(*orphan_finished);
    ASSERT_TRUE(mr.mem().Save({ObjectType::kPack, orphan.id.Hex()}, orphan.data).ok());

    FaultBackend fault(&mr.mem());
    auto repo = Repository::Open(std::make_unique<FaultBackend>(&fault), "secret");
    ASSERT_TRUE(repo.ok());
    fault.ResetCounters();
    fault.FailNext(op, step, IoError("injected fault"));
    PruneOptions o;
    o.max_unused_fraction = 0;
    auto r = Prune(**repo, o);
    completed = r.ok() && fault.Calls(op) < step;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kIoError) << r.status().ToString();
    }

    auto check_repo = Repository::Open(mr.View(), "secret");
    ASSERT_TRUE(check_repo.ok());
    CheckOptions co;
    co.read_data = true;
    auto report = CheckRepository(**check_repo, co);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok()) << Dump(*report);
    ASSERT_TRUE((*check_repo)->LoadIndex().ok());
    for (const Id& id : blobs_b.data) {
      ASSERT_TRUE((*check_repo)->LoadBlob(format::BlobType::kData, id).ok());
    }
    for (const Id& id : blobs_b.trees) {
      ASSERT_TRUE((*check_repo)->LoadBlob(format::BlobType::kTree, id).ok());
    }
    if (completed) break;

    // Any lock left behind by the failed removal belongs to this live
    // process; clear it as 'unlock --remove-all' would, then finish.
    ASSERT_TRUE(RemoveLocks(**check_repo, /*all=*/true).ok());
    auto second = Prune(**check_repo, o);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    auto clean = Repository::Open(mr.View(), "secret");
    ASSERT_TRUE(clean.ok());
    auto final_report = CheckRepository(**clean, co);
    ASSERT_TRUE(final_report.ok());
    EXPECT_TRUE(final_report->findings.empty()) << Dump(*final_report);
    EXPECT_EQ(mr.Names(ObjectType::kIndex).size(), 1u);
  }
  EXPECT_TRUE(completed) << "prune never got past the injected faults";
  // Saves: lock, repacked pack, index; removes: 4 index files, 4+ packs, lock.
  EXPECT_GE(steps, op == FaultBackend::Op::kSave ? 4 : 10);
}

INSTANTIATE_TEST_SUITE_P(Faults, PruneCrashTest,
                         ::testing::Values(FaultBackend::Op::kRemove, FaultBackend::Op::kSave),
                         [](const auto& info) {
                           return info.param == FaultBackend::Op::kRemove ? std::string("Remove")
                                                                          : std::string("Save");
                         });

// ---------------------------------------------------------------- Object Lock
//

// Lends a backend to a Repository (which owns its backend), forwarding
// everything including RetainUntil (FaultBackend does not forward it).
class Borrowed final : public Backend {
 public:
  explicit Borrowed(Backend* inner) : inner_(inner) {}
  std::string Location() const override { return inner_->Location(); }
  BackendCapabilities Capabilities() const override { return inner_->Capabilities(); }
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
  Result<std::optional<int64_t>> RetainUntil(const ObjectName& n) override {
    return inner_->RetainUntil(n);
  }

 private:
  Backend* inner_;
};

class PruneObjectLockTest : public PruneTest {
 protected:
  // Prunes through `locking` on a freshly opened repository.
  Result<PruneResult> PruneThrough(LockingBackend& locking, std::vector<std::string>* log) {
    auto repo = Repository::Open(std::make_unique<Borrowed>(&locking), "secret");
    if (!repo.ok()) return repo.status();
    LB_RETURN_IF_ERROR((*repo)->LoadIndex());
    return Prune(**repo, {}, [&](std::string_view l) { log->emplace_back(l); });
  }
  void LockAll(LockingBackend& locking, ObjectType type, int64_t until) {
    for (const std::string& name : mr_.Names(type)) {
      locking.locked[ObjectName{type, name}.ToString()] = until;
    }
  }
  static bool Mentions(const std::vector<std::string>& log, std::string_view what) {
    for (const std::string& l : log)
      if (l.find(what) != std::string::npos) return true;
    return false;
  }
};

TEST_F(PruneObjectLockTest, LockedPacksAreNeitherDeletedNorRepacked) {
  TwoSnapshots();
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a_).ok());
  LockingBackend locking(&mr_.mem());
  const int64_t until = LockingBackend::Now() + 86400;
  LockAll(locking, ObjectType::kPack, until);
  const auto packs_before = mr_.Names(ObjectType::kPack);
  std::vector<std::string> log;
  auto r = PruneThrough(locking, &log);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(r->plan.packs_locked, 3u);  // 2 to delete + 1 to repack without the lock
  EXPECT_GT(r->plan.bytes_locked, 0u);
  EXPECT_EQ(r->plan.locked_until, until);
  EXPECT_EQ(r->plan.packs_delete, 0u);
  EXPECT_EQ(r->plan.packs_repack, 0u);
  EXPECT_EQ(r->packs_deleted, 0u);
  EXPECT_GT(locking.retain_calls, 0);
  EXPECT_TRUE(Mentions(log, "retention lock")) << "log does not say why packs were kept";
  auto packs_after = mr_.Names(ObjectType::kPack);
  EXPECT_EQ(std::set<std::string>(packs_after.begin(), packs_after.end()),
            std::set<std::string>(packs_before.begin(), packs_before.end()));
  CheckReport check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(blobs_b_);

  // Once the locks have expired, the next prune reclaims the space.
  LockAll(locking, ObjectType::kPack, LockingBackend::Now() - 1);
  log.clear();
  auto again = PruneThrough(locking, &log);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->plan.packs_locked, 0u);
  EXPECT_GE(again->packs_deleted, 3u);
  check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(blobs_b_);
}

TEST_F(PruneObjectLockTest, RepackIndexFilesStaySupersededUntilALaterPrune) {
  // With Object Lock, the index files written for repacked packs were locked
  // as they were written: prune leaves them (superseded) instead of failing
  // to delete them, and a later prune removes them.
  SnapshotBlobs a, b;
  Id snap_a;
  ASSERT_NO_FATAL_FAILURE(InterleavedSnapshots(repo(), &a, &b, &snap_a));
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a).ok());
  LockingBackend locking(&mr_.mem());
  auto opened = Repository::Open(std::make_unique<Borrowed>(&locking), "secret");
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE((*opened)->LoadIndex().ok());
  PruneOptions o;
  o.max_unused_fraction = 0;
  auto r = Prune(**opened, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(r->packs_written, 0u);
  const auto index_after = mr_.Names(ObjectType::kIndex);
  EXPECT_GT(index_after.size(), r->new_index_files.size()) << "the repack's index files stay";
  CheckReport check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(b);

  std::vector<std::string> log;
  auto again = PruneThrough(locking, &log);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto index_now = mr_.Names(ObjectType::kIndex);
  std::set<std::string> reported;
  for (const Id& id : again->new_index_files) reported.insert(id.Hex());
  EXPECT_EQ(std::set<std::string>(index_now.begin(), index_now.end()), reported);
  check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(b);
}

TEST_F(PruneObjectLockTest, LockedIndexFilesStayWithEveryPackTheyList) {
  TwoSnapshots();
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a_).ok());
  LockingBackend locking(&mr_.mem());
  LockAll(locking, ObjectType::kIndex, LockingBackend::Now() + 3600);
  const auto index_before = mr_.Names(ObjectType::kIndex);
  const auto packs_before = mr_.Names(ObjectType::kPack);
  std::vector<std::string> log;
  auto r = PruneThrough(locking, &log);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->plan.index_files_locked, index_before.size());
  EXPECT_EQ(r->index_files_deleted, 0u);
  EXPECT_EQ(r->packs_deleted, 0u);
  for (const std::string& name : index_before) {
    EXPECT_TRUE(mr_.mem().Stat({ObjectType::kIndex, name}).ok()) << "locked index/" << name;
  }
  EXPECT_EQ(mr_.Names(ObjectType::kPack).size(), packs_before.size());
  CheckReport check = CheckNow();
  EXPECT_TRUE(check.findings.empty()) << Dump(check);
  ExpectAllLoad(blobs_b_);
}

TEST_F(PruneObjectLockTest, LocksAreNotAskedWithoutTheCapability) {
  TwoSnapshots();
  ASSERT_TRUE(repo().RemoveSnapshot(snap_a_).ok());
  LockingBackend plain(&mr_.mem(), /*capability=*/false);
  std::vector<std::string> log;
  auto r = PruneThrough(plain, &log);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(plain.retain_calls, 0);
  EXPECT_GE(r->packs_deleted, 3u);
  ExpectAllLoad(blobs_b_);
}

TEST_F(PruneObjectLockTest, UnlockedUnreferencedPacksGoLockedOnesStay) {
  TwoSnapshots();
  // Two packs that no index lists (as left by a killed backup).
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kPack, "aa01"}, Bytes(100, 1)).ok());
  ASSERT_TRUE(mr_.mem().Save({ObjectType::kPack, "aa02"}, Bytes(100, 2)).ok());
  LockingBackend locking(&mr_.mem());
  locking.locked["data/aa01"] = LockingBackend::Now() + 3600;
  std::vector<std::string> log;
  auto r = PruneThrough(locking, &log);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->plan.packs_unreferenced, 1u);
  EXPECT_EQ(r->plan.packs_locked, 1u);
  EXPECT_TRUE(mr_.mem().Stat({ObjectType::kPack, "aa01"}).ok());
  EXPECT_EQ(mr_.mem().Stat({ObjectType::kPack, "aa02"}).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace lifeboat
