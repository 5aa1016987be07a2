// Restorer implementation: selection walk (filters, subpath, lazy directory
// creation), per-pack content plan executed by worker threads, metadata last.
// See restorer.h for the contract.
#include "restore/restorer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "env/fs_meta.h"
#include "restore/file_writer.h"
#include "restore/tree_walk.h"

namespace lifeboat {
namespace {

constexpr int kRemoteWorkers = 8;             // restore workers for a remote backend
constexpr uint64_t kMaxReadGap = 1 << 20;  // neighbouring blobs closer than this share a read
// One read covers at most this (unless one blob is larger): long reads save
// round trips to a remote store; a local one gains nothing past a few MiB,
// and each worker holds its read buffer.
constexpr uint64_t kMaxRemoteReadSize = 8 << 20;
constexpr uint64_t kMaxLocalReadSize = 4 << 20;
constexpr int kMaxCachedFds = 256;  // descriptors kept open between writes
constexpr uint64_t kEarlyWritebackSize = 256 << 10;  // files this large start writeback when done
// Files this large are written with O_DIRECT (file_writer.h) where the target
// allows; smaller ones are few bytes in many files, cheaper buffered.
constexpr uint64_t kDirectWriteSize = 1 << 20;

std::string Quote(const std::string& s) { return "'" + s + "'"; }

bool StopAsked(const RestorerOptions& options) {
  return options.stop != nullptr && options.stop->load(std::memory_order_relaxed);
}

Status StoppedBeforeWriting() {
  return Status(Code::kCancelled, "restore stopped before it wrote any file",
                "restore again into the same target with --delta to finish it");
}

Status StoppedWhileVerifying() {
  return Status(Code::kCancelled,
                "restore stopped while verifying: the files are restored, "
                "not all were verified",
                "run the restore again with --delta --verify to verify them");
}

int ThreadCount(int requested) {
  if (requested > 0) return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 2 : static_cast<int>(hw);
}

// Runs fn(worker) on `n` threads (the calling thread is one of them) and waits.
void RunWorkers(int n, const std::function<void()>& fn) {
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back(fn);
  fn();
  for (auto& t : threads) t.join();
}

// ---------------------------------------------------------------------------
// TreePrefetcher: loads and decodes, on threads of its own and ahead of a
// depth-first walk, the trees the walk is going to ask for, so the walk itself
// (creating directories, planning files) does not wait for pack reads,
// decryption and decompression. A snapshot of many small directories
// otherwise spends its whole planning phase on one core. One thread keeps up
// with local storage; remote storage gets one per connection the backend
// allows (Repository::MetadataThreads), as each tree read is a round trip
// there when the cache does not hold its pack (a first restore on a new
// machine: one round trip per directory, one after the other).

struct TreeToWalk {
  Id id;
  std::string abs;  // its path in the snapshot
  bool fully;       // selected as a whole
};

class TreePrefetcher {
 public:
  // Lists, in walk order, the subtrees the walk descends into from `tree`.
  using ChildrenFn = std::function<void(const Tree& tree, const std::string& abs, bool fully,
                                        std::vector<TreeToWalk>& out)>;

  TreePrefetcher(Repository& repo, ChildrenFn children)
      : repo_(repo), children_(std::move(children)) {
    const size_t threads = repo.backend().Capabilities().local ? 1 : repo.MetadataThreads();
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~TreePrefetcher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    loader_cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  // The walk starts at `tree`: everything below it that it descends into is
  // fetched from now on, depth first.
  void Start(const Tree& tree, const std::string& abs, bool fully) {
    std::vector<TreeToWalk> children;
    children_(tree, abs, fully, children);
    std::lock_guard lock(mu_);
    ExpectLocked(children);
  }

  // The walk will not descend into `id` after all (its directory failed).
  void Forget(const Id& id) {
    std::lock_guard lock(mu_);
    ForgetLocked(id);
  }

  // The tree `id` (of `abs`): one the prefetcher has loaded, waited for if it
  // is loading it, else loaded here.
  Result<Tree> Get(const Id& id, const std::string& abs) {
    std::unique_lock lock(mu_);
    auto it = slots_.find(id);
    if (it == slots_.end()) {  // not expected (the walk and ChildrenFn disagree): no prefetching
      lock.unlock();
      return LoadTree(repo_, id, abs);
    }
    // A wanted slot is never erased and unordered_map keeps references
    // across inserts, so `slot` stays valid while the lock is dropped.
    Slot& slot = it->second;
    if (slot.state == Slot::kQueued) {
      Load(id, slot, abs, slot.fully, lock);  // the prefetcher is behind
    } else {
      walker_cv_.wait(lock, [&] { return slot.state == Slot::kLoaded; });
    }
    Result<Tree> out = slot.wanted > 1 ? Result<Tree>(slot.tree) : std::move(slot.tree);
    if (slot.wanted > 1) {
      // The same tree is walked again elsewhere: so are its subtrees.
      std::vector<TreeToWalk> again;
      for (const TreeToWalk& child : slot.children) again.push_back(child);
      ExpectLocked(again);
    }
    ReleaseLocked(slots_.find(id));
    return out;
  }

 private:
  struct Slot {
    enum State { kQueued, kLoading, kLoaded } state = kQueued;
    int wanted = 0;
    bool fully = false;
    Result<Tree> tree = Internal("tree not loaded");
    std::vector<TreeToWalk> children;  // expected when it was loaded
  };
  // Loaded trees not yet taken; the prefetcher waits beyond this many.
  static constexpr size_t kMaxLoaded = 1024;

  // Adds the walk's next trees before everything expected earlier (depth
  // first: a directory's subtrees come before its siblings'). REQUIRES: mu_.
  void ExpectLocked(const std::vector<TreeToWalk>& list) {
    bool added = false;
    for (auto it = list.rbegin(); it != list.rend(); ++it) {
      Slot& slot = slots_[it->id];
      if (++slot.wanted == 1) {
        slot.fully = it->fully;
        pending_.push_front(*it);
        added = true;
      }
    }
    if (added) loader_cv_.notify_all();
  }

  // REQUIRES: mu_.
  void ForgetLocked(const Id& id) {
    auto it = slots_.find(id);
    if (it == slots_.end()) return;
    if (it->second.wanted == 1 && it->second.state == Slot::kLoaded) {
      for (const TreeToWalk& child : it->second.children) ForgetLocked(child.id);
    }
    ReleaseLocked(it);
  }

  // One expected visit is done (or cancelled). REQUIRES: mu_.
  void ReleaseLocked(std::unordered_map<Id, Slot>::iterator it) {
    if (--it->second.wanted > 0) return;
    // kLoading and no longer wanted: whoever loads it erases it.
    if (it->second.state == Slot::kLoading) return;
    if (it->second.state == Slot::kLoaded && loaded_-- == kMaxLoaded) loader_cv_.notify_all();
    slots_.erase(it);
  }

  // Loads `slot` and expects its subtrees. REQUIRES: `lock` holds mu_ and
  // slot is kQueued; drops the lock while loading.
  void Load(const Id& id, Slot& slot, const std::string& abs, bool fully,
            std::unique_lock<std::mutex>& lock) {
    slot.state = Slot::kLoading;
    lock.unlock();
    auto tree = LoadTree(repo_, id, abs);
    std::vector<TreeToWalk> children;
    if (tree.ok()) children_(*tree, abs, fully, children);
    lock.lock();
    slot.state = Slot::kLoaded;
    ++loaded_;
    slot.tree = std::move(tree);
    slot.children = children;
    ExpectLocked(children);
  }

  void Loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      loader_cv_.wait(lock,
                      [this] { return stop_ || (!pending_.empty() && loaded_ < kMaxLoaded); });
      if (stop_) return;
      TreeToWalk next = std::move(pending_.front());
      pending_.pop_front();
      auto it = slots_.find(next.id);
      if (it == slots_.end() || it->second.state != Slot::kQueued) continue;
      Slot& slot = it->second;
      Load(next.id, slot, next.abs, next.fully, lock);
      if (slot.wanted == 0) {  // forgotten while loading
        for (const TreeToWalk& child : slot.children) ForgetLocked(child.id);
        --loaded_;
        slots_.erase(next.id);
        continue;
      }
      walker_cv_.notify_all();
    }
  }

