#include "prune/prune.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "base/parallel_for.h"
#include "model/tree.h"
#include "repo/lock.h"

namespace lifeboat {
namespace {

// Index files written by prune hold whole packs, up to about this many blobs.
constexpr size_t kMaxBlobsPerIndexFile = 50000;

const char kCheckHint[] =
    "run 'lifeboat check' to see the damage; prune refuses to run on a damaged repository";

struct BlobKey {
  format::BlobType type;
  Id id;
  friend bool operator==(const BlobKey&, const BlobKey&) = default;
};
struct BlobKeyHash {
  size_t operator()(const BlobKey& k) const { return IdHash()(k.id) ^ static_cast<size_t>(k.type); }
};

// One stored copy of a blob: entry `entry` of pack number `pack`.
struct Copy {
  uint32_t pack = 0;
  uint32_t entry = 0;
  friend bool operator==(const Copy&, const Copy&) = default;
};

// The copies of one blob; most blobs have exactly one, stored inline.
struct Copies {
  Copy first;
  std::vector<Copy> more;
  template <typename F>
  void ForEach(F&& fn) const {
    fn(first);
    for (const Copy& c : more) fn(c);
  }
};

enum class Action { kKeep, kRepack, kDelete };

struct PackState {
  IndexedPack pack;
  uint64_t size = 0;  // stored size
  uint64_t used_bytes = 0, unused_bytes = 0;
  uint32_t used_blobs = 0, unused_blobs = 0;
  Action action = Action::kKeep;
};

class Pruner {
 public:
  Pruner(Repository& repo, const PruneOptions& options, std::function<void(std::string_view)> log)
      : repo_(repo), options_(options), log_(std::move(log)) {}

  Result<PruneResult> Run() {
    LB_RETURN_IF_ERROR(LoadIndex());
    LB_RETURN_IF_ERROR(ListPacks());
    LB_RETURN_IF_ERROR(MarkUsed());
    Assign();
    LB_RETURN_IF_ERROR(FindLocked());
    Plan();
    PrunePlan& plan = result_.plan;
    Log("repository: " + std::to_string(plan.packs_total) + " packs, " +
        std::to_string(plan.bytes_total) + " bytes; used " + std::to_string(plan.blobs_used) +
        " blobs / " + std::to_string(plan.bytes_used) + " bytes; unused " +
        std::to_string(plan.blobs_unused) + " blobs / " + std::to_string(plan.bytes_unused) +
        " bytes (" + std::to_string(plan.blobs_duplicate) + " duplicates)");
    Log("plan: keep " + std::to_string(plan.packs_keep) + " packs, repack " +
        std::to_string(plan.packs_repack) + " (" + std::to_string(plan.bytes_repack) +
        " bytes to copy), delete " + std::to_string(plan.packs_delete) + " unused and " +
        std::to_string(plan.packs_unreferenced) + " unreferenced; frees up to " +
        std::to_string(plan.bytes_to_free) + " bytes");
    if (plan.packs_locked > 0 || (plan.index_files_locked > 0 && !plan.nothing_to_do())) {
      Log(std::to_string(plan.packs_locked) + " packs and " +
          std::to_string(plan.index_files_locked) +
          " index files are under a retention lock (Object Lock) and are kept");
    }
    if (options_.dry_run) {
      Log("dry run: nothing changed");
      return std::move(result_);
    }
    if (plan.nothing_to_do()) {
      Log("nothing to prune");
      return std::move(result_);
    }
    LB_RETURN_IF_ERROR(Repack());
    if (IndexChanges()) {
      LB_RETURN_IF_ERROR(WriteIndex());
      LB_RETURN_IF_ERROR(DeleteOldIndexFiles());
    }
    LB_RETURN_IF_ERROR(DeletePacks());
    uint64_t removed = result_.bytes_freed;
    result_.bytes_freed = removed > result_.bytes_written ? removed - result_.bytes_written : 0;
    Log("done: freed " + std::to_string(result_.bytes_freed) + " bytes");
    return std::move(result_);
  }

 private:
  void Log(const std::string& line) {
    if (log_) log_(line);
  }

