#include "check/checker.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "base/parallel_for.h"
#include "crypto/hash.h"
#include "model/tree.h"
#include "repo/key_file.h"

namespace lifeboat {
namespace {

constexpr size_t kMaxFindingsPerPack = 20;

std::string PackObject(const Id& id) { return ObjectName{ObjectType::kPack, id.Hex()}.ToString(); }

uint64_t IdPrefix64(const Id& id) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | id.bytes[i];
  return v;
}

// (type, id): a tree and a data blob may share an id (same plaintext).
struct BlobKey {
  format::BlobType type;
  Id id;
  friend bool operator==(const BlobKey&, const BlobKey&) = default;
};
struct BlobKeyHash {
  size_t operator()(const BlobKey& k) const { return IdHash()(k.id) ^ static_cast<size_t>(k.type); }
};

// Expected stored size of a pack from its index entries: header, the blobs
// back to back, then the sealed trailer and footer.
uint64_t ExpectedPackSize(const IndexedPack& pack) {
  uint64_t end = format::kPackHeaderSize;
  for (const PackedBlob& b : pack.blobs) end = std::max(end, uint64_t(b.offset) + b.length);
  return end + PackTailSizeFor(pack.blobs.size());
}

std::vector<PackedBlob> SortedByOffset(std::vector<PackedBlob> blobs) {
  std::sort(blobs.begin(), blobs.end(),
            [](const PackedBlob& a, const PackedBlob& b) { return a.offset < b.offset; });
  return blobs;
}

struct PackRecord {
  IndexedPack pack;        // as listed by the first index file naming it
  std::string index_file;  // that index file
  bool present = false;    // exists in the backend
  uint64_t stored_size = 0;
};

// Loads trees ahead of the check's depth-first walk on several threads, so
// the walk seldom waits for a read (on remote storage, a round trip per
// tree: the walk that loaded them one by one spent 600 round trips on 155
// small snapshots). Queued trees are read last-queued first and a tree's
// subtrees are queued first-child-on-top as soon as it is read, so the
// reads run just ahead of the walk, in its order. The walk takes each tree
// once: a queued tree not yet being read it loads itself, an unqueued one
// too. At most `max_ahead` read trees wait to be taken (the memory bound);
// the readers pause until the walk takes one.
// Not restore's TreePrefetcher: that one follows one snapshot occurrence by
// occurrence (a subtree found in two places is walked twice, what the
// selection leaves out is forgotten); check visits each distinct tree once
// across all snapshots, and this reader reads each at most once.
// Thread-safety: Queue and Take may be called from any thread.
class TreeReadAhead {
 public:
  using Loader = std::function<Result<Tree>(const Id&)>;
  TreeReadAhead(Loader load, size_t threads, size_t max_ahead)
      : load_(std::move(load)), max_ahead_(std::max<size_t>(1, max_ahead)) {
    for (size_t t = 0; t < std::max<size_t>(1, threads); ++t) {
      readers_.emplace_back([this] { Read(); });
    }
  }
  ~TreeReadAhead() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : readers_) t.join();
  }
  TreeReadAhead(const TreeReadAhead&) = delete;
  TreeReadAhead& operator=(const TreeReadAhead&) = delete;

  // Queues a tree unless it was queued or taken before.
  void Queue(const Id& id) {
    {
      std::lock_guard lock(mu_);
      if (stop_ || !seen_.insert(id).second) return;
      entries_.try_emplace(id);
      stack_.push_back(id);
    }
    work_cv_.notify_one();
  }

  // The tree's load result: the one read ahead (waiting for it while it is
  // being read), else loaded here. Its subtrees are queued either way.
  Result<Tree> Take(const Id& id) {
    std::unique_lock lock(mu_);
    seen_.insert(id);  // not to be queued (and read for nothing) later
    auto it = entries_.find(id);
    if (it != entries_.end() && it->second.state != State::kQueued) {
      // Elements stay put when the map rehashes (iterators do not).
      Entry* entry = &it->second;
      done_cv_.wait(lock, [&] { return entry->state == State::kDone; });
      Result<Tree> tree = std::move(*entry->result);
      entries_.erase(id);
      --held_;
      lock.unlock();
      work_cv_.notify_one();  // a reader may be waiting for room
      return tree;
    }
    if (it != entries_.end()) entries_.erase(it);  // its reader will skip it
    lock.unlock();
    Result<Tree> tree = load_(id);
    if (tree.ok()) QueueSubtrees(*tree);
    return tree;
  }

 private:
  enum class State { kQueued, kReading, kDone };
  struct Entry {
    State state = State::kQueued;
    std::optional<Result<Tree>> result;
  };

  void QueueSubtrees(const Tree& tree) {
    for (auto node = tree.nodes.rbegin(); node != tree.nodes.rend(); ++node) {
      if (node->type == NodeType::kDir && node->subtree) Queue(*node->subtree);
    }
  }

  void Read() {
    std::unique_lock lock(mu_);
    while (true) {
      work_cv_.wait(lock, [&] { return stop_ || (!stack_.empty() && held_ < max_ahead_); });
      if (stop_) return;
      const Id id = stack_.back();
      stack_.pop_back();
      auto it = entries_.find(id);
      if (it == entries_.end()) continue;  // the walk took it first
      it->second.state = State::kReading;
      ++held_;
      lock.unlock();
      Result<Tree> tree = load_(id);
      if (tree.ok()) QueueSubtrees(*tree);
      lock.lock();
      it = entries_.find(id);  // still there: Take waits for a tree being read
      it->second.result = std::move(tree);
      it->second.state = State::kDone;
      done_cv_.notify_all();
    }
  }

  const Loader load_;
  const size_t max_ahead_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::vector<Id> stack_;                  // queued ids, the last queued on top
  std::unordered_map<Id, Entry> entries_;  // queued, being read or read; not yet taken
  std::unordered_set<Id> seen_;            // every tree ever queued or taken
  size_t held_ = 0;                        // trees being read or read, not yet taken
  std::vector<std::thread> readers_;
  bool stop_ = false;
};