  Repository& repo_;
  ChildrenFn children_;
  std::mutex mu_;
  std::condition_variable loader_cv_;  // the prefetcher waits for work or room
  std::condition_variable walker_cv_;  // the walk waits for a tree being loaded
  std::unordered_map<Id, Slot> slots_;
  std::deque<TreeToWalk> pending_;
  size_t loaded_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;  // started last, in the constructor's body
};

// ---------------------------------------------------------------------------
// Selection: which nodes of the snapshot a restore with given options and
// subpath touches, and where they go in the target. Shared by Restore and
// VerifyRestored so both see exactly the same set.

struct DirEntry {
  std::string target_path;
  std::string abs_path;  // "" for the snapshot root
  Node node;             // without content
  int parent = -1;       // index in dirs; -1 for the target itself
  int depth = 0;
  enum State { kPending, kCreated, kFailed } state = kPending;
  bool apply_metadata = true;  // false for the target directory itself
  bool queued = false;         // handed to the DirMaker (asynchronous creation)
};

class Selection {
 public:
  // Called for a directory that is selected as a whole (created even if empty).
  std::function<void(int dir)> on_dir;
  // Called for every selected non-directory node; `parent` indexes dirs.
  std::function<void(const std::string& abs_path, const std::string& target_path, const Node& node,
                     int parent)>
      on_leaf;
  std::function<void(const std::string& target_path, const Status&)> on_error;

  std::deque<DirEntry> dirs;

  Selection(Repository& repo, const RestorerOptions& options) : repo_(repo), options_(options) {}

  // Walks what `subpath` of `root` selects. Returns an error only if the walk
  // cannot start (bad subpath, unreadable start tree).
  Status Run(const Id& root, std::string_view subpath) {
    LB_ASSIGN_OR_RETURN(std::string clean, CleanSnapshotPath(subpath));
    LB_ASSIGN_OR_RETURN(std::optional<Node> start, FindNode(repo_, root, clean));
    if (!start) {
      return NotFound("path " + Quote(clean) + " is not in the snapshot");
    }
    DirEntry top;
    top.target_path = options_.target;
    top.abs_path = clean == "/" ? "" : clean;
    top.state = DirEntry::kCreated;
    top.apply_metadata = false;
    bool is_root = clean == "/";
    if (!is_root && Excluded(clean)) return Status::Ok();
    if (start->type != NodeType::kDir) {
      top.abs_path.clear();
      dirs.push_back(std::move(top));
      if (!IncludeEmpty() && !options_.include->Matches(clean)) return Status::Ok();
      if (!IsValidNodeName(start->name)) {
        return Corrupt("invalid node name at " + Quote(clean));
      }
      on_leaf(clean, JoinTarget(0, start->name), *start, 0);
      return Status::Ok();
    }
    top.node = *start;
    top.node.content.clear();
    dirs.push_back(std::move(top));
    bool fully = IncludeEmpty() || (!is_root && options_.include->Matches(clean));
    if (!start->subtree) return Status::Ok();
    LB_ASSIGN_OR_RETURN(Tree tree, LoadTree(repo_, *start->subtree, clean));
    prefetcher_.Start(tree, dirs[0].abs_path, fully);
    WalkDir(tree, 0, fully);
    return Status::Ok();
  }

 private:
  bool IncludeEmpty() const { return options_.include == nullptr || options_.include->empty(); }
  bool Excluded(const std::string& abs) const {
    return options_.exclude != nullptr && options_.exclude->Excluded(abs);
  }
  std::string JoinTarget(int dir, const std::string& name) const {
    const std::string& base = dirs[dir].target_path;
    if (!base.empty() && base.back() == '/') return base + name;
    return base + "/" + name;
  }

  // The subtrees WalkDir(tree) descends into, in order, unless their
  // directory fails to be created. Called by the prefetcher's thread too.
  void Children(const Tree& tree, const std::string& abs, bool fully,
                std::vector<TreeToWalk>& out) const {
    for (const Node& node : tree.nodes) {
      if (node.type != NodeType::kDir || !node.subtree || !IsValidNodeName(node.name)) continue;
      std::string child = abs + "/" + node.name;
      if (Excluded(child)) continue;
      bool selected = fully || options_.include->Matches(child);
      if (!selected && !options_.include->ChildMayMatch(child)) continue;
      out.push_back({*node.subtree, std::move(child), selected});
    }
  }