  // Threads that read packs to repack: each holds a pack's range (16 MiB by
  // default) and a blob.
  static size_t RepackThreads() { return std::clamp(std::thread::hardware_concurrency(), 2u, 4u); }
  // Threads that load trees: small reads, often waiting for a remote backend.
  static size_t TreeThreads() {
    return std::clamp(2 * std::thread::hardware_concurrency(), 2u, 8u);
  }

  // ---------------------------------------------------------------- plan

  Status LoadIndex() {
    LB_ASSIGN_OR_RETURN(index_names_, ListNames(repo_.backend(), ObjectType::kIndex));
    result_.plan.index_files = index_names_.size();
    // Loaded on several threads (a round trip each on remote storage), then
    // taken in name order so pack numbers do not depend on scheduling.
    std::vector<IndexFile> files(index_names_.size());
    LB_RETURN_IF_ERROR(
        ParallelFor(index_names_.size(), repo_.MetadataThreads(), [&](size_t i, size_t) {
          const std::string& name = index_names_[i];
          auto id = Id::FromHex(name);
          if (!id.ok()) {
            return Status(Code::kCorrupt, "index/" + name + " is not an index file name",
                          kCheckHint);
          }
          auto file = repo_.LoadIndexFile(*id);
          if (!file.ok()) {
            return Status(Code::kCorrupt,
                          "unable to load index/" + name + ": " + file.status().message(),
                          kCheckHint);
          }
          files[i] = std::move(*file);
          return Status::Ok();
        }));
    std::unordered_set<Id> superseded;
    for (size_t i = 0; i < index_names_.size(); ++i) {
      const Id id = *Id::FromHex(index_names_[i]);
      IndexFile& file = files[i];
      old_index_ids_.push_back(id);
      for (const Id& old : file.supersedes) superseded.insert(old);
      std::vector<Id>& listed = index_packs_[id];
      for (IndexedPack& pack : file.packs) {
        listed.push_back(pack.id);
        if (pack_numbers_.count(pack.id)) continue;  // listed twice: one record
        pack_numbers_[pack.id] = static_cast<uint32_t>(packs_.size());
        PackState state;
        state.pack = std::move(pack);
        packs_.push_back(std::move(state));
      }
    }
    superseded_ = std::move(superseded);
    Log("loaded " + std::to_string(index_names_.size()) + " index files listing " +
        std::to_string(packs_.size()) + " packs");
    return Status::Ok();
  }

  // Matches the index against the stored packs; indexes the present ones' blobs.
  Status ListPacks() {
    LB_ASSIGN_OR_RETURN(auto stored, ListSizes(repo_.backend(), ObjectType::kPack));
    PrunePlan& plan = result_.plan;
    for (uint32_t p = 0; p < packs_.size(); ++p) {
      PackState& pack = packs_[p];
      auto it = stored.find(pack.pack.id.Hex());
      if (it == stored.end()) {
        pack.action = Action::kDelete;  // dropped from the index; nothing to remove
        missing_.insert(p);
        plan.packs_missing++;
        continue;
      }
      pack.size = it->second;
      stored.erase(it);
      plan.packs_total++;
      plan.bytes_total += pack.size;
      for (uint32_t e = 0; e < pack.pack.blobs.size(); ++e) {
        const PackedBlob& b = pack.pack.blobs[e];
        auto [c, inserted] = copies_.try_emplace(BlobKey{b.type, b.id}, Copies{{p, e}, {}});
        if (!inserted) c->second.more.push_back({p, e});
      }
    }
    for (const auto& [name, size] : stored) {
      plan.unreferenced_packs.push_back(name);
      plan.packs_unreferenced++;
      plan.bytes_unreferenced += size;
    }
    if (plan.packs_missing > 0) {
      Log(std::to_string(plan.packs_missing) +
          " packs listed in the index are missing; they are dropped from the index");
    }
    return Status::Ok();
  }

