#include "archiver/archiver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "backend/mem_backend.h"
#include "env/test_page_cache.h"
#include "model/tree.h"
#include "repo/test_support.h"

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

InitOptions FastInit() { return test_support::FastInit(256 * 1024, {4096, 16384, 65536}); }

std::string Random(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 7;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

class ArchiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-archiver-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    src_ = root_ + "/src";
    fs::create_directories(src_ + "/a/b");
    fs::create_directories(src_ + "/empty");
    fs::create_directories(src_ + "/skip");
    WriteFile(src_ + "/a/small.txt", "hello\n");
    WriteFile(src_ + "/a/b/big.bin", Random(400000, 1));  // many chunks
    WriteFile(src_ + "/a/b/copy.bin", Random(400000, 1));  // duplicate content
    WriteFile(src_ + "/zero", "");
    WriteFile(src_ + "/skip/x.log", "log");
    WriteFile(src_ + "/a/keep.log", "log");
    symlink("a/small.txt", (src_ + "/link").c_str());
    auto repo = Repository::Init(std::make_unique<MemBackend>(), "pw", FastInit());
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }
  void TearDown() override { fs::remove_all(root_); }

  Result<ArchiveResult> Backup(ArchiverOptions opt = {}) {
    if (opt.paths.empty()) opt.paths = {src_};
    Archiver archiver(*repo_, opt);
    return archiver.Run();
  }

  // The tree at an absolute path below the root tree.
  Tree TreeAt(const Id& root, const std::string& abs) {
    Tree t = *DecodeTree(*repo_->LoadBlob(format::BlobType::kTree, root));
    size_t pos = 1;
    while (pos < abs.size()) {
      size_t next = abs.find('/', pos);
      if (next == std::string::npos) next = abs.size();
      const Node* n = t.Find(abs.substr(pos, next - pos));
      EXPECT_NE(n, nullptr) << abs;
      if (!n) return {};
      t = *DecodeTree(*repo_->LoadBlob(format::BlobType::kTree, *n->subtree));
      pos = next + 1;
    }
    return t;
  }

  std::string Content(const Node& n) {
    std::string out;
    for (const Id& id : n.content) {
      auto b = repo_->LoadBlob(format::BlobType::kData, id);
      EXPECT_TRUE(b.ok());
      if (b.ok()) out += AsString(*b);
    }
    return out;
  }

  std::string root_, src_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(ArchiverTest, StoresTreeAndContent) {
  auto r = Backup();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->errors.empty());
  EXPECT_EQ(r->summary.files_new, 6u);
  Tree top = TreeAt(r->tree, src_);
  ASSERT_NE(top.Find("a"), nullptr);
  ASSERT_NE(top.Find("empty"), nullptr);
  const Node* link = top.Find("link");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->type, NodeType::kSymlink);
  EXPECT_EQ(link->link_target, "a/small.txt");
  const Node* zero = top.Find("zero");
  ASSERT_NE(zero, nullptr);
  EXPECT_TRUE(zero->content.empty());
  Tree b = TreeAt(r->tree, src_ + "/a/b");
  const Node* big = b.Find("big.bin");
  const Node* copy = b.Find("copy.bin");
  ASSERT_NE(big, nullptr);
  ASSERT_NE(copy, nullptr);
  EXPECT_GT(big->content.size(), 3u);
  EXPECT_EQ(big->content, copy->content);
  EXPECT_EQ(Content(*big), Random(400000, 1));
  EXPECT_EQ(Content(*TreeAt(r->tree, src_ + "/a").Find("small.txt")), "hello\n");
  // The duplicate was stored once: about one file's worth of data was added.
  EXPECT_LT(r->summary.bytes_added, 400000u + 20000u);
}

TEST_F(ArchiverTest, SecondRunWithParentReadsNothingNew) {
  auto first = Backup();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(repo_->Flush().ok());
  ArchiverOptions opt;
  opt.parent_tree = first->tree;
  auto second = Backup(opt);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->summary.files_unmodified, 6u);
  EXPECT_EQ(second->summary.files_new + second->summary.files_changed, 0u);
  // Only the trees of the ancestors (/tmp changes all the time) may be new.
  EXPECT_LT(second->summary.bytes_added, 4096u);
  auto src_tree = [&](const Id& root) {
    std::string parent = src_.substr(0, src_.rfind('/'));
    return TreeAt(root, parent).Find("src")->subtree;
  };
  EXPECT_EQ(src_tree(second->tree), src_tree(first->tree));  // nothing below changed

  WriteFile(src_ + "/a/small.txt", "changed\n");
  opt.parent_tree = second->tree;
  auto third = Backup(opt);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->summary.files_changed, 1u);
  EXPECT_EQ(third->summary.files_unmodified, 5u);
  EXPECT_EQ(Content(*TreeAt(third->tree, src_ + "/a").Find("small.txt")), "changed\n");
}