  void WalkDir(const Tree& tree, int dir, bool fully) {
    if (StopAsked(options_)) return;  // the restore was stopped: plan no more
    for (const Node& node : tree.nodes) {
      // DecodeTree already refuses invalid names; checked again because the
      // name becomes a path component in the target.
      if (!IsValidNodeName(node.name)) {
        on_error(dirs[dir].target_path, Corrupt("tree of " + Quote(dirs[dir].abs_path + "/") +
                                                " has an invalid node name"));
        continue;
      }
      std::string abs = dirs[dir].abs_path + "/" + node.name;
      if (Excluded(abs)) continue;
      bool selected = fully || options_.include->Matches(abs);
      if (node.type == NodeType::kDir) {
        if (!selected && !options_.include->ChildMayMatch(abs)) continue;
        DirEntry entry;
        entry.target_path = JoinTarget(dir, node.name);
        entry.abs_path = abs;
        entry.node = node;
        entry.parent = dir;
        entry.depth = dirs[dir].depth + 1;
        dirs.push_back(std::move(entry));
        int index = static_cast<int>(dirs.size() - 1);
        if (selected) on_dir(index);
        if (!node.subtree) continue;
        if (dirs[index].state == DirEntry::kFailed) {
          prefetcher_.Forget(*node.subtree);
          continue;
        }
        auto subtree = prefetcher_.Get(*node.subtree, abs);
        if (!subtree.ok()) {
          on_error(dirs[index].target_path, subtree.status());
          continue;
        }
        WalkDir(*subtree, index, selected);
        continue;
      }
      if (!selected) continue;
      on_leaf(abs, JoinTarget(dir, node.name), node, dir);
    }
  }

  Repository& repo_;
  const RestorerOptions& options_;
  TreePrefetcher prefetcher_{repo_, [this](const Tree& tree, const std::string& abs, bool fully,
                                           std::vector<TreeToWalk>& out) {
                               Children(tree, abs, fully, out);
                             }};
};

// ---------------------------------------------------------------------------
// DirMaker: creates a restore's directories on a thread of its own, in the
// order they are queued (a parent before its children), while the walk goes
// on planning files. mkdir is ext4's inode allocation: on the web app
// (18,000 directories) it was half of the planning phase, which runs on one
// core before any file is written (0.65 s; 0.35 s with the directories
// already there).

class DirMaker {
 public:
  enum Outcome : uint8_t { kPending, kMade, kFailed };
  // Creates one directory; false if it could not be (and reports why).
  using MakeFn = std::function<bool(const std::string& path)>;

  explicit DirMaker(MakeFn make) : make_(std::move(make)), thread_([this] { Loop(); }) {}
  ~DirMaker() { Finish(); }

  // Directory `index` exists already (the target itself).
  void Exists(int index) {
    std::lock_guard lock(mu_);
    Set(index, kMade);
  }
  // Queues directory `index`, whose parent (if any) is queued or exists.
  void Add(int index, int parent, std::string path) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back({index, parent, std::move(path)});
    }
    work_cv_.notify_one();
  }
  // Waits until queued directory `index` is done; true if it exists.
  bool Wait(int index) {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return Get(index) != kPending; });
    return Get(index) == kMade;
  }
  // Creates what is still queued and stops; the outcome per index.
  std::vector<Outcome> Finish() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    return std::move(outcome_);
  }

 private:
  struct Item {
    int index;
    int parent;
    std::string path;
  };
  // REQUIRES: mu_.
  Outcome Get(int index) const {
    return static_cast<size_t>(index) < outcome_.size() ? outcome_[index] : kPending;
  }
  void Set(int index, Outcome o) {
    if (outcome_.size() <= static_cast<size_t>(index)) outcome_.resize(index + 1, kPending);
    outcome_[index] = o;
  }

  void Loop() {
    std::unique_lock lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopped, and everything is done
      Item item = std::move(queue_.front());
      queue_.pop_front();
      // Below a directory that could not be created nothing is (its error
      // was reported once).
      const bool parent_made = item.parent < 0 || Get(item.parent) == kMade;
      lock.unlock();
      const bool made = parent_made && make_(item.path);
      lock.lock();
      Set(item.index, made ? kMade : kFailed);
      done_cv_.notify_all();
    }
  }

  MakeFn make_;
  std::mutex mu_;
  std::condition_variable work_cv_;  // the thread waits for directories to create
  std::condition_variable done_cv_;  // Wait waits for one to be done
  std::deque<Item> queue_;
  std::vector<Outcome> outcome_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

// ---------------------------------------------------------------------------
// One Restore call.

struct FileEntry {
  std::string target_path;
  int dir = 0;  // its directory (index in Selection::dirs)
  Node node;    // metadata and content list
  uint64_t size = 0;
  std::vector<std::string> links;  // further hardlinks to this file
  std::vector<int> link_dirs;      // their directories (index in Selection::dirs)
  std::atomic<uint64_t> remaining{0};
  std::atomic<bool> failed{false};
  bool dropped = false;  // below a directory that could not be created: never attempted
  std::mutex mu;         // guards fd, created, written_end and direct
  int fd = -1;
  bool created = false;
  uint64_t written_end = 0;  // end of the furthest write; a shorter file gets its size at the end
  // Set when the file is written with O_DIRECT (created on its first write).
  std::unique_ptr<DirectFileWriter> direct;
};

struct FileTarget {
  size_t file;
  uint64_t offset;
};

struct BlobJob {
  PackedBlob entry;
  std::vector<FileTarget> targets;
};

struct PackJob {
  Id pack_id;
  std::array<uint8_t, 32> salt;
  std::vector<BlobJob> blobs;
};

struct PairHash {
  size_t operator()(const std::pair<uint64_t, uint64_t>& p) const {
    return std::hash<uint64_t>()(p.first) * 31 + std::hash<uint64_t>()(p.second);
  }
};

class RestoreRun {
 public:
  RestoreRun(Repository& repo, const RestorerOptions& options, RestoreProgress& progress,
             std::unordered_set<std::string> unchanged = {})
      : repo_(repo),
        options_(options),
        progress_(progress),
        selection_(repo, options),
        unchanged_(std::move(unchanged)) {
    meta_options_.restore_owner = options.restore_owner;
    meta_options_.restore_xattrs = options.restore_xattrs;
    selection_.on_dir = [this](int dir) { EnsureDir(dir); };
    selection_.on_leaf = [this](const std::string& abs, const std::string& target, const Node& node,
                                int parent) { Leaf(abs, target, node, parent); };
    selection_.on_error = [this](const std::string& path, const Status& s) { Error(path, s); };
  }