  // Loads a blob from any of its stored copies.
  Result<Bytes> LoadBlob(const BlobKey& key) {
    auto it = copies_.find(key);
    if (it == copies_.end()) return NotFound("not in the index");
    Status last;
    Result<Bytes> found = Internal("unreachable");
    bool done = false;
    it->second.ForEach([&](const Copy& c) {
      if (done) return;
      const PackState& pack = packs_[c.pack];
      const PackedBlob& b = pack.pack.blobs[c.entry];
      auto sealed =
          repo_.backend().Load({ObjectType::kPack, pack.pack.id.Hex()}, b.offset, b.length);
      if (!sealed.ok()) {
        last = sealed.status();
        return;
      }
      auto plain = OpenPackedBlob(repo_.keys(), pack.pack.salt, b, *sealed);
      if (!plain.ok()) {
        last = plain.status().WithContext("pack " + pack.pack.id.Short());
        return;
      }
      found = std::move(plain);
      done = true;
    });
    if (done) return found;
    return last;
  }

  // A tree to visit: its id, where it is, and in which snapshot (for errors).
  struct TreeVisit {
    Id id;
    std::string path;
    const std::string* snapshot;
  };

  Status MarkUsed() {
    LB_ASSIGN_OR_RETURN(auto names, ListNames(repo_.backend(), ObjectType::kSnapshot));
    std::vector<std::string> labels;  // "snapshot 1a2b3c4d", pointed to by TreeVisit
    labels.reserve(names.size());
    std::vector<Id> roots(names.size());
    LB_RETURN_IF_ERROR(ParallelFor(names.size(), repo_.MetadataThreads(), [&](size_t i, size_t) {
      const std::string& name = names[i];
      auto id = Id::FromHex(name);
      Result<Snapshot> snapshot = id.ok() ? repo_.LoadSnapshot(*id) : Result<Snapshot>(id.status());
      if (!snapshot.ok()) {
        return Status(
            Code::kCorrupt,
            "unable to load snapshot " + name.substr(0, 8) + ": " + snapshot.status().message(),
            "prune cannot tell which data that snapshot needs; forget it if it is "
            "damaged, or run 'lifeboat check'");
      }
      roots[i] = snapshot->tree;
      return Status::Ok();
    }));
    std::vector<TreeVisit> level;
    for (size_t i = 0; i < names.size(); ++i) {
      labels.push_back("snapshot " + names[i].substr(0, 8));
      level.push_back({roots[i], "/", &labels.back()});
    }
    // Level by level: the trees of one level are loaded and decoded by
    // several threads (each is a read and a decryption, a network round trip
    // for a remote repository); what they name is merged in level order.
    while (!level.empty()) {
      std::vector<TreeVisit> todo;
      for (TreeVisit& v : level) {
        if (used_.insert({format::BlobType::kTree, v.id}).second) todo.push_back(std::move(v));
      }
      std::vector<std::vector<TreeVisit>> subtrees(todo.size());
      std::vector<std::vector<Id>> data(todo.size());
      LB_RETURN_IF_ERROR(ParallelFor(todo.size(), TreeThreads(), [&](size_t i, size_t) {
        return VisitTree(todo[i], &subtrees[i], &data[i]);
      }));
      level.clear();
      for (size_t i = 0; i < todo.size(); ++i) {
        for (const Id& id : data[i]) used_.insert({format::BlobType::kData, id});
        for (TreeVisit& v : subtrees[i]) level.push_back(std::move(v));
      }
    }
    Log("marked " + std::to_string(used_.size()) + " blobs used by " +
        std::to_string(names.size()) + " snapshots");
    return Status::Ok();
  }

  // Loads one tree; lists its subtrees and the data blobs it uses, each of
  // which must be in a present pack. Reads only state no thread changes.
  Status VisitTree(const TreeVisit& v, std::vector<TreeVisit>* subtrees, std::vector<Id>* data) {
    auto plain = LoadBlob({format::BlobType::kTree, v.id});
    Result<Tree> tree = plain.ok() ? DecodeTree(*plain) : Result<Tree>(plain.status());
    if (!tree.ok()) {
      return Status(Code::kCorrupt,
                    "unable to load tree " + v.id.Short() + " (" + v.path + " in " + *v.snapshot +
                        "): " + tree.status().message(),
                    kCheckHint);
    }
    for (const Node& node : tree->nodes) {
      std::string child = v.path == "/" ? "/" + node.name : v.path + "/" + node.name;
      for (const Id& blob : node.content) {
        if (!copies_.count({format::BlobType::kData, blob})) {
          return Status(Code::kCorrupt,
                        "data blob " + blob.Short() + " used by " + child + " in " + *v.snapshot +
                            " is missing",
                        kCheckHint);
        }
        data->push_back(blob);
      }
      if (node.subtree) subtrees->push_back({*node.subtree, std::move(child), v.snapshot});
    }
    return Status::Ok();
  }