class Checker {
 public:
  Checker(Repository& repo, const CheckOptions& options, CheckProgress* progress)
      : repo_(repo), options_(options), progress_(progress) {}

  Result<CheckReport> Run() {
    CheckConfig();
    CheckKeys();
    LB_RETURN_IF_ERROR(LoadIndexFiles());
    LB_RETURN_IF_ERROR(CheckPacks());
    if (options_.read_data) ReadData();
    LB_RETURN_IF_ERROR(CheckSnapshots());
    return std::move(report_);
  }

 private:
  void Add(Severity severity, std::string object, std::string message, std::string hint = {}) {
    std::lock_guard lock(mu_);
    report_.findings.push_back({severity, std::move(object), std::move(message), std::move(hint)});
  }

  // ---------------------------------------------------------------- config, keys

  void CheckConfig() {
    auto payload = repo_.LoadObject(ObjectType::kConfig, "config");
    if (!payload.ok()) {
      Add(Severity::kError, "config", payload.status().message(),
          "the repository config is damaged; restore it from a copy of the repository");
      return;
    }
    try {
      auto doc = nlohmann::json::parse(AsString(*payload));
      int version = doc.at("version").get<int>();
      if (version != format::kRepositoryVersion) {
        Add(Severity::kError, "config",
            "repository format version " + std::to_string(version) + " is not supported",
            "use a lifeboat version that supports it");
      }
      if (doc.at("id").get<std::string>() != repo_.config().id) {
        Add(Severity::kError, "config", "repository id differs from the one opened");
      }
    } catch (const nlohmann::json::exception& e) {
      Add(Severity::kError, "config", std::string("malformed: ") + e.what());
    }
  }

  void CheckKeys() {
    std::vector<std::string> names;
    Status listed = repo_.backend().List(ObjectType::kKey, [&](const ObjectInfo& o) {
      names.push_back(o.name);
      return Status::Ok();
    });
    if (!listed.ok()) {
      Add(Severity::kError, "keys", "unable to list key files: " + listed.message());
      return;
    }
    for (const std::string& name : names) {
      std::string object = ObjectName{ObjectType::kKey, name}.ToString();
      auto doc = repo_.backend().Load({ObjectType::kKey, name});
      if (!doc.ok()) {
        Add(Severity::kError, object, "unable to read: " + doc.status().message());
        continue;
      }
      auto info = ReadKeyFileInfo(AsString(*doc));
      if (!info.ok()) {
        Add(Severity::kError, object, "key file is malformed: " + info.status().message(),
            "this password no longer opens the repository; remove the key with 'lifeboat key "
            "remove' and add it again");
      }
    }
  }

  // ---------------------------------------------------------------- index