TEST_F(ArchiverTest, ExcludeFilter) {
  auto filter = PathFilter::Create({"*.log", src_ + "/empty"});
  ASSERT_TRUE(filter.ok());
  ArchiverOptions opt;
  opt.exclude = &*filter;
  auto r = Backup(opt);
  ASSERT_TRUE(r.ok());
  Tree top = TreeAt(r->tree, src_);
  EXPECT_EQ(top.Find("empty"), nullptr);
  EXPECT_TRUE(TreeAt(r->tree, src_ + "/skip").nodes.empty());
  EXPECT_EQ(TreeAt(r->tree, src_ + "/a").Find("keep.log"), nullptr);
}

TEST_F(ArchiverTest, ExcludeIfPresentKeepsOnlyTheTagFile) {
  WriteFile(src_ + "/skip/.nobackup", "");
  ArchiverOptions opt;
  opt.exclude_if_present.push_back(*ParseExcludeIfPresent(".nobackup"));
  auto r = Backup(opt);
  ASSERT_TRUE(r.ok());
  Tree skip = TreeAt(r->tree, src_ + "/skip");
  ASSERT_EQ(skip.nodes.size(), 1u);
  EXPECT_EQ(skip.nodes[0].name, ".nobackup");
}

TEST_F(ArchiverTest, DryRunStoresNothing) {
  auto* mem = dynamic_cast<MemBackend*>(&repo_->backend());
  ASSERT_NE(mem, nullptr);
  size_t before = mem->ObjectCount();
  ArchiverOptions opt;
  opt.dry_run = true;
  auto r = Backup(opt);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->summary.bytes_added, 400000u);
  EXPECT_EQ(mem->ObjectCount(), before);
}

// Directories are walked and files read by several threads; the trees must
// not depend on how many, and an incremental run with many walkers and
// readers must find every file.
TEST_F(ArchiverTest, ManyWalkersAndReadersBuildTheSameTreesAsOne) {
  const std::string wide = src_ + "/wide";
  size_t files = 6;  // the fixture's
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 6; ++j) {
      for (int k = 0; k < 4; ++k) {
        const std::string dir = wide + "/d" + std::to_string(i) + "/e" + std::to_string(j) +
                                "/f" + std::to_string(k);
        fs::create_directories(dir);
        WriteFile(dir + "/x", "x" + std::to_string(i * 100 + j * 10 + k));
        WriteFile(dir + "/y", Random(5000, static_cast<uint32_t>(i * 100 + j * 10 + k)));
        files += 2;
      }
    }
  }
  auto src_tree = [&](const Id& root) {
    std::string parent = src_.substr(0, src_.rfind('/'));
    return TreeAt(root, parent).Find("src")->subtree;
  };
  ArchiverOptions one;
  one.walker_threads = 1;
  one.reader_threads = 1;
  auto a = Backup(one);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ArchiverOptions many;
  many.walker_threads = 16;
  many.reader_threads = 6;
  auto b = Backup(many);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->summary.files_new, files);
  EXPECT_EQ(src_tree(b->tree), src_tree(a->tree));
  ASSERT_TRUE(repo_->Flush().ok());

  many.parent_tree = b->tree;
  auto c = Backup(many);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->summary.files_unmodified, files);
  EXPECT_EQ(src_tree(c->tree), src_tree(a->tree));

  WriteFile(wide + "/d5/e0/f3/x", "changed");
  many.parent_tree = c->tree;
  auto d = Backup(many);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->summary.files_changed, 1u);
  EXPECT_EQ(d->summary.files_unmodified, files - 1);
  EXPECT_EQ(Content(*TreeAt(d->tree, wide + "/d5/e0/f3").Find("x")), "changed");
  EXPECT_EQ(Content(*TreeAt(d->tree, wide + "/d2/e4/f1").Find("x")), "x241");
}