  // Chooses the one copy of each used blob that is kept. Packs are visited
  // by the share of their bytes that only they hold (used blobs with a single
  // copy: such packs stay whatever happens), then by their used share, so the
  // copies in packs that must stay anyway win and duplicates end up in packs
  // that can go.
  void Assign() {
    std::vector<double> must_share(packs_.size(), 0), used_share(packs_.size(), 0);
    std::vector<uint32_t> order;
    for (uint32_t p = 0; p < packs_.size(); ++p) {
      if (missing_.count(p)) continue;
      order.push_back(p);
      uint64_t total = 0, used = 0, must = 0;
      for (const PackedBlob& b : packs_[p].pack.blobs) {
        total += b.length;
        BlobKey key{b.type, b.id};
        if (!used_.count(key)) continue;
        used += b.length;
        if (copies_.at(key).more.empty()) must += b.length;
      }
      if (total > 0) {
        must_share[p] = static_cast<double>(must) / total;
        used_share[p] = static_cast<double>(used) / total;
      }
    }
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      if (must_share[a] != must_share[b]) return must_share[a] > must_share[b];
      if (used_share[a] != used_share[b]) return used_share[a] > used_share[b];
      return packs_[a].pack.id < packs_[b].pack.id;
    });
    for (uint32_t p : order) {
      const auto& blobs = packs_[p].pack.blobs;
      for (uint32_t e = 0; e < blobs.size(); ++e) {
        BlobKey key{blobs[e].type, blobs[e].id};
        if (used_.count(key)) assigned_.try_emplace(key, Copy{p, e});
      }
    }
  }

  bool IsAssigned(uint32_t p, uint32_t e) const {
    const PackedBlob& b = packs_[p].pack.blobs[e];
    auto it = assigned_.find({b.type, b.id});
    return it != assigned_.end() && it->second == Copy{p, e};
  }

  void CountPack(uint32_t p) {
    PackState& pack = packs_[p];
    pack.used_bytes = pack.unused_bytes = 0;
    pack.used_blobs = pack.unused_blobs = 0;
    for (uint32_t e = 0; e < pack.pack.blobs.size(); ++e) {
      if (IsAssigned(p, e)) {
        pack.used_blobs++;
        pack.used_bytes += pack.pack.blobs[e].length;
      } else {
        pack.unused_blobs++;
        pack.unused_bytes += pack.pack.blobs[e].length;
      }
    }
  }

  // Until when `name` is locked (unix seconds), or 0 when it can be removed.
  Result<int64_t> LockedUntil(const ObjectName& name, int64_t now) {
    auto until = repo_.backend().RetainUntil(name);
    if (!until.ok()) {
      if (until.status().code() == Code::kNotFound) return int64_t{0};
      return until.status().WithContext("unable to read the retention of " + name.ToString());
    }
    if (!*until || **until <= now) return int64_t{0};
    return **until;
  }

