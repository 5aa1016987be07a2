#include "archiver/tree_ingest.h"

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "base/bounded_queue.h"
#include "base/raw_buffer.h"
#include "chunker/chunker.h"
#include "model/tree.h"

namespace lifeboat {
namespace {

constexpr size_t kSaveQueueBytes = 8ull << 20;  // chunks waiting for compression
constexpr size_t kMaxPooledBytes = 32ull << 20;
// New chunks smaller than this are stored by the calling thread: a hand-off
// costs two thread wake-ups, more than compressing a small chunk.
constexpr size_t kInlineSaveSize = 64 << 10;


}  // namespace

struct TreeIngest::Impl {
  struct Dir {
    Node node;  // the directory's own metadata (name unused for the root)
    bool explicit_meta = false;
    std::map<std::string, std::unique_ptr<Dir>> dirs;
    std::map<std::string, Node> leaves;  // files and symlinks
  };
  struct SaveTask {
    Id id;
    RawBuffer data;
  };

  Impl(Repository& r, IngestOptions o, ArchiveProgress& p)
      : repo(r), opt(o), progress(p), saves(kSaveQueueBytes) {
    root.node.type = NodeType::kDir;
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    int n = opt.saver_threads > 0 ? opt.saver_threads : static_cast<int>(cores);
    for (int i = 0; i < n; ++i) {
      savers.emplace_back([this] {
        while (auto task = saves.Pop()) {
          if (!failed) Store(format::BlobType::kData, task->id, task->data.view());
          ReturnBuffer(std::move(task->data));
        }
      });
    }
  }

  ~Impl() { StopSavers(); }

  Repository& repo;
  IngestOptions opt;
  ArchiveProgress& progress;
  BoundedQueue<SaveTask> saves;
  std::vector<std::thread> savers;
  std::atomic<bool> cancelled{false}, failed{false};
  bool finished = false;

  std::mutex mu;  // guards fatal
  Status fatal;

  Dir root;
  uint64_t files = 0, dirs = 0, bytes_total = 0;

  // The file being written (BeginFile..EndFile).
  Node* current = nullptr;
  std::optional<ChunkScanner> scanner;
  RawBuffer chunk;
  uint64_t current_size = 0;

  std::mutex pool_mu;
  std::vector<RawBuffer> pool;
  size_t pooled_bytes = 0;

  RawBuffer TakeBuffer() {
    {
      std::lock_guard lock(pool_mu);
      if (!pool.empty()) {
        RawBuffer b = std::move(pool.back());
        pool.pop_back();
        pooled_bytes -= b.capacity();
        b.Clear();
        return b;
      }
    }
    return RawBuffer(2 * repo.chunker().params().avg_size);
  }
  void ReturnBuffer(RawBuffer b) {
    std::lock_guard lock(pool_mu);
    if (pooled_bytes + b.capacity() > kMaxPooledBytes) return;
    pooled_bytes += b.capacity();
    pool.push_back(std::move(b));
  }

  void StopSavers() {
    saves.Close();
    for (auto& t : savers) t.join();
    savers.clear();
  }

  void Fatal(const Status& s) {
    std::lock_guard lock(mu);
    if (fatal.ok()) fatal = s;
    failed = true;
  }
  Status Check() {
    if (cancelled) return Status(Code::kCancelled, "cancelled");
    if (finished) return Status(Code::kInternal, "TreeIngest used after Finish");
    if (failed) {
      std::lock_guard lock(mu);
      return fatal;
    }
    return Status::Ok();
  }

  void Store(format::BlobType type, const Id& id, ByteView data) {
    auto added = repo.SaveBlob(type, id, data);
    if (!added.ok()) {
      Fatal(added.status());
    } else if (*added) {
      progress.bytes_added += data.size();
    }
  }

