// Test-only helpers for the restore module's tests: an in-memory repository
// and a builder that stores hand-made trees and data chunks in it, plus small
// file helpers. Not part of lb_restore. Thread-safety: single test thread.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "backend/mem_backend.h"
#include "backend/test_temp_dir.h"
#include "model/tree.h"
#include "repo/repository.h"
#include "repo/test_support.h"

namespace lifeboat::testing_util {

using test_support::FastInit;
using test_support::Pattern;

inline Bytes Concat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Fixed, recognisable timestamps (with nanoseconds).
inline constexpr int64_t kMtime = 1700000000123456789;

class RepoFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mem = std::make_unique<MemBackend>();
    mem_ = mem.get();
    auto repo = Repository::Init(std::move(mem), "secret", FastInit());
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    ASSERT_FALSE(tmp_.path().empty());
  }

  // Stores a data chunk; returns its id.
  Id Chunk(const Bytes& data) {
    Id id = repo_->ComputeBlobId(data);
    auto r = repo_->SaveBlob(format::BlobType::kData, id, data);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return id;
  }

  Node File(std::string name, const std::vector<Bytes>& chunks, uint32_t mode = 0644) {
    Node n;
    n.name = std::move(name);
    n.type = NodeType::kFile;
    n.mode = mode;
    n.uid = 1000;
    n.gid = 1000;
    n.mtime_ns = kMtime;
    n.atime_ns = kMtime;
    for (const auto& c : chunks) {
      n.content.push_back(Chunk(c));
      n.size += c.size();
    }
    return n;
  }

  Node Symlink(std::string name, std::string target) {
    Node n;
    n.name = std::move(name);
    n.type = NodeType::kSymlink;
    n.mode = 0777;
    n.mtime_ns = kMtime;
    n.link_target = std::move(target);
    return n;
  }

  Node Special(std::string name, NodeType type, uint64_t rdev = 0) {
    Node n;
    n.name = std::move(name);
    n.type = type;
    n.mode = 0640;
    n.mtime_ns = kMtime;
    n.rdev = rdev;
    return n;
  }

  // Stores a tree of `children` and returns a directory node pointing at it.
  Node Dir(std::string name, std::vector<Node> children, uint32_t mode = 0755,
           int64_t mtime = kMtime) {
    Node n;
    n.name = std::move(name);
    n.type = NodeType::kDir;
    n.mode = mode;
    n.mtime_ns = mtime;
    n.atime_ns = mtime;
    n.subtree = TreeOf(std::move(children));
    return n;
  }

  Id TreeOf(std::vector<Node> children) {
    Tree t;
    t.nodes = std::move(children);
    t.Sort();
    Bytes enc = EncodeTree(t);
    Id id = repo_->ComputeBlobId(enc);
    auto r = repo_->SaveBlob(format::BlobType::kTree, id, enc);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return id;
  }

  void Flush() { ASSERT_TRUE(repo_->Flush().ok()); }

  // Flips one byte inside the stored (sealed) form of data blob `id`.
  void CorruptBlob(const Id& id) {
    auto loc = repo_->index().Find(format::BlobType::kData, id);
    ASSERT_TRUE(loc.has_value());
    ObjectName name{ObjectType::kPack, loc->pack_id.Hex()};
    auto data = mem_->Load(name);
    ASSERT_TRUE(data.ok());
    (*data)[loc->blob.offset + loc->blob.length / 2] ^= 0x40;
    ASSERT_TRUE(mem_->Save(name, *data).ok());
  }

  std::string Target(const std::string& sub = "out") { return tmp_.path() + "/" + sub; }

  MemBackend* mem_ = nullptr;
  std::unique_ptr<Repository> repo_;
  TestTempDir tmp_;
};

inline Bytes ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return Bytes(s.begin(), s.end());
}

inline bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

inline struct stat Lstat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

inline int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace lifeboat::testing_util