  // With Object Lock, pins every pack prune could remove that is locked, and
  // every pack listed by a locked index file (that file stays, so its packs
  // must too). Only objects that could be removed are asked about.
  Status FindLocked() {
    if (!repo_.backend().Capabilities().object_lock) {
      for (const Id& id : old_index_ids_) {
        result_.plan.index_files_superseded += superseded_.count(id);
      }
      return Status::Ok();
    }
    PrunePlan& plan = result_.plan;
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for (const Id& id : old_index_ids_) {
      LB_ASSIGN_OR_RETURN(int64_t until, LockedUntil({ObjectType::kIndex, id.Hex()}, now));
      if (until == 0) {
        plan.index_files_superseded += superseded_.count(id);
        continue;
      }
      locked_index_.insert(id);
      plan.index_files_locked++;
      plan.locked_until = std::max(plan.locked_until, until);
      for (const Id& pack : index_packs_[id]) {
        auto it = pack_numbers_.find(pack);
        if (it != pack_numbers_.end()) pinned_.insert(it->second);
      }
    }
    uint64_t asked = 0;
    for (uint32_t p = 0; p < packs_.size(); ++p) {
      if (missing_.count(p) || pinned_.count(p)) continue;
      CountPack(p);
      if (packs_[p].unused_blobs == 0) continue;  // kept whatever happens
      ++asked;
      LB_ASSIGN_OR_RETURN(int64_t until,
                          LockedUntil({ObjectType::kPack, packs_[p].pack.id.Hex()}, now));
      if (until == 0) continue;
      pinned_.insert(p);
      plan.locked_until = std::max(plan.locked_until, until);
    }
    std::vector<std::string> unreferenced;
    for (const std::string& name : plan.unreferenced_packs) {
      ++asked;
      LB_ASSIGN_OR_RETURN(int64_t until, LockedUntil({ObjectType::kPack, name}, now));
      if (until == 0) {
        unreferenced.push_back(name);
        continue;
      }
      plan.locked_until = std::max(plan.locked_until, until);
      plan.packs_locked++;
      auto size = repo_.backend().Stat({ObjectType::kPack, name});
      uint64_t bytes = size.ok() ? *size : 0;
      plan.bytes_locked += bytes;
      plan.packs_unreferenced--;
      plan.bytes_unreferenced -= std::min(plan.bytes_unreferenced, bytes);
    }
    plan.unreferenced_packs = std::move(unreferenced);
    Log("object lock: asked the retention of " + std::to_string(asked) + " packs and " +
        std::to_string(old_index_ids_.size()) + " index files");
    return Status::Ok();
  }

  void Plan() {
    PrunePlan& plan = result_.plan;
    std::vector<uint32_t> candidates;
    for (uint32_t p = 0; p < packs_.size(); ++p) {
      if (missing_.count(p)) continue;
      CountPack(p);
      PackState& pack = packs_[p];
      plan.bytes_used += pack.used_bytes;
      plan.bytes_unused += pack.unused_bytes;
      plan.blobs_unused += pack.unused_blobs;
      for (uint32_t e = 0; e < pack.pack.blobs.size(); ++e) {
        const PackedBlob& b = pack.pack.blobs[e];
        if (used_.count({b.type, b.id}) && !IsAssigned(p, e)) plan.blobs_duplicate++;
      }
      if (pinned_.count(p)) {
        // Locked: stays as it is, whatever it holds.
        if (pack.unused_blobs > 0) {
          plan.packs_locked++;
          plan.bytes_locked += pack.size;
        }
        continue;
      }
      if (pack.used_blobs == 0) {
        pack.action = Action::kDelete;
      } else if (pack.unused_blobs > 0) {
        candidates.push_back(p);
      }
    }
    plan.blobs_used = assigned_.size();

    // Most unused share first; stop once what is left is within the limit.
    std::sort(candidates.begin(), candidates.end(), [&](uint32_t a, uint32_t b) {
      double ua = static_cast<double>(packs_[a].unused_bytes) /
                  (packs_[a].unused_bytes + packs_[a].used_bytes);
      double ub = static_cast<double>(packs_[b].unused_bytes) /
                  (packs_[b].unused_bytes + packs_[b].used_bytes);
      if (ua != ub) return ua > ub;
      return packs_[a].pack.id < packs_[b].pack.id;
    });
    uint64_t unused_left = 0;
    for (uint32_t p : candidates) unused_left += packs_[p].unused_bytes;
    uint64_t repack_bytes = 0;
    for (uint32_t p : candidates) {
      double limit =
          options_.max_unused_fraction * static_cast<double>(plan.bytes_used + unused_left);
      if (static_cast<double>(unused_left) <= limit) break;
      if (packs_[p].used_bytes > options_.max_repack_bytes - repack_bytes) continue;
      packs_[p].action = Action::kRepack;
      repack_bytes += packs_[p].used_bytes;
      unused_left -= packs_[p].unused_bytes;
    }

    // A used blob whose kept copy is in a pack being rewritten, but which has
    // another copy in a pack that stays, is not copied: that copy is kept.
    for (auto& [key, copy] : assigned_) {
      if (packs_[copy.pack].action != Action::kRepack) continue;
      copies_.at(key).ForEach([&](const Copy& c) {
        if (packs_[c.pack].action == Action::kKeep && !missing_.count(c.pack) &&
            packs_[copy.pack].action == Action::kRepack)
          copy = c;
      });
    }

    for (uint32_t p = 0; p < packs_.size(); ++p) {
      if (missing_.count(p)) continue;
      PackState& pack = packs_[p];
      CountPack(p);
      if (pack.action == Action::kRepack && pack.used_blobs == 0) pack.action = Action::kDelete;
      switch (pack.action) {
        case Action::kKeep:
          plan.packs_keep++;
          plan.bytes_unused_after += pack.unused_bytes;
          break;
        case Action::kRepack:
          plan.packs_repack++;
          plan.repack_packs.push_back(pack.pack.id);
          plan.blobs_repack += pack.used_blobs;
          plan.bytes_repack += pack.used_bytes;
          plan.bytes_to_free += pack.size;
          break;
        case Action::kDelete:
          plan.packs_delete++;
          plan.delete_packs.push_back(pack.pack.id);
          plan.bytes_to_free += pack.size;
          break;
      }
    }
    plan.bytes_to_free += plan.bytes_unreferenced;
  }