  Status LoadIndexFiles() {
    LB_ASSIGN_OR_RETURN(auto names, ListNames(repo_.backend(), ObjectType::kIndex));
    report_.index_files = names.size();
    // A read (a round trip on remote storage) and a decryption each.
    std::vector<Result<IndexFile>> files(names.size(), Result<IndexFile>(Internal("not loaded")));
    (void)ParallelFor(names.size(), repo_.MetadataThreads(), [&](size_t i, size_t) {
      auto id = Id::FromHex(names[i]);
      files[i] =
          id.ok() ? repo_.LoadIndexFile(*id) : Result<IndexFile>(Corrupt("not an index file name"));
      return Status::Ok();
    });
    for (size_t i = 0; i < names.size(); ++i) {
      std::string object = ObjectName{ObjectType::kIndex, names[i]}.ToString();
      if (!files[i].ok()) {
        Add(Severity::kError, object, "unable to load: " + files[i].status().message(),
            "packs listed only in this index file are invisible; 'lifeboat check' reports them "
            "as unreferenced, and 'lifeboat prune' would delete them");
        continue;
      }
      for (IndexedPack& pack : files[i]->packs) {
        auto [it, inserted] = packs_.try_emplace(pack.id);
        if (inserted) {
          it->second.pack = std::move(pack);
          it->second.index_file = names[i];
        } else if (SortedByOffset(it->second.pack.blobs) != SortedByOffset(pack.blobs) ||
                   it->second.pack.salt != pack.salt) {
          Add(Severity::kError, PackObject(pack.id),
              "listed differently in index/" + it->second.index_file + " and " + object);
        }
      }
    }
    report_.packs = packs_.size();
    return Status::Ok();
  }

  // ---------------------------------------------------------------- packs

  Status CheckPacks() {
    LB_ASSIGN_OR_RETURN(auto stored, ListSizes(repo_.backend(), ObjectType::kPack));
    for (auto& [id, record] : packs_) {
      auto it = stored.find(id.Hex());
      if (it == stored.end()) {
        Add(Severity::kError, PackObject(id),
            "pack is missing (listed in index/" + record.index_file + " with " +
                std::to_string(record.pack.blobs.size()) + " blobs)",
            "restore the pack from another copy of the repository if you have one; otherwise "
            "forget the snapshots reported as damaged and back up again");
        continue;
      }
      record.present = true;
      record.stored_size = it->second;
      uint64_t expected = ExpectedPackSize(record.pack);
      if (record.stored_size != expected) {
        Add(Severity::kError, PackObject(id),
            "pack is " + std::to_string(record.stored_size) + " bytes, its index entry implies " +
                std::to_string(expected) +
                (record.stored_size < expected ? " (truncated)" : " (damaged)"),
            "restore the pack from another copy of the repository if you have one");
        for (const PackedBlob& b : record.pack.blobs) {
          if (uint64_t(b.offset) + b.length > record.stored_size) MarkDamaged(id, b);
        }
      }
      index_.AddPack(record.pack);
      stored.erase(it);
    }
    for (const auto& [name, size] : stored) {
      Add(Severity::kWarning, ObjectName{ObjectType::kPack, name}.ToString(),
          "unreferenced pack (left by an interrupted backup; prune removes it)",
          "run 'lifeboat prune' to delete it");
    }
    return Status::Ok();
  }

  // Records a damaged blob copy; it matters if it is the copy a restore reads.
  void MarkDamaged(const Id& pack_id, const PackedBlob& blob) {
    std::lock_guard lock(mu_);
    damaged_.insert({pack_id, blob.offset});
  }
  bool IsDamaged(const BlobLocation& loc) {
    std::lock_guard lock(mu_);
    return damaged_.count({loc.pack_id, loc.blob.offset}) > 0;
  }

  void ReadData() {
    std::vector<const PackRecord*> selected;
    for (const auto& [id, record] : packs_) {
      if (record.present && options_.read_data_subset.Selects(id)) selected.push_back(&record);
    }
    if (progress_) progress_->packs_total += selected.size();
    const size_t threads = std::clamp<size_t>(options_.threads > 0 ? options_.threads : 1, 1, 64);
    // A pack's bytes per worker, reused from pack to pack and freed with the
    // check (not thread_local: the caller's thread works too, and a
    // long-running process would keep its buffer).
    std::vector<RawBuffer> buffers(threads);
    // Each pack's findings are kept apart and reported in pack order: the
    // same damage gives the same report, whatever the threads' timing.
    std::vector<std::vector<Finding>> found(selected.size());
    (void)ParallelFor(selected.size(), threads, [&](size_t i, size_t worker) {
      VerifyPack(*selected[i], buffers[worker], &found[i]);
      if (progress_) progress_->packs_done++;
      return Status::Ok();
    });
    std::lock_guard lock(mu_);
    for (std::vector<Finding>& pack : found) {
      for (Finding& f : pack) report_.findings.push_back(std::move(f));
    }
  }

