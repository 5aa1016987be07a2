// Test helpers (header-only, for check_test and prune_test): an in-memory
// repository with small packs and a cheap KDF, and a builder that stores a
// snapshot of a few files (fixed 4 KiB chunks, nested folders) through the
// real Repository write path. Not part of the library.
// Thread-safety: single-threaded test use.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/fault_backend.h"
#include "backend/mem_backend.h"
#include "model/tree.h"
#include "repo/repository.h"
#include "repo/test_support.h"

namespace lifeboat::testing_repo {

using test_support::FastInit;
using test_support::Pattern;

inline constexpr size_t kChunk = 4096;

struct TestFile {
  std::string path;  // "name" or "dir/sub/name"
  Bytes content;
};

// Ids of the blobs a snapshot stored or referenced.
struct SnapshotBlobs {
  std::vector<Id> data;
  std::vector<Id> trees;  // root last
};

namespace internal {
struct Dir {
  std::map<std::string, Dir> dirs;
  std::vector<Node> files;
};

inline Result<Id> SaveDir(Repository& repo, const Dir& dir, SnapshotBlobs* blobs) {
  Tree tree;
  for (const auto& [name, sub] : dir.dirs) {
    LB_ASSIGN_OR_RETURN(Id sub_id, SaveDir(repo, sub, blobs));
    Node n;
    n.name = name;
    n.type = NodeType::kDir;
    n.mode = 0755;
    n.subtree = sub_id;
    tree.nodes.push_back(std::move(n));
  }
  for (const Node& f : dir.files) tree.nodes.push_back(f);
  tree.Sort();
  Bytes encoded = EncodeTree(tree);
  Id id = repo.ComputeBlobId(encoded);
  LB_RETURN_IF_ERROR(repo.SaveBlob(format::BlobType::kTree, id, encoded).status());
  blobs->trees.push_back(id);
  return id;
}
}  // namespace internal

// Stores the files' chunks, flushes, stores the trees, flushes, and writes a
// snapshot.
inline Result<Id> AddSnapshot(Repository& repo, const std::vector<TestFile>& files, int64_t time_ns,
                              SnapshotBlobs* blobs = nullptr) {
  SnapshotBlobs local;
  if (!blobs) blobs = &local;
  internal::Dir root;
  for (const TestFile& f : files) {
    internal::Dir* dir = &root;
    std::string rest = f.path;
    for (size_t slash; (slash = rest.find('/')) != std::string::npos;) {
      dir = &dir->dirs[rest.substr(0, slash)];
      rest = rest.substr(slash + 1);
    }
    Node n;
    n.name = rest;
    n.type = NodeType::kFile;
    n.mode = 0644;
    n.size = f.content.size();
    for (size_t off = 0; off < f.content.size(); off += kChunk) {
      ByteView chunk = ByteView(f.content).subspan(off, std::min(kChunk, f.content.size() - off));
      Id id = repo.ComputeBlobId(chunk);
      LB_RETURN_IF_ERROR(repo.SaveBlob(format::BlobType::kData, id, chunk).status());
      n.content.push_back(id);
      blobs->data.push_back(id);
    }
    dir->files.push_back(std::move(n));
  }
  // Data and trees go to different packs (and index files), so tests can
  // lose one without the other.
  LB_RETURN_IF_ERROR(repo.Flush());
  LB_ASSIGN_OR_RETURN(Id root_id, internal::SaveDir(repo, root, blobs));
  LB_RETURN_IF_ERROR(repo.Flush());
  Snapshot s;
  s.time_ns = time_ns;
  s.hostname = "test";
  s.paths = {"/srv"};
  s.tree = root_id;
  return repo.SaveSnapshot(s);
}

// A repository in a MemBackend that outlives every Repository opened on it.
class MemRepo {
 public:
  MemRepo() : mem_(std::make_unique<MemBackend>()) {}

  Status Init() {
    auto repo = Repository::Init(View(), "secret", FastInit());
    if (!repo.ok()) return repo.status();
    repo_ = std::move(*repo);
    return Status::Ok();
  }
  // A fresh Repository on the same objects (index loaded), e.g. after prune.
  Result<std::unique_ptr<Repository>> Reopen(Backend* through = nullptr) {
    std::unique_ptr<Backend> backend =
        std::make_unique<FaultBackend>(through ? through : static_cast<Backend*>(mem_.get()));
    LB_ASSIGN_OR_RETURN(auto repo, Repository::Open(std::move(backend), "secret"));
    LB_RETURN_IF_ERROR(repo->LoadIndex());
    return repo;
  }
  // A pass-through view onto the shared store (FaultBackend borrows it).
  std::unique_ptr<Backend> View() { return std::make_unique<FaultBackend>(mem_.get()); }

  MemBackend& mem() { return *mem_; }
  Repository& repo() { return *repo_; }

  std::vector<std::string> Names(ObjectType type) {
    std::vector<std::string> out;
    mem_->List(type,
               [&](const ObjectInfo& o) {
                 out.push_back(o.name);
                 return Status::Ok();
               })
        .IgnoreError();
    return out;
  }

 private:
  std::unique_ptr<MemBackend> mem_;
  std::unique_ptr<Repository> repo_;
};

}  // namespace lifeboat::testing_repo