  bool IndexChanges() const {
    return !result_.plan.delete_packs.empty() || !result_.plan.repack_packs.empty() ||
           result_.plan.packs_missing > 0 || result_.plan.index_files_superseded > 0;
  }

  // ---------------------------------------------------------------- execute

  // Copies the used blobs of the packs being rewritten into new packs.
  // Several threads read packs at once (opening and checking each blob is
  // CPU work; with a remote repository each read also waits for the
  // network). A blob keeps its stored form: decrypted, its id checked, and
  // sealed again under a new pack's key without being compressed again. The
  // repository's pack writers and uploaders store the new packs and write
  // index files for them, as for a backup; WriteIndex then folds those into
  // the new index and supersedes them with the old files.
  Status Repack() {
    if (result_.plan.repack_packs.empty()) return Status::Ok();
    Log("repacking " + std::to_string(result_.plan.repack_packs.size()) + " packs");
    std::vector<uint32_t> todo;
    for (uint32_t p = 0; p < packs_.size(); ++p) {
      if (packs_[p].action == Action::kRepack) todo.push_back(p);
    }
    const WriteStats& stats = repo_.write_stats();
    const uint64_t packs_before = stats.packs_written;
    const uint64_t bytes_before = stats.pack_bytes_written;
    const std::vector<Id> index_before = repo_.LoadedIndexFiles();
    PruneProgress* progress = options_.progress;
    if (progress) {
      progress->packs_total = todo.size();
      progress->bytes_total = result_.plan.bytes_repack;
    }

    // Per worker, reused: the pack range read and the blob being copied.
    const size_t threads = std::min(todo.size(), RepackThreads());
    std::vector<RawBuffer> bytes(threads);
    std::vector<StoredBlob> blobs(threads);
    Status repacked = ParallelFor(todo.size(), threads, [&](size_t i, size_t worker) {
      Status s = RepackPack(todo[i], &bytes[worker], &blobs[worker]);
      if (s.ok() && progress) {
        progress->packs_done++;
        progress->bytes_done += packs_[todo[i]].used_bytes;
      }
      return s;
    });
    // Packs already stored stay unindexed then: the next prune deletes them.
    LB_RETURN_IF_ERROR(repacked);
    Status flushed = repo_.Flush();
    if (!flushed.ok()) return flushed.WithContext("unable to store the repacked blobs");

    result_.packs_written = stats.packs_written - packs_before;
    result_.bytes_written = stats.pack_bytes_written - bytes_before;
    const std::unordered_set<Id> before(index_before.begin(), index_before.end());
    for (const Id& id : repo_.LoadedIndexFiles()) {
      if (!before.count(id)) repack_index_files_.push_back(id);
    }
    Log("wrote " + std::to_string(result_.packs_written) + " new packs");
    return Status::Ok();
  }