  Result<RestoreResult> Run(const Id& root, std::string_view subpath) {
    // Into an empty target nothing is in the way of what is created (no
    // PrepareSlot work): directories can be made on the side. Restores into
    // an existing tree keep making them in walk order.
    if (!options_.allow_existing) {
      dir_maker_ = std::make_unique<DirMaker>([this](const std::string& path) {
        Status s = CreateSpecialNode(path, DirNode());  // mode 0700 until phase 3
        if (!s.ok()) Error(path, s);
        return s.ok();
      });
      dir_maker_->Exists(0);
    }
    LB_RETURN_IF_ERROR(selection_.Run(root, subpath));
    const bool walk_cut_short = StopAsked(options_);  // files_total is then a part
    if (dir_maker_) CollectDirs();
    progress_.files_total = files_.size() - files_dropped_ + hardlinks_planned_ + files_unchanged_;
    progress_.bytes_total = bytes_planned_ + bytes_unchanged_;

    direct_io_ = options_.direct_io && DirectWritesPayOff(options_.target);
    max_read_ = repo_.backend().Capabilities().local ? kMaxLocalReadSize : kMaxRemoteReadSize;
    // Phase 2: empty files are complete already; everything else comes from packs.
    for (size_t i = 0; i < files_.size(); ++i) {
      if (files_[i].size == 0 && !files_[i].failed) FinishFile(files_[i]);
    }
    for (auto& pack : packs_) {
      std::sort(pack.blobs.begin(), pack.blobs.end(),
                [](const BlobJob& a, const BlobJob& b) { return a.entry.offset < b.entry.offset; });
    }
    std::atomic<size_t> next{0};
    // A remote backend is latency-bound, not CPU-bound: keep several reads in
    // flight even on a machine with few cores.
    int threads = ThreadCount(options_.threads);
    if (options_.threads <= 0 && !repo_.backend().Capabilities().local) {
      threads = std::max(threads, kRemoteWorkers);
    } else if (options_.threads <= 0 && direct_io_) {
      // An O_DIRECT write waits for the device: twice as many workers as
      // cores keep the cores busy meanwhile (web app restore: content phase
      // 2.6-2.8 s with 2 workers, 2.3-2.5 s with 4, on 2 cores).
      threads *= 2;
    }
    int workers = std::min<int>(threads, static_cast<int>(std::max<size_t>(packs_.size(), 1)));
    RunWorkers(workers, [&] {
      for (size_t p = next++; p < packs_.size(); p = next++) ProcessPack(packs_[p]);
    });

    // Files that did not complete are removed, never left looking restored.
    const bool stopped = StopAsked(options_);
    uint64_t files_cut = 0;  // stopped: files partly written, removed quietly
    for (auto& file : files_) {
      if (file.fd >= 0) {
        ::close(file.fd);
        file.fd = -1;
      }
      if (!file.failed && file.remaining.load() != 0) {
        if (!stopped) {
          Fail(file, Internal("content of " + Quote(file.target_path) + " is incomplete"));
        } else {
          file.failed = true;
          if (file.created) ++files_cut;
        }
      }
      if (!file.failed || file.dropped) continue;
      // (Never created: nothing of it is there. A restore stopped early has
      // many such files.)
      if (file.created && ::unlink(file.target_path.c_str()) != 0 && errno != ENOENT) {
        Error(file.target_path, ErrnoStatus(errno, "unable to remove incompletely restored " +
                                                       Quote(file.target_path)));
      }
      if (stopped) continue;  // its links were never made
      for (const auto& link : file.links) {
        Error(link, Status(Code::kIoError, "hardlink " + Quote(link) + " not restored: " +
                                               Quote(file.target_path) + " failed"));
      }
    }

    if (stopped) {
      // Directories keep mode 0700: the tree is not whole, and a later
      // restore --delta sets their metadata when it completes them.
      const std::string how_far =
          walk_cut_short ? "restore stopped while reading the snapshot's folders: " +
                               std::to_string(files_restored_.load())
                         : "restore stopped: " + std::to_string(files_restored_.load()) + " of " +
                               std::to_string(progress_.files_total.load());
      return Status(Code::kCancelled,
                    how_far + " files restored (" + std::to_string(files_cut) +
                        " partly written removed), folders left at mode 0700",
                    "restore again into the same target with --delta to finish it");
    }

    // Phase 3: directories, deepest first.
    std::vector<const DirEntry*> dirs;
    for (const auto& d : selection_.dirs) {
      if (d.state == DirEntry::kCreated && d.apply_metadata) dirs.push_back(&d);
    }
    std::stable_sort(dirs.begin(), dirs.end(),
                     [](const DirEntry* a, const DirEntry* b) { return a->depth > b->depth; });
    for (const DirEntry* d : dirs) {
      Status s = ApplyMetadata(d->target_path, d->node, names_, meta_options_);
      if (!s.ok()) Error(d->target_path, s);
    }

    RestoreResult result;
    result.files_unchanged = files_unchanged_;
    result.bytes_unchanged = bytes_unchanged_;
    result.files = files_restored_.load();
    result.dirs = dirs_created_;
    result.specials = specials_;
    result.bytes = bytes_restored_.load();
    std::lock_guard lock(errors_mu_);
    result.errors = std::move(errors_);
    return result;
  }

 private:
  void Error(const std::string& path, const Status& status) {
    std::lock_guard lock(errors_mu_);
    errors_.push_back({path, status});
    ++progress_.errors;
  }