// Files not in the page cache are read by more threads (the extra readers
// wake when a first read waits for the disk); the trees are the same as
// from a warm cache, and the reads are counted as uncached.
TEST_F(ArchiverTest, FilesReadFromTheDiskGiveTheSameTreesAsCachedOnes) {
  const std::string cold = src_ + "/cold";
  fs::create_directories(cold);
  std::vector<std::string> paths;
  for (int i = 0; i < 40; ++i) {
    paths.push_back(cold + "/f" + std::to_string(i));
    WriteFile(paths.back(), Random(20000 + 3000 * i, static_cast<uint32_t>(100 + i)));
  }
  // Drops the files' pages; false if the filesystem keeps them (tmpfs).
  auto drop_from_cache = [&] {
    bool dropped = true;
    for (const std::string& p : paths) {
      int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
      EXPECT_GE(fd, 0);
      if (!DropFromPageCache(fd)) dropped = false;
      close(fd);
    }
    return dropped;
  };
  ArchiverOptions opt;
  opt.paths = {src_};
  Archiver warm(*repo_, opt);
  auto a = warm.Run();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(warm.progress().files_read_uncached.load(), 0u);

  if (!drop_from_cache()) {
    GTEST_SKIP() << "the filesystem under " << root_ << " keeps dropped pages (tmpfs?)";
  }
  Archiver cold_run(*repo_, opt);
  auto b = cold_run.Run();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  // Each file's first read waits, unless readahead for an earlier one (same
  // directory, neighbouring blocks) brought it in.
  EXPECT_GE(cold_run.progress().files_read_uncached.load(), 20u);
  // Same files, same contents (times of the folders may differ: listing
  // them updates their atime).
  const Tree warm_dir = TreeAt(a->tree, cold), cold_dir = TreeAt(b->tree, cold);
  ASSERT_EQ(cold_dir.nodes.size(), paths.size());
  ASSERT_EQ(warm_dir.nodes.size(), paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    EXPECT_EQ(cold_dir.nodes[i].name, warm_dir.nodes[i].name);
    EXPECT_EQ(cold_dir.nodes[i].content, warm_dir.nodes[i].content) << cold_dir.nodes[i].name;
    EXPECT_EQ(cold_dir.nodes[i].size, warm_dir.nodes[i].size);
  }
  EXPECT_EQ(b->summary.files_new, a->summary.files_new);
  EXPECT_EQ(Content(*TreeAt(b->tree, cold).Find("f39")), Random(20000 + 3000 * 39, 139));
}

TEST_F(ArchiverTest, MissingPathIsAnErrorNotACrash) {
  ArchiverOptions opt;
  opt.paths = {src_, root_ + "/does-not-exist"};
  auto r = Backup(opt);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].status.code(), Code::kNotFound);
}

TEST_F(ArchiverTest, UnreadableFileIsReportedAndLeftOut) {
  if (geteuid() == 0) GTEST_SKIP() << "root can read everything";
  WriteFile(src_ + "/secret", "x");
  chmod((src_ + "/secret").c_str(), 0);
  auto r = Backup();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(TreeAt(r->tree, src_).Find("secret"), nullptr);
}

TEST_F(ArchiverTest, StreamBackup) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string data = Random(300000, 9);
  std::thread writer([&] {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = write(fds[1], data.data() + off, data.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(fds[1]);
  });
  Archiver archiver(*repo_, {});
  auto r = archiver.RunStream(fds[0], "db.sql");
  writer.join();
  close(fds[0]);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Tree root = *DecodeTree(*repo_->LoadBlob(format::BlobType::kTree, r->tree));
  ASSERT_EQ(root.nodes.size(), 1u);
  EXPECT_EQ(root.nodes[0].name, "db.sql");
  EXPECT_EQ(root.nodes[0].size, data.size());
  EXPECT_EQ(Content(root.nodes[0]), data);
  Archiver bad(*repo_, {});
  EXPECT_EQ(bad.RunStream(fds[0], "a/b").status().code(), Code::kInvalidArgument);
}

TEST(NormalizeBackupPath, Cleans) {
  EXPECT_EQ(NormalizeBackupPath("/a//b/./c/"), "/a/b/c");
  EXPECT_EQ(NormalizeBackupPath("/a/b/../c"), "/a/c");
  EXPECT_EQ(NormalizeBackupPath("/.."), "/");
  EXPECT_EQ(NormalizeBackupPath("/"), "/");
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(NormalizeBackupPath("x"), std::string(cwd) == "/" ? "/x" : std::string(cwd) + "/x");
}

}  // namespace
}  // namespace lifeboat