  // Repacks the blobs assigned to pack `p`, read in one range from the first
  // of them to the end of the last.
  Status RepackPack(uint32_t p, RawBuffer* bytes, StoredBlob* blob) {
    const PackState& pack = packs_[p];
    const std::vector<PackedBlob>& blobs = pack.pack.blobs;
    uint64_t begin = UINT64_MAX, end = 0;
    for (uint32_t e = 0; e < blobs.size(); ++e) {
      if (!IsAssigned(p, e)) continue;
      begin = std::min<uint64_t>(begin, blobs[e].offset);
      end = std::max<uint64_t>(end, uint64_t(blobs[e].offset) + blobs[e].length);
    }
    if (begin >= end) return Status::Ok();
    Status loaded = repo_.backend().LoadInto({ObjectType::kPack, pack.pack.id.Hex()}, begin,
                                             end - begin, bytes);
    if (!loaded.ok()) {
      const std::string what = "unable to read pack " + pack.pack.id.Short() + " for repacking";
      // Damage (a pack shorter than its index says) is check's to report;
      // other errors (I/O, network) keep their own hint.
      if (loaded.code() == Code::kCorrupt) {
        return Status(Code::kCorrupt, what + ": " + loaded.message(), kCheckHint);
      }
      return loaded.WithContext(what);
    }
    if (bytes->size() != end - begin) {
      return Status(Code::kCorrupt,
                    "pack " + pack.pack.id.Short() + " is shorter than its index says", kCheckHint);
    }
    for (uint32_t e = 0; e < blobs.size(); ++e) {
      if (!IsAssigned(p, e)) continue;
      const PackedBlob& b = blobs[e];
      Status s =
          OpenPackedBlobStoredInto(repo_.keys(), pack.pack.salt, b,
                                   bytes->view().subspan(b.offset - begin, b.length), &blob->data);
      if (s.ok()) {
        blob->compression = b.compression;
        blob->raw_length = b.raw_length;
        s = repo_.VerifyStoredBlob(b.id, *blob);
      }
      if (!s.ok()) {
        return Status(Code::kCorrupt,
                      "unable to repack " + std::string(format::BlobTypeName(b.type)) + " blob " +
                          b.id.Short() + " from pack " + pack.pack.id.Short() + ": " + s.message(),
                      kCheckHint);
      }
      LB_RETURN_IF_ERROR(repo_.SaveRepackedBlob(b.type, b.id, *blob));
    }
    return Status::Ok();
  }

  Status WriteIndex() {
    std::vector<const IndexedPack*> keep;
    for (uint32_t p = 0; p < packs_.size(); ++p) {
      if (!missing_.count(p) && packs_[p].action == Action::kKeep) keep.push_back(&packs_[p].pack);
    }
    // The files the repository wrote for the repacked packs: their packs go
    // into the new index, and the files themselves go with the old ones.
    std::vector<IndexFile> repacked;
    for (const Id& id : repack_index_files_) {
      auto f = repo_.LoadIndexFile(id);
      if (!f.ok()) {
        return f.status().WithContext("unable to read back index/" + id.Hex() +
                                      " of the repacked packs");
      }
      repacked.push_back(std::move(*f));
    }
    for (const IndexFile& f : repacked) {
      for (const IndexedPack& p : f.packs) keep.push_back(&p);
    }
    IndexFile file;
    file.supersedes = old_index_ids_;
    file.supersedes.insert(file.supersedes.end(), repack_index_files_.begin(),
                           repack_index_files_.end());
    size_t blobs = 0;
    auto flush = [&]() -> Status {
      auto id = repo_.SaveIndexFile(file);
      if (!id.ok()) return id.status().WithContext("unable to write the new index");
      result_.new_index_files.push_back(*id);
      file.packs.clear();
      blobs = 0;
      return Status::Ok();
    };
    for (const IndexedPack* p : keep) {
      if (!file.packs.empty() && blobs + p->blobs.size() > kMaxBlobsPerIndexFile) {
        LB_RETURN_IF_ERROR(flush());
      }
      file.packs.push_back(*p);
      blobs += p->blobs.size();
    }
    // Also when nothing is kept: the file records what it supersedes.
    if (!file.packs.empty() || result_.new_index_files.empty()) LB_RETURN_IF_ERROR(flush());
    Log("wrote " + std::to_string(result_.new_index_files.size()) + " index files");
    return Status::Ok();
  }