  // Makes room for a new entry at `path`: nothing there is fine; an existing
  // directory is kept if we want one; with allow_existing any other entry is
  // removed.
  Status PrepareSlot(const std::string& path, bool want_dir) {
    // A target that had to be empty holds nothing but what this restore
    // creates, and creation itself (O_EXCL, mkdir) refuses to clobber.
    if (!options_.allow_existing) return Status::Ok();
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return ErrnoStatus(errno, "unable to inspect " + Quote(path));
    }
    if (want_dir && S_ISDIR(st.st_mode)) return Status::Ok();
    if (!options_.allow_existing) {
      return AlreadyExists("unable to restore " + Quote(path) + ": it already exists");
    }
    if (S_ISDIR(st.st_mode)) {
      return AlreadyExists("unable to restore " + Quote(path) +
                           ": a directory is in the way (it is not removed)");
    }
    if (::unlink(path.c_str()) != 0) {
      return ErrnoStatus(errno, "unable to replace existing " + Quote(path));
    }
    return Status::Ok();
  }

  // Creates directory `index` and its missing ancestors. False if it could
  // not be created (the error was recorded once). With dir_maker_ it queues
  // them instead and returns true (CollectDirs records the outcome).
  bool EnsureDir(int index) {
    DirEntry& d = selection_.dirs[index];
    if (dir_maker_) {  // queued here (ancestors first), created by dir_maker_
      if (d.state == DirEntry::kCreated || d.queued) return true;
      if (d.parent >= 0) EnsureDir(d.parent);
      d.queued = true;
      dir_maker_->Add(index, d.parent, d.target_path);
      return true;
    }
    if (d.state == DirEntry::kCreated) return true;
    if (d.state == DirEntry::kFailed) return false;
    if (d.parent >= 0 && !EnsureDir(d.parent)) {
      d.state = DirEntry::kFailed;
      return false;
    }
    Status s = PrepareSlot(d.target_path, /*want_dir=*/true);
    if (s.ok()) s = CreateSpecialNode(d.target_path, d.node);  // mode 0700 until phase 3
    if (!s.ok()) {
      d.state = DirEntry::kFailed;
      Error(d.target_path, s);
      return false;
    }
    d.state = DirEntry::kCreated;
    ++dirs_created_;
    return true;
  }

  void Leaf(const std::string& abs, const std::string& target, const Node& node, int parent) {
    (void)abs;
    if (node.type == NodeType::kSocket) return;  // belongs to a running process
    if (!EnsureDir(parent)) return;
    if (node.type == NodeType::kFile) {
      PlanFile(target, node, parent);
      return;
    }
    // Created now: its directory must exist.
    if (dir_maker_ && !dir_maker_->Wait(parent)) return;
    Status s = PrepareSlot(target, false);
    if (s.ok()) s = CreateSpecialNode(target, node);
    if (!s.ok()) {
      Error(target, s);  // e.g. device nodes when not root: kPermissionDenied
      return;
    }
    ++specials_;
    s = ApplyMetadata(target, node, names_, meta_options_);
    if (!s.ok()) Error(target, s);
  }

  void PlanFile(const std::string& target, const Node& node, int dir) {
    // Delta: an unchanged file keeps its content; only metadata is applied.
    if (unchanged_.count(target) > 0) {
      Status s = ApplyMetadata(target, node, names_, meta_options_);
      if (!s.ok()) Error(target, s);
      ++files_unchanged_;
      bytes_unchanged_ += node.size;
      ++files_restored_;
      bytes_restored_ += node.size;
      ++progress_.files_done;
      progress_.bytes_done += node.size;
      return;
    }
    // Hardlinks: later occurrences of the same inode (with the same content)
    // become links to the first.
    std::pair<uint64_t, uint64_t> key{node.device_id, node.inode};
    bool hardlinked = node.links > 1 && node.inode != 0;
    if (hardlinked) {
      auto it = hardlinks_.find(key);
      if (it != hardlinks_.end()) {
        FileEntry& first = files_[it->second];
        if (first.node.content == node.content && first.node.size == node.size) {
          Status s = PrepareSlot(target, false);
          if (!s.ok()) {
            Error(target, s);
            return;
          }
          first.links.push_back(target);
          first.link_dirs.push_back(dir);
          ++hardlinks_planned_;
          return;
        }
      }
    }

    // Locate every chunk before creating anything.
    std::vector<BlobLocation> locations;
    locations.reserve(node.content.size());
    uint64_t size = 0;
    for (const Id& id : node.content) {
      auto loc = repo_.index().Find(format::BlobType::kData, id);
      if (!loc) {
        Error(target, Status(Code::kNotFound,
                             "unable to restore " + Quote(target) + ": data blob " + id.Hex() +
                                 " is not in the repository index",
                             "run 'lifeboat check' on the repository"));
        return;
      }
      size += loc->blob.raw_length;
      locations.push_back(*loc);
    }

    Status s = PrepareSlot(target, false);
    if (!s.ok()) {
      Error(target, s);
      return;
    }
    // The file itself is created when its first data arrives (or when it is
    // finished, if it has none to write): one open per file instead of two.

    size_t index = files_.size();
    FileEntry& file = files_.emplace_back();
    file.target_path = target;
    file.dir = dir;
    file.node = node;
    file.size = size;
    file.remaining = size;
    bytes_planned_ += size;
    if (hardlinked) hardlinks_.emplace(key, index);

    uint64_t offset = 0;
    for (const BlobLocation& loc : locations) {
      auto [it, added] = blob_jobs_.try_emplace(loc.blob.id, 0, 0);
      if (added) {
        auto [pit, padded] = pack_numbers_.try_emplace(loc.pack_id, packs_.size());
        if (padded) packs_.push_back(PackJob{loc.pack_id, loc.pack_salt, {}});
        PackJob& pack = packs_[pit->second];
        it->second = {pit->second, pack.blobs.size()};
        pack.blobs.push_back(BlobJob{loc.blob, {}});
      }
      packs_[it->second.first].blobs[it->second.second].targets.push_back({index, offset});
      offset += loc.blob.raw_length;
    }
  }

  static const Node& DirNode() {
    static const Node node = [] {
      Node n;
      n.type = NodeType::kDir;
      return n;
    }();
    return node;
  }

  // Waits for dir_maker_ and records what it created. Files planned below a
  // directory that could not be created are dropped without an error of
  // their own (the directory's was reported), as a walk that creates
  // directories itself never plans them; so are such hardlink names, and a
  // hardlinked file's next name in a directory that exists takes its place.
  void CollectDirs() {
    const std::vector<DirMaker::Outcome> outcome = dir_maker_->Finish();
    for (size_t i = 0; i < selection_.dirs.size(); ++i) {
      DirEntry& d = selection_.dirs[i];
      if (!d.queued) continue;
      const bool made = i < outcome.size() && outcome[i] == DirMaker::kMade;
      d.state = made ? DirEntry::kCreated : DirEntry::kFailed;
      if (made) ++dirs_created_;
    }
    auto failed = [this](int dir) { return selection_.dirs[dir].state == DirEntry::kFailed; };
    for (FileEntry& file : files_) {
      // Its other names: those in directories that exist stay planned.
      std::vector<std::string> links;
      std::vector<int> link_dirs;
      for (size_t i = 0; i < file.links.size(); ++i) {
        if (failed(file.link_dirs[i])) {
          --hardlinks_planned_;
          continue;
        }
        links.push_back(std::move(file.links[i]));
        link_dirs.push_back(file.link_dirs[i]);
      }
      file.links = std::move(links);
      file.link_dirs = std::move(link_dirs);
      if (!failed(file.dir)) continue;
      if (!file.links.empty()) {  // the next name becomes the file's own
        file.target_path = std::move(file.links.front());
        file.dir = file.link_dirs.front();
        file.links.erase(file.links.begin());
        file.link_dirs.erase(file.link_dirs.begin());
        --hardlinks_planned_;
        continue;
      }
      file.failed = true;
      file.dropped = true;
      bytes_planned_ -= file.size;
      ++files_dropped_;
    }
  }

  void Fail(FileEntry& file, const Status& status) {
    if (file.failed.exchange(true)) return;  // report each file once
    Error(file.target_path, status);
  }

  void FailTargets(const BlobJob& blob, const Status& status) {
    for (const FileTarget& t : blob.targets) {
      FileEntry& file = files_[t.file];
      Fail(file, status.WithContext("unable to restore " + Quote(file.target_path)));
    }
  }

  void ProcessPack(const PackJob& pack) {
    const ObjectName name{ObjectType::kPack, pack.pack_id.Hex()};
    size_t i = 0;
    while (i < pack.blobs.size()) {
      if (StopAsked(options_)) return;
      // Extend the read while the next blob is close and the read stays small.
      size_t j = i + 1;
      uint64_t start = pack.blobs[i].entry.offset;
      uint64_t end = start + pack.blobs[i].entry.length;
      while (j < pack.blobs.size()) {
        const PackedBlob& next = pack.blobs[j].entry;
        uint64_t next_end = uint64_t{next.offset} + next.length;
        if (next.offset < end || next.offset - end > kMaxReadGap || next_end - start > max_read_) {
          break;
        }
        end = next_end;
        ++j;
      }
      // Skip blobs nobody needs any more (every target already failed).
      bool needed = false;
      for (size_t k = i; k < j && !needed; ++k) {
        for (const FileTarget& t : pack.blobs[k].targets) {
          if (!files_[t.file].failed) {
            needed = true;
            break;
          }
        }
      }
      if (needed) {
        thread_local RawBuffer data;  // reused: one read at a time per worker
        Status read = repo_.backend().LoadInto(name, start, end - start, &data);
        if (!read.ok()) {
          Status s = read.WithContext("unable to read pack " + pack.pack_id.Short());
          for (size_t k = i; k < j; ++k) FailTargets(pack.blobs[k], s);
        } else {
          for (size_t k = i; k < j; ++k) {
            if (StopAsked(options_)) return;  // one read may hold thousands of small files
            const BlobJob& blob = pack.blobs[k];
            ByteView sealed(data.data() + (blob.entry.offset - start), blob.entry.length);
            thread_local RawBuffer plain;  // reused: one blob at a time per worker
            Status opened = OpenPackedBlobInto(repo_.keys(), pack.salt, blob.entry, sealed, &plain);
            if (!opened.ok()) {
              FailTargets(blob, opened.WithContext("data blob " + blob.entry.id.Short() +
                                                   " in pack " + pack.pack_id.Short()));
              continue;
            }
            WriteBlob(blob, plain.view());
          }
        }
      }
      i = j;
    }
  }

  void WriteBlob(const BlobJob& blob, ByteView plain) {
    const bool skip = options_.sparse && AllZero(plain.data(), plain.size());
    for (const FileTarget& t : blob.targets) {
      FileEntry& file = files_[t.file];
      if (file.failed) continue;
      if (!skip) {
        std::unique_lock lock(file.mu);
        if (file.failed) continue;
        if (file.fd < 0) {
          Status s = OpenFile(file);
          if (!s.ok()) {
            lock.unlock();
            Fail(file, s);
            continue;
          }
        }
        Status s = Status::Ok();
        if (file.direct) {
          s = file.direct->Write(file.fd, plain.data(), plain.size(), t.offset);
        } else {
          s = WriteBuffered(file.fd, plain.data(), plain.size(), t.offset, options_.sparse,
                            file.target_path, &file.written_end);
        }
        if (!s.ok()) {
          lock.unlock();
          Fail(file, s);
          continue;
        }
      }
      progress_.bytes_done += plain.size();
      uint64_t left = file.remaining.fetch_sub(plain.size()) - plain.size();
      if (left == 0) {
        FinishFile(file);
      } else if (open_fds_.load() > kMaxCachedFds) {
        std::lock_guard lock(file.mu);
        CloseFd(file);
      }
    }
  }

  // Creates the file (first time) or reopens it. REQUIRES: file.mu held.
  Status OpenFile(FileEntry& file) {
    int flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW;
    if (!file.created) flags |= O_CREAT | O_EXCL;
    file.fd = ::open(file.target_path.c_str(), flags, 0600);
    if (file.fd < 0) {
      return ErrnoStatus(errno, std::string(file.created ? "unable to open " : "unable to create ") +
                                    Quote(file.target_path));
    }
    ++open_fds_;
    if (!file.created && direct_io_ && file.size >= kDirectWriteSize &&
        !direct_refused_.load(std::memory_order_relaxed)) {
      file.direct =
          std::make_unique<DirectFileWriter>(file.size, options_.sparse, file.target_path);
    }
    file.created = true;
    // O_DIRECT is set after the open: a filesystem without it refuses the
    // fcntl, not the creation. Such a file (and every later one) is buffered.
    if (file.direct && !file.direct->buffered()) {
      int fl = ::fcntl(file.fd, F_GETFL);
      if (fl < 0 || ::fcntl(file.fd, F_SETFL, fl | O_DIRECT) != 0) {
        direct_refused_ = true;
        // A reopened file may hold partial blocks: written out, not dropped.
        return file.direct->SwitchToBuffered(file.fd);
      }
    }
    return Status::Ok();
  }

  void CloseFd(FileEntry& file) {  // REQUIRES: file.mu held (or single-threaded)
    if (file.fd < 0) return;
    ::close(file.fd);
    file.fd = -1;
    --open_fds_;
  }

  // The file's content is complete: size, metadata, then its other hardlinks.
  void FinishFile(FileEntry& file) {
    {
      std::lock_guard lock(file.mu);
      if (file.failed) {
        CloseFd(file);
        return;
      }
      // Creates the file if nothing was written (empty or all holes), or
      // reopens it if its descriptor was closed to bound the open ones.
      Status s = file.fd < 0 ? OpenFile(file) : Status::Ok();
      bool direct = false;
      if (s.ok() && file.direct) {
        s = file.direct->Flush(file.fd);
        file.written_end = file.direct->FileEnd();
        direct = !file.direct->buffered();
        file.direct.reset();
      }
      // Blobs skipped as holes at the end leave the file short of its size:
      // extending it makes them holes; a padded last O_DIRECT block leaves it
      // longer. One call only where needed.
      if (s.ok() && file.written_end != file.size &&
          ::ftruncate(file.fd, static_cast<off_t>(file.size)) != 0) {
        s = ErrnoStatus(errno, "unable to set the size of " + Quote(file.target_path));
      }
      if (!s.ok()) {
        CloseFd(file);
        Error(file.target_path, s);
        file.failed = true;
        return;
      }
      // Start writing a large file's pages to disk now rather than at the
      // final sync (or whenever the kernel gets to it): the disk then works
      // while the rest is restored. Only starts I/O; never waits for it.
      if (file.size >= kEarlyWritebackSize && !direct)
        ::sync_file_range(file.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
      s = ApplyFileMetadata(file.fd, file.target_path, file.node, names_, meta_options_);
      if (!s.ok()) Error(file.target_path, s);
      CloseFd(file);
    }
    ++files_restored_;
    ++progress_.files_done;
    bytes_restored_ += file.size;
    for (const std::string& link : file.links) {
      if (::link(file.target_path.c_str(), link.c_str()) != 0) {
        Error(link, ErrnoStatus(errno, "unable to create hardlink " + Quote(link) + " to " +
                                           Quote(file.target_path)));
        continue;
      }
      ++files_restored_;
      ++progress_.files_done;
      bytes_restored_ += file.size;
    }
  }

  Repository& repo_;
  const RestorerOptions& options_;
  RestoreProgress& progress_;
  Selection selection_;
  UserGroupNames names_;
  RestoreOptions meta_options_;

  std::deque<FileEntry> files_;
  std::unordered_map<std::pair<uint64_t, uint64_t>, size_t, PairHash> hardlinks_;
  std::vector<PackJob> packs_;
  std::unordered_map<Id, size_t> pack_numbers_;
  std::unordered_map<Id, std::pair<size_t, size_t>> blob_jobs_;  // -> (pack, blob) in packs_
  uint64_t bytes_planned_ = 0;
  uint64_t hardlinks_planned_ = 0;
  std::unordered_set<std::string> unchanged_;  // delta: target paths kept as they are
  uint64_t files_unchanged_ = 0;
  uint64_t bytes_unchanged_ = 0;
  uint64_t dirs_created_ = 0;
  uint64_t specials_ = 0;
  uint64_t files_dropped_ = 0;  // planned below a directory that could not be created

  std::atomic<int> open_fds_{0};
  bool direct_io_ = false;                   // large files are written with O_DIRECT
  uint64_t max_read_ = kMaxRemoteReadSize;   // bytes one pack read covers at most
  std::atomic<bool> direct_refused_{false};  // the target's filesystem refused O_DIRECT
  std::atomic<uint64_t> files_restored_{0};
  std::atomic<uint64_t> bytes_restored_{0};
  std::mutex errors_mu_;
  std::vector<RestoreError> errors_;
  // Last: its thread uses the members above until it is stopped.
  std::unique_ptr<DirMaker> dir_maker_;
};