  // Splits a path into validated components.
  static Result<std::vector<std::string>> Split(std::string_view path) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i <= path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string_view::npos) j = path.size();
      std::string_view part = path.substr(i, j - i);
      i = j + 1;
      if (part.empty() || part == ".") continue;
      if (!IsValidNodeName(part)) {
        return InvalidArgument("invalid path '" + std::string(path) + "' in the stream");
      }
      parts.emplace_back(part);
    }
    if (parts.empty()) return InvalidArgument("empty path in the stream");
    return parts;
  }

  Node MakeNode(const std::string& name, NodeType type, const NodeMeta& meta) {
    Node n;
    n.name = name;
    n.type = type;
    n.mode = meta.mode & 07777;
    n.uid = meta.uid;
    n.gid = meta.gid;
    n.user = meta.user;
    n.group = meta.group;
    n.mtime_ns = n.atime_ns = n.ctime_ns = meta.mtime_ns;
    return n;
  }

  // The directory holding the last component of `parts`, creating implied
  // parents on the way.
  Result<Dir*> ParentOf(const std::vector<std::string>& parts, std::string_view path) {
    Dir* d = &root;
    for (size_t k = 0; k + 1 < parts.size(); ++k) {
      const std::string& name = parts[k];
      if (d->leaves.count(name)) {
        return Status(Code::kAlreadyExists,
                      "'" + std::string(path) + "': a parent is not a directory in the stream");
      }
      auto& slot = d->dirs[name];
      if (!slot) {
        slot = std::make_unique<Dir>();
        NodeMeta implied;
        implied.mode = 0700;
        slot->node = MakeNode(name, NodeType::kDir, implied);
        dirs++;
        progress.dirs_done++;
      }
      d = slot.get();
    }
    return d;
  }

  Status Duplicate(std::string_view path) {
    return Status(Code::kAlreadyExists, "'" + std::string(path) + "' appears twice in the stream");
  }

  Status AddDirectory(std::string_view path, const NodeMeta& meta) {
    LB_RETURN_IF_ERROR(Check());
    if (current) return InvalidArgument("AddDirectory while a file is open");
    LB_ASSIGN_OR_RETURN(auto parts, Split(path));
    LB_ASSIGN_OR_RETURN(Dir * parent, ParentOf(parts, path));
    const std::string& name = parts.back();
    if (parent->leaves.count(name)) return Duplicate(path);
    auto& slot = parent->dirs[name];
    if (slot) {
      if (slot->explicit_meta) return Duplicate(path);
    } else {
      slot = std::make_unique<Dir>();
      dirs++;
      progress.dirs_done++;
    }
    slot->node = MakeNode(name, NodeType::kDir, meta);
    slot->explicit_meta = true;
    return Status::Ok();
  }

  Result<Node*> AddLeaf(std::string_view path, NodeType type, const NodeMeta& meta) {
    LB_RETURN_IF_ERROR(Check());
    if (current) return InvalidArgument("an entry was added while a file is open");
    LB_ASSIGN_OR_RETURN(auto parts, Split(path));
    LB_ASSIGN_OR_RETURN(Dir * parent, ParentOf(parts, path));
    const std::string& name = parts.back();
    if (parent->leaves.count(name) || parent->dirs.count(name)) return Duplicate(path);
    Node& n = parent->leaves[name];
    n = MakeNode(name, type, meta);
    return &n;
  }

  Status AddSymlink(std::string_view path, std::string_view target, const NodeMeta& meta) {
    if (target.empty() || target.find('\0') != std::string_view::npos) {
      return InvalidArgument("invalid symlink target for '" + std::string(path) + "'");
    }
    LB_ASSIGN_OR_RETURN(Node * n, AddLeaf(path, NodeType::kSymlink, meta));
    n->link_target = std::string(target);
    n->mode = 0777;
    return Status::Ok();
  }

  Status BeginFile(std::string_view path, const NodeMeta& meta) {
    LB_ASSIGN_OR_RETURN(Node * n, AddLeaf(path, NodeType::kFile, meta));
    current = n;
    scanner.emplace(repo.chunker());
    chunk = TakeBuffer();
    current_size = 0;
    return Status::Ok();
  }

  // Ends the current chunk at its first `length` bytes; the rest starts the
  // next one.
  void Emit(size_t length) {
    const ByteView data(chunk.data(), length);
    const Id id = repo.ComputeBlobId(data);
    current->content.push_back(id);
    const size_t rest = chunk.size() - length;
    if (repo.HasBlob(format::BlobType::kData, id) || length < kInlineSaveSize) {
      if (!repo.HasBlob(format::BlobType::kData, id)) Store(format::BlobType::kData, id, data);
      std::memmove(chunk.data(), chunk.data() + length, rest);
      chunk.Resize(rest);
      return;
    }
    RawBuffer next = TakeBuffer();
    next.Append(ByteView(chunk.data() + length, rest));
    chunk.Resize(length);
    saves.Push(SaveTask{id, std::move(chunk)}, length);
    chunk = std::move(next);
  }

  Status Write(ByteView data) {
    LB_RETURN_IF_ERROR(Check());
    if (!current) return InvalidArgument("Write without BeginFile");
    // Feed in pieces of at most one maximum chunk, so the buffer never holds
    // more than a chunk plus one piece.
    const size_t piece = repo.chunker().params().max_size;
    while (!data.empty()) {
      const size_t n = std::min(piece, data.size());
      const size_t start = chunk.size();
      chunk.Append(data.subspan(0, n));
      data = data.subspan(n);
      current_size += n;
      progress.bytes_done += n;
      size_t offset = start;
      while (offset < chunk.size()) {
        const size_t cut = scanner->Scan(ByteView(chunk.data() + offset, chunk.size() - offset));
        if (cut == ChunkScanner::kNoCut) break;
        Emit(offset + cut);
        offset = 0;
      }
    }
    return Status::Ok();
  }

  Status EndFile() {
    LB_RETURN_IF_ERROR(Check());
    if (!current) return InvalidArgument("EndFile without BeginFile");
    if (!chunk.empty()) Emit(chunk.size());
    ReturnBuffer(std::move(chunk));
    chunk = RawBuffer();
    current->size = current_size;
    bytes_total += current_size;
    files++;
    progress.files_done++;
    progress.files_total = files;
    progress.bytes_total = bytes_total;
    current = nullptr;
    scanner.reset();
    return Check();
  }

  Result<Id> StoreDir(Dir& d) {
    Tree tree;
    tree.nodes.reserve(d.dirs.size() + d.leaves.size());
    for (auto& [name, sub] : d.dirs) {
      LB_ASSIGN_OR_RETURN(Id id, StoreDir(*sub));
      Node n = sub->node;
      n.subtree = id;
      tree.nodes.push_back(std::move(n));
    }
    for (auto& [name, leaf] : d.leaves) tree.nodes.push_back(std::move(leaf));
    if (!d.explicit_meta) {
      // An implied directory takes its newest child's time: deterministic, so
      // ingesting the same entries again gives the same tree.
      int64_t newest = 0;
      for (const Node& n : tree.nodes) newest = std::max(newest, n.mtime_ns);
      d.node.mtime_ns = d.node.atime_ns = d.node.ctime_ns = newest;
    }
    tree.Sort();
    Bytes encoded = EncodeTree(tree);
    Id id = repo.ComputeBlobId(encoded);
    if (!repo.HasBlob(format::BlobType::kTree, id)) Store(format::BlobType::kTree, id, encoded);
    if (failed) return Check();
    return id;
  }

  Result<ArchiveResult> Finish() {
    LB_RETURN_IF_ERROR(Check());
    if (current) return InvalidArgument("Finish while a file is open");
    finished = true;
    StopSavers();
    if (cancelled) return Status(Code::kCancelled, "cancelled; no snapshot was written");
    {
      std::lock_guard lock(mu);
      if (!fatal.ok()) return fatal;
    }
    auto tree = StoreDir(root);
    if (!tree.ok()) return tree.status();
    LB_RETURN_IF_ERROR(repo.Flush());
    ArchiveResult result;
    result.tree = *tree;
    SnapshotSummary& s = result.summary;
    s.files_new = files;
    s.dirs_new = dirs;
    s.files_total = files;
    s.bytes_total = bytes_total;
    s.bytes_added = progress.bytes_added;
    progress.walk_finished = true;
    return result;
  }
};

TreeIngest::TreeIngest(Repository& repo, IngestOptions options)
    : impl_(std::make_unique<Impl>(repo, options, progress_)) {}
TreeIngest::~TreeIngest() = default;

Status TreeIngest::AddDirectory(std::string_view path, const NodeMeta& meta) {
  return impl_->AddDirectory(path, meta);
}
Status TreeIngest::AddSymlink(std::string_view path, std::string_view target,
                              const NodeMeta& meta) {
  return impl_->AddSymlink(path, target, meta);
}
Status TreeIngest::BeginFile(std::string_view path, const NodeMeta& meta) {
  return impl_->BeginFile(path, meta);
}
Status TreeIngest::Write(ByteView data) { return impl_->Write(data); }
Status TreeIngest::EndFile() { return impl_->EndFile(); }
Result<ArchiveResult> TreeIngest::Finish() { return impl_->Finish(); }
void TreeIngest::Cancel() { impl_->cancelled = true; }

}  // namespace lifeboat