  Status DeleteOldIndexFiles() {
    for (const Id& id : old_index_ids_) {
      if (locked_index_.count(id)) continue;  // superseded, removed by a later prune
      Status s = repo_.backend().Remove({ObjectType::kIndex, id.Hex()});
      if (!s.ok() && s.code() != Code::kNotFound) {
        return s.WithContext("unable to delete old index/" + id.Hex() +
                             " (the new index is complete; run prune again to finish)");
      }
      result_.index_files_deleted++;
    }
    // Folded into the new index. With Object Lock they were locked as they
    // were written: they stay, superseded, until a later prune finds them
    // unlocked (as for old index files under a lock).
    if (repo_.backend().Capabilities().object_lock) return Status::Ok();
    for (const Id& id : repack_index_files_) {
      Status s = repo_.backend().Remove({ObjectType::kIndex, id.Hex()});
      if (!s.ok() && s.code() != Code::kNotFound) {
        return s.WithContext("unable to delete index/" + id.Hex() +
                             " (the new index is complete; run prune again to finish)");
      }
    }
    return Status::Ok();
  }

  Status DeletePacks() {
    std::vector<std::pair<std::string, uint64_t>> doomed;
    for (uint32_t p = 0; p < packs_.size(); ++p) {
      if (!missing_.count(p) && packs_[p].action != Action::kKeep)
        doomed.emplace_back(packs_[p].pack.id.Hex(), packs_[p].size);
    }
    for (const std::string& name : result_.plan.unreferenced_packs) {
      auto size = repo_.backend().Stat({ObjectType::kPack, name});
      doomed.emplace_back(name, size.ok() ? *size : 0);
    }
    Log("deleting " + std::to_string(doomed.size()) + " packs");
    for (const auto& [name, size] : doomed) {
      Status s = repo_.backend().Remove({ObjectType::kPack, name});
      if (!s.ok() && s.code() != Code::kNotFound) {
        return s.WithContext("unable to delete pack " + name.substr(0, 8) +
                             " (it is no longer needed; run prune again to finish)");
      }
      result_.packs_deleted++;
      result_.bytes_freed += size;
    }
    return Status::Ok();
  }

  Repository& repo_;
  const PruneOptions& options_;
  std::function<void(std::string_view)> log_;

  std::vector<std::string> index_names_;
  std::vector<Id> old_index_ids_;
  std::vector<PackState> packs_;  // every pack listed in the index
  std::unordered_map<Id, uint32_t> pack_numbers_;
  std::unordered_set<uint32_t> missing_;                     // listed packs not in the backend
  std::unordered_set<Id> superseded_;                        // named by some index's supersedes
  std::unordered_map<Id, std::vector<Id>> index_packs_;      // index file → the packs it lists
  std::unordered_set<Id> locked_index_;                      // old index files under a lock
  std::unordered_set<uint32_t> pinned_;                      // locked packs: never removed
  std::unordered_map<BlobKey, Copies, BlobKeyHash> copies_;  // blobs in present packs
  std::unordered_set<BlobKey, BlobKeyHash> used_;
  std::unordered_map<BlobKey, Copy, BlobKeyHash> assigned_;  // the copy kept of each used blob
  std::vector<Id> repack_index_files_;  // written by the repository for the repacked packs
  PruneResult result_;
};

}  // namespace

Result<PruneResult> Prune(Repository& repo, const PruneOptions& options,
                          std::function<void(std::string_view)> log) {
  if (!(options.max_unused_fraction >= 0 && options.max_unused_fraction <= 1)) {
    return InvalidArgument("max unused fraction must be between 0 and 1");
  }
  LB_ASSIGN_OR_RETURN(auto lock, RepoLock::Acquire(repo, /*exclusive=*/true));
  Pruner pruner(repo, options, std::move(log));
  auto result = pruner.Run();
  // A lock we fail to remove goes stale on its own; the prune's outcome stands.
  lock->Release().IgnoreError();
  return result;
}

}  // namespace lifeboat