  // Reads one pack and verifies its name (SHA-256 of its bytes), its
  // trailer against the index, and every blob where the index (what restore
  // uses) says it is. The pack is hashed piece by piece as it is read, and
  // each blob verified as soon as the read has passed its end, while its
  // bytes are still in cache; its findings go to *found once the whole pack
  // is in.
  void VerifyPack(const PackRecord& record, RawBuffer& data, std::vector<Finding>* found) {
    const Id& id = record.pack.id;
    const std::string object = PackObject(id);
    auto Found = [&](Severity severity, const std::string& obj, std::string message,
                     std::string hint = {}) {
      found->push_back({severity, obj, std::move(message), std::move(hint)});
    };
    const std::vector<PackedBlob>& blobs = record.pack.blobs;
    std::vector<size_t> by_end(blobs.size());
    std::iota(by_end.begin(), by_end.end(), size_t{0});
    std::sort(by_end.begin(), by_end.end(), [&](size_t a, size_t b) {
      return uint64_t{blobs[a].offset} + blobs[a].length <
             uint64_t{blobs[b].offset} + blobs[b].length;
    });
    std::vector<std::string> problems(blobs.size());
    size_t verified = 0;  // the first entries of by_end

    Sha256Stream hash;
    size_t hashed = 0;
    auto on_loaded = [&](size_t loaded) {
      hash.Update(ByteView(data.data() + hashed, loaded - hashed));
      hashed = loaded;
      for (; verified < by_end.size(); ++verified) {
        const PackedBlob& b = blobs[by_end[verified]];
        if (uint64_t{b.offset} + b.length > loaded) break;
        problems[by_end[verified]] =
            VerifyBlob(b, record.pack.salt, ByteView(data.data() + b.offset, b.length));
      }
      return Status::Ok();
    };
    Status loaded = repo_.backend().LoadInPieces({ObjectType::kPack, id.Hex()}, &data, on_loaded);
    if (!loaded.ok()) {
      Found(Severity::kError, object, "unable to read: " + loaded.message());
      return;
    }
    {
      std::lock_guard lock(mu_);
      report_.packs_read++;
      report_.bytes_read += data.size();
    }
    if (progress_) progress_->bytes_done += data.size();
    const ByteView all = data.view();
    if (hash.Finish() != id) {
      Found(Severity::kError, object, "content does not match its name (damaged file)",
            "restore the pack from another copy of the repository if you have one");
    }
    if (all.size() < format::kPackHeaderSize) {
      Found(Severity::kError, object, "pack is too short to hold a header");
    } else {
      auto layout =
          ReadPackLayout(repo_.keys(), all.first(format::kPackHeaderSize), all, all.size());
      if (!layout.ok()) {
        Found(Severity::kError, object,
              "unable to read the pack trailer: " + layout.status().message());
      } else if (layout->salt != record.pack.salt ||
                 SortedByOffset(layout->blobs) != SortedByOffset(blobs)) {
        Found(Severity::kError, object,
              "pack trailer (" + std::to_string(layout->blobs.size()) + " blobs) and index/" +
                  record.index_file + " (" + std::to_string(blobs.size()) + " blobs) disagree");
      }
    }
    for (; verified < by_end.size(); ++verified) {
      problems[by_end[verified]] = "lies beyond the end of the pack";
    }
    size_t bad = 0;
    for (size_t i = 0; i < blobs.size(); ++i) {
      if (problems[i].empty()) continue;
      const PackedBlob& b = blobs[i];
      MarkDamaged(id, b);
      if (++bad <= kMaxFindingsPerPack) {
        Found(Severity::kError, object,
              std::string(format::BlobTypeName(b.type)) + " blob " + b.id.Short() + ": " +
                  problems[i]);
      }
    }
    if (bad > kMaxFindingsPerPack) {
      Found(Severity::kError, object,
            std::to_string(bad - kMaxFindingsPerPack) + " more damaged blobs in this pack");
    }
  }

  // Decrypts and decompresses one blob and checks its id: empty when it is
  // sound, else what is wrong.
  std::string VerifyBlob(const PackedBlob& b, ByteView pack_salt, ByteView sealed) {
    thread_local RawBuffer plain;  // reused: one blob at a time per worker
    Status opened = OpenPackedBlobInto(repo_.keys(), pack_salt, b, sealed, &plain);
    if (!opened.ok()) return opened.message();
    if (repo_.ComputeBlobId(plain.view()) != b.id) return "content does not match its id";
    return {};
  }

