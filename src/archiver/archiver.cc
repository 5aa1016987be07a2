#include "archiver/archiver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <utility>

#include "base/bounded_queue.h"
#include "base/raw_buffer.h"
#include "crypto/hash.h"
#include "env/cached_read.h"
#include "env/fs_meta.h"
#include "model/tree.h"

namespace lifeboat {
namespace {

constexpr size_t kFileQueueDepth = 1024;        // files waiting for a reader
// Walkers mostly wait: on metadata the kernel has not cached, each lstat
// waits for an inode read, and only many in flight keep the disk busy. A
// backup with nothing changed, 46k files, page cache dropped (2 cores,
// virtio disk): 1.41-1.54 s with 2 walkers, 0.77-0.81 s with 8, 0.68-0.69 s
// with 16 or 32; with the metadata cached the count makes no difference.
constexpr int kMinWalkers = 16;
// Readers beyond one per core, used only while files come from the disk:
// they keep reads in flight while the others hash. From a dropped page cache
// (2 cores, virtio disk), the initial backup of 2.2 GB took 7.2-8.5 s with 2
// readers, 5.7-6.6 s with 4, 5.4-6.3 s with 6; of 200k small files 11.9-12.0
// s with 2, 6.9-7.5 s with 4, 5.6-5.8 s with 6. From a warm cache 4 readers
// cost ~2.5 % (more threads than cores to switch between), hence only when
// cold.
constexpr int kExtraReaders = 4;
// After a file whose first read waited, the extra readers keep reading until
// this many files in a row came from the page cache.
constexpr int kColdMemory = 64;
constexpr size_t kSaveQueueBytes = 8ull << 20;  // chunks waiting for compression
// Capacity of idle chunk buffers kept for reuse: enough for every buffer in
// flight (queued, being read, being saved), so that steady state allocates
// nothing. A buffer freed and allocated again costs page faults on every
// page, which on a VM that hands free memory back to its host is the most
// expensive part of the pipeline.
constexpr size_t kMaxPooledBytes = 32ull << 20;
// Files are read in pieces of this size, straight into chunk buffers: the
// bytes read past a cut point (half a read on average) are copied to the
// next chunk's buffer, so smaller reads copy less but cost more syscalls.
constexpr size_t kReadSize = 128 << 10;
// Chunks smaller than this (whole small files: chunks are at least the
// chunker's minimum size otherwise) are stored by the reading thread.
constexpr size_t kInlineSaveSize = 64 << 10;

struct PathTrie {
  std::map<std::string, PathTrie> children;  // std::string orders bytewise
  bool target = false;
};

std::vector<std::string> SplitPath(const std::string& abs) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < abs.size()) {
    size_t j = abs.find('/', i);
    if (j == std::string::npos) j = abs.size();
    if (j > i) parts.push_back(abs.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

std::string Child(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// Listing a directory or reading a symlink updates its atime, so a recorded
// atime would make every backup see them as changed; record mtime instead.
void StabilizeAtime(Node& node) {
  if (node.type == NodeType::kDir || node.type == NodeType::kSymlink) node.atime_ns = node.mtime_ns;
}

bool SameFileMeta(const Node& a, const Node& b) {
  return a.type == b.type && a.size == b.size && a.mtime_ns == b.mtime_ns &&
         a.ctime_ns == b.ctime_ns && a.inode == b.inode;
}

int64_t StatMtimeNs(const struct stat& st) {
  return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}
int64_t StatCtimeNs(const struct stat& st) {
  return int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
}

}  // namespace

std::string NormalizeBackupPath(const std::string& path) {
  std::string abs = path;
  if (abs.empty() || abs[0] != '/') {
    char cwd[PATH_MAX];
    std::string base = getcwd(cwd, sizeof cwd) ? cwd : "/";
    abs = base + "/" + path;
  }
  std::vector<std::string> out;
  for (std::string& part : SplitPath(abs)) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(std::move(part));
  }
  std::string result;
  for (const std::string& p : out) result += "/" + p;
  return result.empty() ? "/" : result;
}

struct Archiver::Impl {
  // One directory being built. Deleted by FinishDir once its tree is stored.
  struct DirJob {
    Tree tree;
    std::vector<uint8_t> dropped;  // per node: 1 = leave out (read failed)
    std::atomic<int> pending{1};   // children not finished + the walker's hold
    DirJob* parent = nullptr;      // null for the root
    size_t slot = 0;               // index of this directory in parent->tree.nodes
    std::optional<Id> previous;    // the same directory's tree in the parent snapshot
  };
  struct FileTask {
    DirJob* dir;
    size_t slot;
    std::string path;
    bool in_parent;
    std::vector<Id> previous_content;
  };
  struct SaveTask {
    Id id;
    RawBuffer data;
  };
  // A directory to list and stat, by any walker thread.
  struct DirTask {
    DirJob* job;  // held (pending) until the task has run
    std::string path;
    uint64_t device;
  };

  Impl(Repository& r, ArchiverOptions o, ArchiveProgress& p)
      : repo(r), opt(std::move(o)), progress(p), files(kFileQueueDepth), saves(kSaveQueueBytes) {}

  Repository& repo;
  ArchiverOptions opt;
  ArchiveProgress& progress;
  UserGroupNames names;
  BoundedQueue<FileTask> files;
  BoundedQueue<SaveTask> saves;
  std::vector<std::thread> readers, savers, walkers;
  std::thread scanner;

  // Directories waiting for a walker. A stack, so the walk stays depth-first
  // and few half-built directories are held at once. walk_outstanding counts
  // queued and running tasks (and the first walk, from Run's thread): when it
  // drops to zero the walk is over.
  std::mutex walk_mu;
  std::condition_variable walk_cv;
  std::vector<DirTask> walk_stack;
  size_t walk_outstanding = 0;
  std::atomic<bool> cancelled{false};
  std::atomic<bool> failed{false};

  // The extra readers (kExtraReaders) wait on cold_cv while cold_score is 0:
  // it is set to kColdMemory when a file's first read waits for the disk and
  // counts down on each that does not. reads_over releases them at the end.
  std::atomic<int> cold_score{0};
  std::mutex cold_mu;
  std::condition_variable cold_cv;
  bool reads_over = false;  // guarded by cold_mu

  std::mutex mu;  // guards the fields below
  Status fatal;
  std::vector<ArchiveIssue> errors, warnings;
  std::unordered_set<Id> dry_run_seen;
  std::condition_variable root_cv;
  std::optional<Id> root_tree;

  // Chunk buffers are recycled: allocating fresh ones for every chunk would
  // fault in new pages (and return them) for every megabyte read.
  std::mutex pool_mu;
  std::vector<RawBuffer> buffer_pool;
  RawBuffer TakeBuffer() {
    {
      std::lock_guard lock(pool_mu);
      if (!buffer_pool.empty()) {
        RawBuffer b = std::move(buffer_pool.back());
        buffer_pool.pop_back();
        pooled_bytes -= b.capacity();
        b.Clear();
        return b;
      }
    }
    // Room for most chunks (they rarely exceed twice the average) plus a read.
    return RawBuffer(2 * repo.chunker().params().avg_size + kReadSize);
  }
  void ReturnBuffer(RawBuffer b) {
    std::lock_guard lock(pool_mu);
    if (pooled_bytes + b.capacity() > kMaxPooledBytes) return;
    pooled_bytes += b.capacity();
    buffer_pool.push_back(std::move(b));
  }
  size_t pooled_bytes = 0;

  std::atomic<uint64_t> files_new{0}, files_changed{0}, files_unmodified{0};
  std::atomic<uint64_t> dirs_new{0}, dirs_changed{0}, dirs_unmodified{0};

  // ---------------------------------------------------------------- errors

  void Fatal(const Status& s) {
    std::lock_guard lock(mu);
    if (fatal.ok()) fatal = s;
    failed = true;
  }
  void Error(const std::string& path, const Status& s) {
    progress.errors++;
    std::lock_guard lock(mu);
    errors.push_back({path, s});
  }
  void Warn(const std::string& path, Status s) {
    std::lock_guard lock(mu);
    warnings.push_back({path, std::move(s)});
  }
  bool Stopping() const { return cancelled || failed; }

  // ---------------------------------------------------------------- blobs

  bool Known(format::BlobType type, const Id& id) {
    if (repo.HasBlob(type, id)) return true;
    if (!opt.dry_run) return false;
    std::lock_guard lock(mu);
    return dry_run_seen.count(id) != 0;
  }

  void Store(format::BlobType type, const Id& id, ByteView data) {
    if (opt.dry_run) {
      if (repo.HasBlob(type, id)) return;
      std::lock_guard lock(mu);
      if (dry_run_seen.insert(id).second) progress.bytes_added += data.size();
      return;
    }
    auto added = repo.SaveBlob(type, id, data);
    if (!added.ok()) {
      Fatal(added.status());
    } else if (*added) {
      progress.bytes_added += data.size();
    }
  }

  Result<std::unique_ptr<Tree>> LoadTree(const Id& id) {
    auto data = repo.LoadBlob(format::BlobType::kTree, id);
    if (!data.ok()) return data.status();
    auto tree = DecodeTree(*data);
    if (!tree.ok()) return tree.status().WithContext("tree " + id.Short());
    return std::make_unique<Tree>(std::move(*tree));
  }

  // A directory's tree in the parent snapshot (DirJob::previous), or null.
  // A parent tree that cannot be read only costs re-reading files, so it is
  // not an error.
  std::unique_ptr<Tree> PreviousTree(const std::optional<Id>& previous) {
    if (!previous) return nullptr;
    auto t = LoadTree(*previous);
    return t.ok() ? std::move(*t) : nullptr;
  }

  // ---------------------------------------------------------------- trees

  void ChildDone(DirJob* job) {
    if (job->pending.fetch_sub(1) == 1) FinishDir(job);
  }

  void FinishDir(DirJob* job) {
    Tree& tree = job->tree;
    if (std::find(job->dropped.begin(), job->dropped.end(), 1) != job->dropped.end()) {
      std::vector<Node> kept;
      for (size_t i = 0; i < tree.nodes.size(); ++i)
        if (!job->dropped[i]) kept.push_back(std::move(tree.nodes[i]));
      tree.nodes = std::move(kept);
    }
    Bytes encoded = EncodeTree(tree);
    Id id = repo.ComputeBlobId(encoded);
    Store(format::BlobType::kTree, id, encoded);
    if (!job->previous) {
      dirs_new++;
    } else if (*job->previous == id) {
      dirs_unmodified++;
    } else {
      dirs_changed++;
    }
    progress.dirs_done++;
    DirJob* parent = job->parent;
    if (!parent) {
      std::lock_guard lock(mu);
      root_tree = id;
      root_cv.notify_all();
    } else {
      parent->tree.nodes[job->slot].subtree = id;
    }
    delete job;
    if (parent) ChildDone(parent);
  }

  DirJob* NewDir(DirJob* parent, size_t slot, const Node* prev) {
    auto* job = new DirJob;
    job->parent = parent;
    job->slot = slot;
    if (prev && prev->type == NodeType::kDir && prev->subtree) job->previous = prev->subtree;
    return job;
  }

  // Adds nodes to a directory before any child is dispatched, so that the
  // node vector never reallocates while other threads fill in children.
  void SetNodes(DirJob* job, std::vector<Node> nodes) {
    job->tree.nodes = std::move(nodes);
    job->dropped.assign(job->tree.nodes.size(), 0);
    job->pending += static_cast<int>(job->tree.nodes.size());
  }

  // ---------------------------------------------------------------- walk

  void WalkTrie(DirJob* job, const PathTrie& trie, const std::string& dir, const Tree* prev) {
    std::vector<Node> nodes;
    std::vector<const PathTrie*> subtries;
    for (const auto& [name, sub] : trie.children) {
      std::string path = Child(dir, name);
      auto node = StatNode(path, name, names, {opt.read_xattrs});
      if (!node.ok()) {
        Error(path, node.status());
        continue;
      }
      if (!sub.target) node->type = NodeType::kDir;  // a component leading to a target
      StabilizeAtime(*node);
      nodes.push_back(std::move(*node));
      subtries.push_back(&sub);
    }
    SetNodes(job, std::move(nodes));
    for (size_t i = 0; i < subtries.size(); ++i) {
      Node& node = job->tree.nodes[i];
      std::string path = Child(dir, node.name);
      const Node* prev_node = prev ? prev->Find(node.name) : nullptr;
      if (subtries[i]->target) {
        Dispatch(job, i, path, prev_node, node.device_id);
      } else {
        DirJob* sub = NewDir(job, i, prev_node);
        auto prev_tree = PreviousTree(sub->previous);
        WalkTrie(sub, *subtries[i], path, prev_tree.get());
        ChildDone(sub);  // the walker's hold
      }
    }
  }

  void WalkDir(DirJob* job, const std::string& dir, const Tree* prev, uint64_t device) {
    int dir_fd = -1;
    auto entries = ListDirectory(dir, &dir_fd);
    if (!entries.ok()) {
      if (dir_fd >= 0) close(dir_fd);
      Error(dir, entries.status());
      SetNodes(job, {});
      return;
    }
    std::vector<std::string> names_in_dir = std::move(*entries);
    if (!opt.exclude_if_present.empty()) ApplyIfPresent(dir, &names_in_dir);
    std::vector<Node> nodes;
    nodes.reserve(names_in_dir.size());
    // Per kept node: its path and its node in the parent snapshot (or null).
    std::vector<std::pair<std::string, const Node*>> kept;
    kept.reserve(names_in_dir.size());
    // Entries are stat'ed relative to the directory (one name looked up, not
    // the whole path); without a descriptor, by full path.
    const int at = dir_fd >= 0 ? dir_fd : AT_FDCWD;
    for (std::string& name : names_in_dir) {
      if (Stopping()) break;
      std::string path = Child(dir, name);
      if (opt.exclude && opt.exclude->Excluded(path)) continue;
      const Node* prev_node = prev ? prev->Find(name) : nullptr;
      StatOptions stat_options{opt.read_xattrs};
      if (opt.parent_has_xattrs) stat_options.previous = prev_node;
      auto node = StatNodeAt(at, path, std::move(name), names, stat_options);
      if (!node.ok()) {
        Error(path, node.status());
        continue;
      }
      StabilizeAtime(*node);
      nodes.push_back(std::move(*node));
      kept.emplace_back(std::move(path), prev_node);
    }
    if (dir_fd >= 0) close(dir_fd);
    SetNodes(job, std::move(nodes));
    for (size_t i = 0; i < kept.size(); ++i) {
      Dispatch(job, i, kept[i].first, kept[i].second, device);
    }
  }

  void ApplyIfPresent(const std::string& dir, std::vector<std::string>* entries) {
    for (const std::string& name : *entries) {
      for (const IfPresentRule& rule : opt.exclude_if_present) {
        std::string head;
        if (!rule.header.empty()) {
          int fd = open(Child(dir, name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
          if (fd < 0) continue;
          head.resize(rule.header.size());
          ssize_t n = pread(fd, head.data(), head.size(), 0);
          close(fd);
          head.resize(n > 0 ? static_cast<size_t>(n) : 0);
        }
        if (rule.Matches(name, head)) {
          *entries = {name};  // keep the tag file so a restore shows why
          return;
        }
      }
    }
  }

  void Dispatch(DirJob* job, size_t slot, const std::string& path, const Node* prev,
                uint64_t device) {
    Node& node = job->tree.nodes[slot];
    switch (node.type) {
      case NodeType::kFile: {
        progress.files_total++;
        progress.bytes_total += node.size;
        if (prev && SameFileMeta(node, *prev) && AllKnown(prev->content)) {
          node.content = prev->content;
          files_unmodified++;
          progress.files_done++;
          progress.bytes_done += node.size;
          ChildDone(job);
          return;
        }
        FileTask task{job, slot, path, prev && prev->type == NodeType::kFile, {}};
        if (task.in_parent) task.previous_content = prev->content;
        if (!files.Push(std::move(task))) ChildDone(job);
        return;
      }
      case NodeType::kDir: {
        DirJob* sub = NewDir(job, slot, prev);
        if (opt.one_file_system && node.device_id != device) {
          SetNodes(sub, {});  // a mount point: kept, but not descended into
          ChildDone(sub);
          return;
        }
        PushDir(DirTask{sub, path, device});
        return;
      }
      default:
        ChildDone(job);
        return;
    }
  }

  bool AllKnown(const std::vector<Id>& content) {
    for (const Id& id : content)
      if (!repo.HasBlob(format::BlobType::kData, id)) return false;
    return true;
  }

  // ---------------------------------------------------------------- reading

  // Reads `fd` to its end, chunking and queueing new chunks. Returns the
  // chunk ids and sets *bytes_read. `size_hint` (the size fstat reported, or
  // -1) lets it stop without a final read that would only return 0; the
  // caller's second fstat still notices a file that grew meanwhile. A hint
  // of 0 is not trusted (pseudo-files report 0 and still have content).
  //
  // Bytes are read straight into the buffer of the chunk they belong to; a
  // new chunk's buffer is handed to the savers as is, so each byte is copied
  // once (by the kernel) and only the few bytes read past a cut move again.
  // Each read is scanned and hashed while it is still in the CPU's cache.
  Result<std::vector<Id>> ChunkStream(int fd, int64_t size_hint, uint64_t* bytes_read) {
    ChunkScanner scanner(repo.chunker());
    BlobIdStream hasher(repo.keys().blob_ids());
    size_t hashed = 0;  // the first bytes of `chunk` already given to `hasher`
    RawBuffer chunk = TakeBuffer();
    std::vector<Id> ids;
    *bytes_read = 0;
    bool first_read = true;
    // Ends the chunk at its first `length` bytes; the rest starts the next.
    auto emit = [&](size_t length) {
      const ByteView data(chunk.data(), length);
      hasher.Update(data.subspan(hashed));
      hashed = 0;
      const Id id = hasher.Finish();
      ids.push_back(id);
      const size_t rest = chunk.size() - length;
      if (Known(format::BlobType::kData, id)) {
        std::memmove(chunk.data(), chunk.data() + length, rest);
        chunk.Resize(rest);
        return;
      }
      if (opt.dry_run || length < kInlineSaveSize) {
        // Small files are stored by the reader itself: handing each to a
        // saver costs two thread wake-ups, more than compressing it here.
        Store(format::BlobType::kData, id, data);
        std::memmove(chunk.data(), chunk.data() + length, rest);
        chunk.Resize(rest);
        return;
      }
      RawBuffer next = TakeBuffer();
      next.Append(ByteView(chunk.data() + length, rest));
      chunk.Resize(length);
      saves.Push(SaveTask{id, std::move(chunk)}, length);
      chunk = std::move(next);
    };
    while (true) {
      if (Stopping()) return Status(Code::kCancelled, "cancelled");
      if (size_hint > 0 && *bytes_read == static_cast<uint64_t>(size_hint)) break;
      const size_t start = chunk.size();
      uint8_t* dst = chunk.Grow(kReadSize);
      ssize_t n;
      if (first_read) {
        first_read = false;
        bool waited = false;
        const size_t expected = std::min<size_t>(kReadSize, std::max<int64_t>(size_hint, 0));
        n = ReadNotingWait(fd, dst, kReadSize, expected, &waited);
        NoteFirstRead(waited);
      } else {
        n = read(fd, dst, kReadSize);
      }
      chunk.Resize(start + std::max<ssize_t>(n, 0));
      if (n < 0) {
        if (errno == EINTR) continue;
        ReturnBuffer(std::move(chunk));
        return ErrnoStatus(errno, "read");
      }
      if (n == 0) break;
      *bytes_read += static_cast<uint64_t>(n);
      progress.bytes_done += static_cast<uint64_t>(n);
      // Scan the new bytes; a cut may leave bytes that start the next chunk
      // (and, with a small minimum size, hold further cuts).
      size_t offset = start;
      while (offset < chunk.size()) {
        const size_t cut = scanner.Scan(ByteView(chunk.data() + offset, chunk.size() - offset));
        if (cut == ChunkScanner::kNoCut) break;
        emit(offset + cut);
        offset = 0;
      }
      hasher.Update(ByteView(chunk.data() + hashed, chunk.size() - hashed));
      hashed = chunk.size();
    }
    if (!chunk.empty()) emit(chunk.size());
    ReturnBuffer(std::move(chunk));
    return ids;
  }

  void NoteFirstRead(bool waited) {
    if (waited) {
      progress.files_read_uncached++;
      if (cold_score.exchange(kColdMemory) == 0) {
        { std::lock_guard lock(cold_mu); }  // a reader between its check and its wait sees it
        cold_cv.notify_all();
      }
      return;
    }
    int score = cold_score.load(std::memory_order_relaxed);
    while (score > 0 && !cold_score.compare_exchange_weak(score, score - 1)) {
    }
  }

  // Parks an extra reader until reads wait for the disk; false once the
  // reading is over.
  bool WaitForColdReads() {
    std::unique_lock lock(cold_mu);
    cold_cv.wait(lock, [&] { return cold_score.load() > 0 || reads_over; });
    return !reads_over;
  }

  void ReadFile(FileTask& task) {
    Node& node = task.dir->tree.nodes[task.slot];
    int fd = open(task.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
    if (fd < 0 && errno == EPERM) fd = open(task.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      Error(task.path, ErrnoStatus(errno, "unable to open '" + task.path + "'"));
      task.dir->dropped[task.slot] = 1;
      return;
    }
    struct stat before {};
    fstat(fd, &before);
    if (!S_ISREG(before.st_mode)) {
      close(fd);
      Error(task.path, IoError("'" + task.path + "' is no longer a regular file"));
      task.dir->dropped[task.slot] = 1;
      return;
    }
    if (before.st_size > static_cast<off_t>(repo.chunker().params().max_size))
      posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    uint64_t bytes = 0;
    auto ids = ChunkStream(fd, before.st_size, &bytes);
    struct stat after {};
    fstat(fd, &after);
    close(fd);
    if (!ids.ok()) {
      if (ids.status().code() != Code::kCancelled)
        Error(task.path, ids.status().WithContext("unable to read '" + task.path + "'"));
      task.dir->dropped[task.slot] = 1;
      return;
    }
    if (StatMtimeNs(before) != StatMtimeNs(after) || before.st_size != after.st_size ||
        StatCtimeNs(before) != StatCtimeNs(after) || node.mtime_ns != StatMtimeNs(before) ||
        bytes != node.size) {
      Warn(task.path, Status(Code::kIoError, "file changed while being read; the backup holds " +
                                                 std::to_string(bytes) + " bytes as read"));
      // Record what was stored, and times that make the next run read it again.
      node.size = bytes;
      node.mtime_ns = StatMtimeNs(after);
      node.ctime_ns = StatCtimeNs(after);
    }
    if (!task.in_parent) {
      files_new++;
    } else if (*ids == task.previous_content) {
      files_unmodified++;
    } else {
      files_changed++;
    }
    node.content = std::move(*ids);
    progress.files_done++;
  }

  // ---------------------------------------------------------------- walkers

  // Directories are walked by several threads: with nothing to read (a
  // backup where little changed) the walk is all the work, and it is
  // lstat/llistxattr path lookups in the kernel, which run in parallel.
  void PushDir(DirTask task) {
    {
      std::lock_guard lock(walk_mu);
      walk_stack.push_back(std::move(task));
      ++walk_outstanding;
    }
    walk_cv.notify_one();
  }

  void RunDirTask(const DirTask& task) {
    auto prev_tree = PreviousTree(task.job->previous);
    WalkDir(task.job, task.path, prev_tree.get(), task.device);
    ChildDone(task.job);  // the walker's hold
  }

  // Runs directory tasks until none is queued or running.
  void WalkLoop() {
    std::unique_lock lock(walk_mu);
    while (true) {
      walk_cv.wait(lock, [&] { return !walk_stack.empty() || walk_outstanding == 0; });
      if (walk_stack.empty()) return;
      DirTask task = std::move(walk_stack.back());
      walk_stack.pop_back();
      lock.unlock();
      RunDirTask(task);
      lock.lock();
      if (--walk_outstanding == 0) walk_cv.notify_all();
    }
  }

  // The first walk (from Run's thread) is outstanding until FirstWalkDone,
  // so that walkers started before it do not find the walk over.
  void StartWalkers() {
    {
      std::lock_guard lock(walk_mu);
      walk_outstanding = 1;
    }
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    int n = opt.walker_threads > 0 ? opt.walker_threads : std::max(cores, kMinWalkers);
    for (int i = 1; i < n; ++i) walkers.emplace_back([this] { WalkLoop(); });
  }
  void FirstWalkDone() {
    {
      std::lock_guard lock(walk_mu);
      if (--walk_outstanding == 0) walk_cv.notify_all();
    }
    WalkLoop();  // this thread is a walker too
    for (auto& t : walkers) t.join();
    walkers.clear();
  }

  // ---------------------------------------------------------------- threads

  void Start() {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    // An explicit count is used as is; by default one reader per core and
    // kExtraReaders more that read only while the files are not cached.
    const int n_readers = opt.reader_threads > 0 ? opt.reader_threads : cores;
    const int n_extra = opt.reader_threads > 0 ? 0 : kExtraReaders;
    const int n_savers = opt.saver_threads > 0 ? opt.saver_threads : cores;
    for (int i = 0; i < n_readers + n_extra; ++i) {
      const bool extra = i >= n_readers;
      readers.emplace_back([this, extra] {
        while (!extra || WaitForColdReads()) {
          auto task = files.Pop();
          if (!task) break;
          if (!Stopping()) ReadFile(*task);
          ChildDone(task->dir);
        }
      });
    }
    for (int i = 0; i < n_savers; ++i) {
      savers.emplace_back([this] {
        while (auto task = saves.Pop()) {
          if (!failed) Store(format::BlobType::kData, task->id, task->data.view());
          ReturnBuffer(std::move(task->data));
        }
      });
    }
  }

  // Counts what the walk will find (stat only), for progress totals.
  void Scan(const std::string& path, int depth) {
    if (Stopping() || depth > 4096) return;
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return;
    if (S_ISREG(st.st_mode)) {
      progress.scan_files++;
      progress.scan_bytes += static_cast<uint64_t>(st.st_size);
    } else if (S_ISDIR(st.st_mode)) {
      auto entries = ListDirectory(path);
      if (!entries.ok()) return;
      for (const std::string& name : *entries) {
        std::string child = Child(path, name);
        if (opt.exclude && opt.exclude->Excluded(child)) continue;
        Scan(child, depth + 1);
      }
    }
  }

  void Stop() {
    if (scanner.joinable()) scanner.join();
    if (!walkers.empty()) {  // Run did not get to finish the walk: end it
      {
        std::lock_guard lock(walk_mu);
        walk_stack.clear();
        walk_outstanding = 0;
      }
      walk_cv.notify_all();
      for (auto& t : walkers) t.join();
      walkers.clear();
    }
    {
      std::lock_guard lock(cold_mu);
      reads_over = true;
    }
    cold_cv.notify_all();
    files.Close();
    for (auto& t : readers) t.join();
    readers.clear();
    saves.Close();
    for (auto& t : savers) t.join();
    savers.clear();
  }

  Id WaitForRoot() {
    std::unique_lock lock(mu);
    root_cv.wait(lock, [&] { return root_tree.has_value(); });
    return *root_tree;
  }

  Result<ArchiveResult> Finish(Id tree) {
    Stop();
    if (!opt.dry_run) {
      Status flushed = repo.Flush();
      if (!flushed.ok()) Fatal(flushed);
    }
    if (!fatal.ok()) return fatal;
    if (cancelled) return Status(Code::kCancelled, "backup cancelled; no snapshot was written");
    ArchiveResult result;
    result.tree = tree;
    SnapshotSummary& s = result.summary;
    s.files_new = files_new;
    s.files_changed = files_changed;
    s.files_unmodified = files_unmodified;
    s.dirs_new = dirs_new;
    s.dirs_changed = dirs_changed;
    s.dirs_unmodified = dirs_unmodified;
    s.files_total = progress.files_total;
    s.bytes_total = progress.bytes_total;
    s.bytes_added = progress.bytes_added;
    s.errors = errors.size();
    // Walkers and readers report in the order they get there: sort by path
    // so that runs over the same tree report alike.
    auto by_path = [](const ArchiveIssue& a, const ArchiveIssue& b) { return a.path < b.path; };
    std::stable_sort(errors.begin(), errors.end(), by_path);
    std::stable_sort(warnings.begin(), warnings.end(), by_path);
    result.errors = std::move(errors);
    result.warnings = std::move(warnings);
    return result;
  }

  Result<ArchiveResult> Run() {
    PathTrie trie;
    bool whole_root = false;
    for (const std::string& p : opt.paths) {
      auto parts = SplitPath(p);
      if (parts.empty()) whole_root = true;
      PathTrie* t = &trie;
      for (const std::string& part : parts) t = &t->children[part];
      t->target = true;
    }
    std::unique_ptr<Tree> prev_root;
    if (opt.parent_tree) {
      auto t = LoadTree(*opt.parent_tree);
      if (t.ok()) prev_root = std::move(*t);
    }
    Start();
    if (opt.scan_totals) {
      scanner = std::thread([this] {
        for (const std::string& p : opt.paths) Scan(p, 0);
        progress.scan_finished = true;
      });
    }
    DirJob* root = NewDir(nullptr, 0, nullptr);
    root->previous = opt.parent_tree;
    StartWalkers();
    if (whole_root) {
      struct stat st {};
      lstat("/", &st);
      WalkDir(root, "/", prev_root.get(), st.st_dev);
    } else {
      WalkTrie(root, trie, "/", prev_root.get());
    }
    FirstWalkDone();
    progress.walk_finished = true;
    ChildDone(root);
    return Finish(WaitForRoot());
  }

  Result<ArchiveResult> RunStream(int fd, const std::string& filename) {
    if (!IsValidNodeName(filename)) {
      return InvalidArgument("'" + filename + "' is not a valid file name for --stdin-filename");
    }
    Start();
    DirJob* root = NewDir(nullptr, 0, nullptr);
    Node node;
    node.name = filename;
    node.type = NodeType::kFile;
    node.mode = 0644;
    node.uid = geteuid();
    node.gid = getegid();
    node.user = names.UserName(node.uid);
    node.group = names.GroupName(node.gid);
    node.mtime_ns = node.atime_ns = node.ctime_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::system_clock::now().time_since_epoch())
            .count();
    SetNodes(root, {node});
    progress.files_total = 1;
    uint64_t bytes = 0;
    auto ids = ChunkStream(fd, -1, &bytes);
    if (!ids.ok()) {
      Fatal(ids.status().WithContext("unable to read standard input"));
    } else {
      root->tree.nodes[0].content = std::move(*ids);
      root->tree.nodes[0].size = bytes;
      progress.bytes_total = bytes;
      files_new++;
      progress.files_done++;
    }
    ChildDone(root);  // the node
    progress.walk_finished = true;
    ChildDone(root);  // the walker's hold
    return Finish(WaitForRoot());
  }
};

Archiver::Archiver(Repository& repo, ArchiverOptions options)
    : impl_(std::make_unique<Impl>(repo, std::move(options), progress_)) {}

Archiver::~Archiver() { impl_->Stop(); }

Result<ArchiveResult> Archiver::Run() { return impl_->Run(); }

Result<ArchiveResult> Archiver::RunStream(int fd, const std::string& filename) {
  return impl_->RunStream(fd, filename);
}

void Archiver::Cancel() { impl_->cancelled = true; }

}  // namespace lifeboat