Status PrepareTarget(const RestorerOptions& options) {
  if (options.target.empty()) return InvalidArgument("no restore target given");
  struct stat st;
  if (::stat(options.target.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return ErrnoStatus(errno, "unable to inspect restore target " + Quote(options.target));
    }
    std::error_code ec;
    std::filesystem::create_directories(options.target, ec);
    if (ec) {
      return ErrnoStatus(ec.value(), "unable to create restore target " + Quote(options.target));
    }
    return Status::Ok();  // new and empty
  }
  if (!S_ISDIR(st.st_mode)) {
    return InvalidArgument("restore target " + Quote(options.target) + " is not a directory");
  }
  if (options.allow_existing) return Status::Ok();
  DIR* dir = ::opendir(options.target.c_str());
  if (dir == nullptr) {
    return ErrnoStatus(errno, "unable to read restore target " + Quote(options.target));
  }
  bool empty = true;
  while (struct dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(dir);
  if (!empty) {
    return Status(Code::kAlreadyExists, "restore target " + Quote(options.target) + " is not empty",
                  "restore into a new or empty directory, or allow restoring into an existing one");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Verification.

struct VerifyItem {
  std::string target_path;
  std::vector<Id> content;
  bool hardlinked = false;  // the snapshot has several links to it
};

Status VerifyFile(Repository& repo, const VerifyItem& item, Bytes& buffer) {
  const std::string& path = item.target_path;
  std::vector<uint32_t> lengths;
  uint64_t size = 0;
  for (const Id& id : item.content) {
    auto loc = repo.index().Find(format::BlobType::kData, id);
    if (!loc)
      return NotFound("unable to verify " + Quote(path) + ": data blob " + id.Short() +
                      " is not in the repository index");
    lengths.push_back(loc->blob.raw_length);
    size += loc->blob.raw_length;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoStatus(errno, "unable to open restored file " + Quote(path));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "unable to inspect " + Quote(path));
  if (!S_ISREG(st.st_mode)) return Corrupt(Quote(path) + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) != size) {
    return Corrupt(Quote(path) + " has " + std::to_string(st.st_size) +
                   " bytes, the snapshot has " + std::to_string(size));
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  uint64_t offset = 0;
  for (size_t i = 0; i < item.content.size(); ++i) {
    buffer.resize(lengths[i]);
    size_t got = 0;
    while (got < buffer.size()) {
      ssize_t n =
          ::pread(fd, buffer.data() + got, buffer.size() - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, "unable to read " + Quote(path));
      if (n == 0) return Corrupt(Quote(path) + " is shorter than the snapshot says");
      got += static_cast<size_t>(n);
    }
    if (repo.ComputeBlobId(buffer) != item.content[i]) {
      return Corrupt("content of " + Quote(path) + " differs from the snapshot at offset " +
                     std::to_string(offset) + " (chunk " + std::to_string(i) + ", blob " +
                     item.content[i].Short() + ")");
    }
    offset += lengths[i];
  }
  return Status::Ok();
}

// Stops early (leaving items unchecked) when options.stop is set.
std::vector<RestoreError> VerifyItems(Repository& repo, const std::vector<VerifyItem>& items,
                                      const RestorerOptions& options) {
  std::mutex mu;
  std::vector<RestoreError> failures;
  std::atomic<size_t> next{0};
  int workers = std::min<int>(ThreadCount(options.threads),
                              static_cast<int>(std::max<size_t>(items.size(), 1)));
  RunWorkers(workers, [&] {
    Bytes buffer;
    for (size_t i = next++; i < items.size() && !StopAsked(options); i = next++) {
      Status s = VerifyFile(repo, items[i], buffer);
      if (!s.ok()) {
        std::lock_guard lock(mu);
        failures.push_back({items[i].target_path, s});
      }
    }
  });
  std::sort(failures.begin(), failures.end(),
            [](const RestoreError& a, const RestoreError& b) { return a.path < b.path; });
  return failures;
}

// The regular files a restore would have written; `unreadable` receives the
// directories whose trees could not be read (their files cannot be checked).
Result<std::vector<VerifyItem>> CollectVerifyItems(Repository& repo, const RestorerOptions& options,
                                                   const Id& root, std::string_view subpath,
                                                   std::vector<RestoreError>* unreadable) {
  std::vector<VerifyItem> items;
  Selection selection(repo, options);
  selection.on_dir = [](int) {};
  selection.on_error = [&](const std::string& path, const Status& s) {
    unreadable->push_back({path, s});
  };
  selection.on_leaf = [&](const std::string&, const std::string& target, const Node& node, int) {
    if (node.type == NodeType::kFile) {
      items.push_back({target, node.content, node.links > 1 && node.inode != 0});
    }
  };
  LB_RETURN_IF_ERROR(selection.Run(root, subpath));
  return items;
}

// Delta: the files already in the target with the snapshot's content.
Result<std::unordered_set<std::string>> UnchangedFiles(Repository& repo,
                                                       const RestorerOptions& options,
                                                       const Id& root, std::string_view subpath) {
  std::vector<RestoreError> unreadable;
  LB_ASSIGN_OR_RETURN(std::vector<VerifyItem> items,
                      CollectVerifyItems(repo, options, root, subpath, &unreadable));
  std::erase_if(items, [](const VerifyItem& item) {
    struct stat st;
    return item.hardlinked || ::lstat(item.target_path.c_str(), &st) != 0 ||
           !S_ISREG(st.st_mode);
  });
  std::mutex mu;
  std::unordered_set<std::string> unchanged;
  std::atomic<size_t> next{0};
  int workers =
      std::min<int>(ThreadCount(options.threads), static_cast<int>(std::max<size_t>(items.size(), 1)));
  RunWorkers(workers, [&] {
    Bytes buffer;
    for (size_t i = next++; i < items.size() && !StopAsked(options); i = next++) {
      if (VerifyFile(repo, items[i], buffer).ok()) {
        std::lock_guard lock(mu);
        unchanged.insert(items[i].target_path);
      }
    }
  });
  return unchanged;
}

// Delta: removes what is under the target but not selected by the restore,
// and selected non-directories that are directories in the target (they
// would be in the way). Depth first, never following symlinks.
Result<uint64_t> RemoveUnselected(Repository& repo, const RestorerOptions& options, const Id& root,
                                  std::string_view subpath) {
  std::unordered_map<std::string, bool> selected;  // target path -> is a directory
  Selection selection(repo, options);
  selection.on_dir = [](int) {};
  selection.on_error = [](const std::string&, const Status&) {};
  selection.on_leaf = [&](const std::string&, const std::string& target, const Node& node, int) {
    selected[target] = node.type == NodeType::kDir;
  };
  LB_RETURN_IF_ERROR(selection.Run(root, subpath));
  // A walk cut short selects too little: removing by it would remove what
  // the snapshot has.
  if (StopAsked(options)) return StoppedBeforeWriting();
  for (const DirEntry& d : selection.dirs) selected[d.target_path] = true;
  std::string top = options.target;
  while (top.size() > 1 && top.back() == '/') top.pop_back();

  uint64_t removed = 0;
  Status failure;
  std::function<void(const std::string&)> walk = [&](const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    std::vector<std::pair<std::string, bool>> entries;
    while (const dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      const std::string path = dir + "/" + e->d_name;
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0) continue;
      entries.emplace_back(path, S_ISDIR(st.st_mode));
    }
    ::closedir(d);
    for (const auto& [path, is_dir] : entries) {
      if (StopAsked(options)) return;
      auto it = selected.find(path);
      const bool keep = it != selected.end() && (it->second || !is_dir);
      if (keep) {
        if (is_dir) walk(path);
        continue;
      }
      std::error_code ec;
      const uint64_t n = std::filesystem::remove_all(path, ec);
      if (ec && failure.ok()) {
        failure = ErrnoStatus(ec.value(), "unable to remove " + Quote(path) +
                                              " (not in the snapshot)");
      }
      if (!ec) removed += n;
    }
  };
  walk(top);
  if (!failure.ok()) return failure;
  return removed;
}

}  // namespace

Restorer::Restorer(Repository& repo, RestorerOptions options)
    : repo_(repo), options_(std::move(options)) {}

Result<RestoreResult> Restorer::Restore(const Id& root_tree, std::string_view subpath) {
  if (options_.delta && !options_.allow_existing) {
    return InvalidArgument("a delta restore is a restore into an existing target (allow_existing)");
  }
  if (options_.delta && ((options_.include && !options_.include->empty()) || options_.exclude)) {
    // Removing what is not selected would remove what the filters left out.
    return InvalidArgument("a delta restore cannot be combined with include or exclude filters");
  }
  LB_RETURN_IF_ERROR(PrepareTarget(options_));
  std::unordered_set<std::string> unchanged;
  uint64_t removed = 0;
  if (options_.delta) {
    LB_ASSIGN_OR_RETURN(removed, RemoveUnselected(repo_, options_, root_tree, subpath));
    LB_ASSIGN_OR_RETURN(unchanged, UnchangedFiles(repo_, options_, root_tree, subpath));
    if (StopAsked(options_)) return StoppedBeforeWriting();
  }
  RestoreRun run(repo_, options_, progress_, std::move(unchanged));
  LB_ASSIGN_OR_RETURN(RestoreResult result, run.Run(root_tree, subpath));
  result.entries_removed = removed;
  if (options_.verify) {
    std::vector<RestoreError> unreadable;
    LB_ASSIGN_OR_RETURN(std::vector<VerifyItem> items,
                        CollectVerifyItems(repo_, options_, root_tree, subpath, &unreadable));
    // Paths that already failed are reported once, in errors.
    std::unordered_set<std::string> failed;
    for (const auto& e : result.errors) failed.insert(e.path);
    std::erase_if(items, [&](const VerifyItem& i) { return failed.count(i.target_path) > 0; });
    std::erase_if(unreadable, [&](const RestoreError& e) { return failed.count(e.path) > 0; });
    result.verify_failures = VerifyItems(repo_, items, options_);
    if (StopAsked(options_)) return StoppedWhileVerifying();
    result.verify_failures.insert(result.verify_failures.end(), unreadable.begin(),
                                  unreadable.end());
    result.verified_files = items.size();
  }
  return result;
}

Result<std::vector<RestoreError>> Restorer::VerifyRestored(const Id& root_tree,
                                                           std::string_view subpath,
                                                           uint64_t* verified) {
  std::vector<RestoreError> unreadable;
  LB_ASSIGN_OR_RETURN(std::vector<VerifyItem> items,
                      CollectVerifyItems(repo_, options_, root_tree, subpath, &unreadable));
  if (verified != nullptr) *verified = items.size();
  std::vector<RestoreError> failures = VerifyItems(repo_, items, options_);
  if (StopAsked(options_)) {
    return Status(Code::kCancelled, "verification stopped: not all restored files were checked");
  }
  failures.insert(failures.end(), unreadable.begin(), unreadable.end());
  return failures;
}

}  // namespace lifeboat