  // ---------------------------------------------------------------- snapshots

  Status CheckSnapshots() {
    LB_ASSIGN_OR_RETURN(auto names, ListNames(repo_.backend(), ObjectType::kSnapshot));
    report_.snapshots = names.size();
    // Loaded up front on several threads (a round trip each on remote
    // storage); their trees are then checked in name order.
    std::vector<std::optional<Result<Snapshot>>> loaded(names.size());
    (void)ParallelFor(names.size(), repo_.MetadataThreads(), [&](size_t i, size_t) {
      if (auto id = Id::FromHex(names[i]); id.ok()) loaded[i] = repo_.LoadSnapshot(*id);
      return Status::Ok();
    });
    TreeReadAhead read_ahead([this](const Id& id) { return LoadTree(id); }, repo_.MetadataThreads(),
                             kTreesAhead);
    for (size_t i = names.size(); i-- > 0;) {  // the first snapshot's root on top
      if (loaded[i] && loaded[i]->ok()) read_ahead.Queue((*loaded[i])->tree);
    }
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& name = names[i];
      std::string label = "snapshot " + name.substr(0, 8);
      auto id = Id::FromHex(name);
      if (!id.ok()) {
        Add(Severity::kError, label, "snapshot file name is not an id",
            "remove snapshots/" + name + " if it is not yours");
        continue;
      }
      Result<Snapshot>& snapshot = *loaded[i];
      if (!snapshot.ok()) {
        Add(Severity::kError, label, "unable to load: " + snapshot.status().message(),
            "the snapshot is lost; 'lifeboat forget " + id->Short() + "' removes it");
        continue;
      }
      if (!CheckTree(read_ahead, snapshot->tree, "/", label)) {
        Add(Severity::kError, label,
            "cannot be restored completely: files or folders in it refer to missing or damaged "
            "data (see the findings above)",
            "restore the missing packs from another copy if you have one; otherwise forget this "
            "snapshot, and back up again so the data is stored anew");
      }
    }
    return Status::Ok();
  }

  // Returns true if the tree and everything under it is intact. Each tree is
  // checked once; findings name the first snapshot and path reaching it.
  bool CheckTree(TreeReadAhead& read_ahead, const Id& tree_id, const std::string& path,
                 const std::string& snapshot) {
    if (auto it = tree_ok_.find(tree_id); it != tree_ok_.end()) return it->second;
    report_.trees++;
    std::string object = "tree " + tree_id.Short();
    std::string where = " (" + path + " in " + snapshot + ")";
    auto tree = read_ahead.Take(tree_id);
    if (!tree.ok()) {
      Add(Severity::kError, object, tree.status().message() + where);
      tree_ok_[tree_id] = false;
      return false;
    }
    bool intact = true;
    for (const Node& node : tree->nodes) {
      std::string child = path == "/" ? "/" + node.name : path + "/" + node.name;
      if (node.type == NodeType::kDir) {
        if (!node.subtree) {
          Add(Severity::kError, object, "folder " + child + " has no subtree" + where);
          intact = false;
        } else if (!CheckTree(read_ahead, *node.subtree, child, snapshot)) {
          intact = false;
        }
      }
      for (const Id& blob : node.content) {
        if (!CheckDataBlob(blob, child, snapshot)) intact = false;
      }
    }
    tree_ok_[tree_id] = intact;
    return intact;
  }

  bool CheckDataBlob(const Id& id, const std::string& path, const std::string& snapshot) {
    auto [it, inserted] = data_ok_.try_emplace(id, true);
    if (!inserted) return it->second;
    report_.blobs++;
    auto loc = index_.Find(format::BlobType::kData, id);
    std::string problem;
    if (!loc) {
      problem = "is missing: not in the index, or only in a missing pack";
    } else if (IsDamaged(*loc)) {
      problem = "is damaged in " + PackObject(loc->pack_id);
    }
    if (problem.empty()) return true;
    it->second = false;
    Add(Severity::kError, "data blob " + id.Short(),
        problem + " (used by " + path + " in " + snapshot + ")");
    return false;
  }

  Result<Tree> LoadTree(const Id& id) {
    auto loc = index_.Find(format::BlobType::kTree, id);
    if (!loc) return NotFound("is missing: not in the index, or only in a missing pack");
    if (IsDamaged(*loc)) return Corrupt("is damaged in " + PackObject(loc->pack_id));
    auto sealed = repo_.backend().Load({ObjectType::kPack, loc->pack_id.Hex()}, loc->blob.offset,
                                       loc->blob.length);
    if (!sealed.ok()) {
      return sealed.status().WithContext("unable to read it from " + PackObject(loc->pack_id));
    }
    auto plain = OpenPackedBlob(repo_.keys(), loc->pack_salt, loc->blob, *sealed);
    if (!plain.ok()) return plain.status().WithContext("in " + PackObject(loc->pack_id));
    if (repo_.ComputeBlobId(*plain) != id) return Corrupt("content does not match its id");
    auto tree = DecodeTree(*plain);
    if (!tree.ok()) return tree.status().WithContext("unable to decode");
    return tree;
  }

  struct DamageKey {
    Id pack;
    uint32_t offset;
    friend bool operator==(const DamageKey&, const DamageKey&) = default;
  };
  struct DamageKeyHash {
    size_t operator()(const DamageKey& k) const { return IdHash()(k.pack) ^ k.offset; }
  };

  Repository& repo_;
  const CheckOptions& options_;
  CheckProgress* progress_;

  std::mutex mu_;  // guards report_ findings/counters and damaged_ while threads run
  CheckReport report_;
  std::unordered_set<DamageKey, DamageKeyHash> damaged_;

  std::map<Id, PackRecord> packs_;  // every pack listed in a readable index file
  MasterIndex index_;               // blobs of the packs present in the backend
  std::unordered_map<Id, bool> tree_ok_;
  std::unordered_map<Id, bool> data_ok_;
  // Trees read ahead of the walk and not yet taken: a few MB for typical
  // trees (a folder's tree holds ~100 bytes per entry).
  static constexpr size_t kTreesAhead = 256;
};

}  // namespace

std::string_view SeverityName(Severity severity) {
  return severity == Severity::kError ? "error" : "warning";
}

std::string Finding::ToString() const {
  std::string out = std::string(SeverityName(severity)) + ": " + object + ": " + message;
  if (!hint.empty()) out += " (hint: " + hint + ")";
  return out;
}

bool CheckReport::ok() const { return errors() == 0; }

size_t CheckReport::errors() const {
  return std::count_if(findings.begin(), findings.end(),
                       [](const Finding& f) { return f.severity == Severity::kError; });
}

size_t CheckReport::warnings() const { return findings.size() - errors(); }

bool ReadDataSubset::Selects(const Id& pack_id) const {
  uint64_t v = IdPrefix64(pack_id);
  if (groups > 0) return v % groups == group - 1;
  if (fraction >= 1.0) return true;
  // v / 2^64 < fraction, without floating-point rounding at the top end.
  return static_cast<double>(v) < std::ldexp(fraction, 64);
}

std::string ReadDataSubset::ToString() const {
  if (groups > 0) return std::to_string(group) + "/" + std::to_string(groups);
  if (fraction >= 1.0) return "all";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", fraction * 100);
  return buf;
}

Result<ReadDataSubset> ParseReadDataSubset(std::string_view text) {
  auto invalid = [&] {
    return Status(Code::kInvalidArgument, "invalid read-data subset '" + std::string(text) + "'",
                  "use n/m (read group n of m, e.g. 2/5), a percentage (10%) or a fraction (0.1)");
  };
  auto parse_uint = [](std::string_view s, uint32_t* out) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
  };
  auto parse_double = [](std::string_view s, double* out) {
    if (s.empty() || s.find_first_not_of("0123456789.") != std::string_view::npos) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && ptr == s.data() + s.size();
  };
  ReadDataSubset subset;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    if (!parse_uint(text.substr(0, slash), &subset.group) ||
        !parse_uint(text.substr(slash + 1), &subset.groups) || subset.groups == 0 ||
        subset.group == 0 || subset.group > subset.groups)
      return invalid();
    return subset;
  }
  double value = 0;
  if (!text.empty() && text.back() == '%') {
    if (!parse_double(text.substr(0, text.size() - 1), &value)) return invalid();
    value /= 100;
  } else if (!parse_double(text, &value)) {
    return invalid();
  }
  if (!(value > 0 && value <= 1)) return invalid();
  subset.fraction = value;
  return subset;
}

Result<CheckReport> CheckRepository(Repository& repo, const CheckOptions& options,
                                    CheckProgress* progress) {
  Checker checker(repo, options, progress);
  return checker.Run();
}

}  // namespace lifeboat
