#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <set>
#include <thread>

#include "backend/fault_backend.h"
#include "backend/test_remote_view.h"
#include "restore/restore_test_util.h"
#include "restore/restorer.h"
#include "restore/tree_walk.h"

namespace lifeboat {
namespace {

using namespace testing_util;  // NOLINT

class RestoreTest : public RepoFixture {
 protected:
  // Snapshot of /srv/app and /srv/other:
  //   /srv/app/a.txt        [A, B]            0640
  //   /srv/app/b.bin        [B, A, B]         (chunks shared with a.txt and repeated)
  //   /srv/app/empty        []
  //   /srv/app/emptydir/
  //   /srv/app/link         -> a.txt
  //   /srv/app/fifo
  //   /srv/app/sparse.img   [R1, zeros(256 KiB), R2]
  //   /srv/app/hard1, hard2 same inode, [C]
  //   /srv/app/x.log        [D]
  //   /srv/app/caf\xe9.txt  [E]               (not UTF-8)
  //   /srv/app/xattr.txt    [F] user.comment=hello
  //   /srv/app/sub/deep.txt [G]
  //   /srv/other/o.txt      [H]
  void SetUp() override {
    RepoFixture::SetUp();
    a_ = Pattern(20000, 1);
    b_ = Pattern(30000, 2);
    Node a = File("a.txt", {a_, b_}, 0640);
    Node b = File("b.bin", {b_, a_, b_});
    Node empty = File("empty", {});
    Node emptydir = Dir("emptydir", {}, 0700, kMtime + 5);
    Node link = Symlink("link", "a.txt");
    Node fifo = Special("fifo", NodeType::kFifo);
    sparse_ = Concat({Pattern(8192, 3), Bytes(256 * 1024, 0), Pattern(8192, 4)});
    Node sparse = File("sparse.img", {Pattern(8192, 3), Bytes(256 * 1024, 0), Pattern(8192, 4)});
    Node hard1 = File("hard1", {Pattern(5000, 5)});
    hard1.links = 2;
    hard1.inode = 77;
    hard1.device_id = 9;
    Node hard2 = hard1;
    hard2.name = "hard2";
    Node log = File("x.log", {Pattern(1000, 6)});
    Node latin1 = File("caf\xe9.txt", {Pattern(1234, 7)});
    Node xattr = File("xattr.txt", {Pattern(100, 8)});
    xattr.xattrs.push_back({"user.comment", Bytes{'h', 'e', 'l', 'l', 'o'}});
    Node deep = File("deep.txt", {Pattern(3000, 9)});
    Node sub = Dir("sub", {deep}, 0711);
    Node app = Dir(
        "app", {a, b, empty, emptydir, link, fifo, sparse, hard1, hard2, log, latin1, xattr, sub},
        0750, kMtime + 1000);
    Node other = Dir("other", {File("o.txt", {Pattern(4000, 10)})});
    Node srv = Dir("srv", {app, other});
    root_ = TreeOf({srv});
    Flush();
  }

  Result<RestoreResult> RunRestore(RestorerOptions options, std::string_view subpath = "") {
    Restorer restorer(*repo_, std::move(options));
    return restorer.Restore(root_, subpath);
  }

  RestorerOptions Options(const std::string& target) {
    RestorerOptions o;
    o.target = target;
    o.threads = 3;
    return o;
  }

  // Stores, as root_, 40 top directories d0..d39, each holding a chain of
  // directories c0/../c5 down to its own leaf.txt and the same subtree
  // "same" (same/inner/x.txt, same/y.txt: one tree id under every top).
  void StoreWideDeepSnapshot() {
    const Node same = Dir("same", {Dir("inner", {File("x.txt", {Pattern(700, 200)})}),
                                   File("y.txt", {Pattern(800, 201)})});
    std::vector<Node> tops;
    for (int n = 0; n < kTops; ++n) {
      Node chain = File("leaf.txt", {Pattern(100 + n, 300 + n)});
      for (int depth = kDepth - 1; depth >= 0; --depth) {
        chain = Dir("c" + std::to_string(depth), {chain});
      }
      tops.push_back(Dir("d" + std::to_string(n), {same, chain}));
    }
    root_ = TreeOf(tops);
    Flush();
  }
  static constexpr int kTops = 40;
  static constexpr int kDepth = 6;
  // The path of top n's leaf.txt in that snapshot.
  static std::string Leaf(int n) {
    std::string p = "/d" + std::to_string(n);
    for (int depth = 0; depth < kDepth; ++depth) p += "/c" + std::to_string(depth);
    return p + "/leaf.txt";
  }

  // Replaces repo_ with a new repository on a FaultBackend (which counts
  // and hooks its calls); null if that failed.
  FaultBackend* UseFaultBackend() {
    auto fault = std::make_unique<FaultBackend>(std::make_unique<MemBackend>());
    FaultBackend* backend = fault.get();
    auto repo = Repository::Init(std::move(fault), "secret", FastInit());
    if (!repo.ok()) return nullptr;
    repo_ = std::move(*repo);
    return backend;
  }

  static std::string Errors(const RestoreResult& r) {
    std::string s;
    for (const auto& e : r.errors) s += e.path + ": " + e.status.ToString() + "\n";
    return s;
  }

  Bytes a_, b_, sparse_;
  Id root_;
};

TEST_F(RestoreTest, RestoresEverythingExactly) {
  std::string t = Target();
  auto r = RunRestore(Options(t));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  std::string app = t + "/srv/app";

  EXPECT_EQ(ReadFileBytes(app + "/a.txt"), Concat({a_, b_}));
  EXPECT_EQ(ReadFileBytes(app + "/b.bin"), Concat({b_, a_, b_}));
  EXPECT_EQ(ReadFileBytes(app + "/sub/deep.txt"), Pattern(3000, 9));
  EXPECT_EQ(ReadFileBytes(t + "/srv/other/o.txt"), Pattern(4000, 10));
  EXPECT_EQ(ReadFileBytes(app + "/caf\xe9.txt"), Pattern(1234, 7));

  struct stat st = Lstat(app + "/empty");
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 0);
  st = Lstat(app + "/emptydir");
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(MtimeNs(st), kMtime + 5);
  EXPECT_TRUE(std::filesystem::is_empty(app + "/emptydir"));

  st = Lstat(app + "/link");
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(std::filesystem::read_symlink(app + "/link").string(), "a.txt");
  EXPECT_EQ(MtimeNs(st), kMtime);
  EXPECT_TRUE(S_ISFIFO(Lstat(app + "/fifo").st_mode));
  EXPECT_EQ(Lstat(app + "/fifo").st_mode & 07777, 0640u);

  // Mode and times of files and directories (directories after their children).
  st = Lstat(app + "/a.txt");
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(MtimeNs(st), kMtime);
  st = Lstat(app);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(MtimeNs(st), kMtime + 1000);
  EXPECT_EQ(Lstat(app + "/sub").st_mode & 07777, 0711u);

  // Hardlinks share an inode.
  struct stat h1 = Lstat(app + "/hard1"), h2 = Lstat(app + "/hard2");
  EXPECT_EQ(h1.st_ino, h2.st_ino);
  EXPECT_EQ(h1.st_nlink, 2u);
  EXPECT_EQ(ReadFileBytes(app + "/hard2"), Pattern(5000, 5));

  // Sparse: the all-zero chunk became a hole.
  st = Lstat(app + "/sparse.img");
  EXPECT_EQ(static_cast<size_t>(st.st_size), sparse_.size());
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, sparse_.size());
  EXPECT_EQ(ReadFileBytes(app + "/sparse.img"), sparse_);

  // xattrs (when the filesystem supports user.*).
  char value[64];
  ssize_t n = ::lgetxattr((app + "/xattr.txt").c_str(), "user.comment", value, sizeof value);
  if (n < 0 && (errno == ENOTSUP || errno == ENODATA)) {
    GTEST_LOG_(INFO) << "user xattrs unsupported here; not checked";
  } else {
    ASSERT_EQ(n, 5);
    EXPECT_EQ(std::string(value, 5), "hello");
  }

  // a, b, empty, sparse, hard1, hard2, x.log, café, xattr, deep, o.
  EXPECT_EQ(r->files, 11u);
  EXPECT_EQ(r->dirs, 5u);  // srv, app, emptydir, sub, other (not the target itself)
  EXPECT_EQ(r->specials, 2u);
  EXPECT_EQ(r->bytes,
            50000u + 80000u + sparse_.size() + 2 * 5000u + 1000 + 1234 + 100 + 3000 + 4000);
}

TEST_F(RestoreTest, ProgressCountsMatchResult) {
  Restorer restorer(*repo_, Options(Target()));
  auto r = restorer.Restore(root_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(restorer.progress().files_total.load(), 11u);
  EXPECT_EQ(restorer.progress().files_done.load(), 11u);
  // Content is written once for both hardlinks.
  EXPECT_EQ(restorer.progress().bytes_total.load(), restorer.progress().bytes_done.load());
  EXPECT_EQ(restorer.progress().bytes_done.load(), r->bytes - 5000);
  EXPECT_EQ(restorer.progress().errors.load(), 0u);
}

TEST_F(RestoreTest, NonSparseWritesZeros) {
  RestorerOptions o = Options(Target());
  o.sparse = false;
  auto r = RunRestore(o);
  ASSERT_TRUE(r.ok());
  std::string path = Target() + "/srv/app/sparse.img";
  EXPECT_EQ(ReadFileBytes(path), sparse_);
  EXPECT_GE(static_cast<uint64_t>(Lstat(path).st_blocks) * 512, sparse_.size());
}

// Zeros at the end of a file, inside its last chunk or as whole chunks, are
// left as holes and the file still gets its full size.
TEST_F(RestoreTest, TrailingZerosKeepTheFileSize) {
  Bytes tail_in_chunk = Concat({Pattern(100, 40), Bytes(8092, 0)});
  Bytes zero_chunk_last = Concat({Pattern(5000, 41), Bytes(64 * 1024, 0)});
  Node a = File("tail_in_chunk", {tail_in_chunk});
  Node b = File("zero_chunk_last", {Pattern(5000, 41), Bytes(64 * 1024, 0)});
  Node c = File("all_zero", {Bytes(12288, 0)});
  root_ = TreeOf({a, b, c});
  Flush();
  for (bool sparse : {true, false}) {
    RestorerOptions o = Options(Target(sparse ? "sparse" : "dense"));
    o.sparse = sparse;
    auto r = RunRestore(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->errors.empty()) << Errors(*r);
    EXPECT_EQ(ReadFileBytes(o.target + "/tail_in_chunk"), tail_in_chunk) << sparse;
    EXPECT_EQ(ReadFileBytes(o.target + "/zero_chunk_last"), zero_chunk_last) << sparse;
    EXPECT_EQ(ReadFileBytes(o.target + "/all_zero"), Bytes(12288, 0)) << sparse;
  }
}

TEST_F(RestoreTest, ExcludeFilter) {
  auto exclude = PathFilter::Create({"*.log", "/srv/other"});
  ASSERT_TRUE(exclude.ok());
  RestorerOptions o = Options(Target());
  o.exclude = &*exclude;
  auto r = RunRestore(o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  EXPECT_FALSE(Exists(Target() + "/srv/app/x.log"));
  EXPECT_FALSE(Exists(Target() + "/srv/other"));
  EXPECT_TRUE(Exists(Target() + "/srv/app/a.txt"));
  EXPECT_TRUE(Exists(Target() + "/srv/app/emptydir"));
}

TEST_F(RestoreTest, IncludeFilterCreatesOnlyLeadingDirectories) {
  auto include = IncludeFilter::Create({"/srv/app/sub", "o.txt"});
  ASSERT_TRUE(include.ok());
  RestorerOptions o = Options(Target());
  o.include = &*include;
  auto r = RunRestore(o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  EXPECT_EQ(ReadFileBytes(Target() + "/srv/app/sub/deep.txt"), Pattern(3000, 9));
  EXPECT_EQ(ReadFileBytes(Target() + "/srv/other/o.txt"), Pattern(4000, 10));
  EXPECT_FALSE(Exists(Target() + "/srv/app/a.txt"));
  EXPECT_FALSE(Exists(Target() + "/srv/app/emptydir"));  // not leading to anything included
  EXPECT_EQ(r->files, 2u);
  // Leading directories still get their metadata.
  EXPECT_EQ(Lstat(Target() + "/srv/app").st_mode & 07777, 0750u);
}

TEST_F(RestoreTest, SubpathDirectoryAndFile) {
  auto r = RunRestore(Options(Target("dir")), "/srv/app/");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  EXPECT_EQ(ReadFileBytes(Target("dir") + "/a.txt"), Concat({a_, b_}));
  EXPECT_EQ(ReadFileBytes(Target("dir") + "/sub/deep.txt"), Pattern(3000, 9));
  EXPECT_FALSE(Exists(Target("dir") + "/srv"));

  // A filter sees snapshot paths, also below a subpath.
  auto exclude = PathFilter::Create({"/srv/app/sub"});
  ASSERT_TRUE(exclude.ok());
  RestorerOptions o = Options(Target("filtered"));
  o.exclude = &*exclude;
  r = RunRestore(o, "srv/app");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Exists(Target("filtered") + "/a.txt"));
  EXPECT_FALSE(Exists(Target("filtered") + "/sub"));

  r = RunRestore(Options(Target("file")), "/srv/app/b.bin");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ReadFileBytes(Target("file") + "/b.bin"), Concat({b_, a_, b_}));
  EXPECT_EQ(r->files, 1u);

  r = RunRestore(Options(Target("missing")), "/srv/nope");
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  r = RunRestore(Options(Target("bad")), "/srv/../etc");
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST_F(RestoreTest, RefusesNonEmptyTargetUnlessAllowed) {
  std::string t = Target();
  std::filesystem::create_directories(t + "/srv/app");
  {
    std::ofstream f(t + "/srv/app/a.txt");
    f << "stale content";
  }
  auto r = RunRestore(Options(t));
  EXPECT_EQ(r.status().code(), Code::kAlreadyExists);
  EXPECT_NE(r.status().message().find("not empty"), std::string::npos);

  RestorerOptions o = Options(t);
  o.allow_existing = true;
  r = RunRestore(o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  EXPECT_EQ(ReadFileBytes(t + "/srv/app/a.txt"), Concat({a_, b_}));

  // A target that is a file is refused.
  std::ofstream(Target("plainfile")) << "x";
  EXPECT_EQ(RunRestore(Options(Target("plainfile"))).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(RunRestore(Options("")).status().code(), Code::kInvalidArgument);
}

TEST_F(RestoreTest, VerifyDetectsModifiedAndMissingFiles) {
  std::string t = Target();
  RestorerOptions o = Options(t);
  o.verify = true;
  auto r = RunRestore(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verified_files, 11u);
  EXPECT_TRUE(r->verify_failures.empty());

  Restorer verifier(*repo_, Options(t));
  uint64_t verified = 0;
  auto failures = verifier.VerifyRestored(root_, "", &verified);
  ASSERT_TRUE(failures.ok());
  EXPECT_TRUE(failures->empty());
  EXPECT_EQ(verified, 11u);

  // Flip one byte in the middle of b.bin (same size), truncate deep.txt,
  // remove o.txt.
  {
    int fd = ::open((t + "/srv/app/b.bin").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    uint8_t byte = static_cast<uint8_t>(b_[100] ^ 1);
    ASSERT_EQ(::pwrite(fd, &byte, 1, 20000 + 30000 + 100), 1);
    ::close(fd);
  }
  ASSERT_EQ(::truncate((t + "/srv/app/sub/deep.txt").c_str(), 10), 0);
  ASSERT_EQ(::unlink((t + "/srv/other/o.txt").c_str()), 0);
  failures = verifier.VerifyRestored(root_);
  ASSERT_TRUE(failures.ok());
  ASSERT_EQ(failures->size(), 3u);
  EXPECT_EQ((*failures)[0].path, t + "/srv/app/b.bin");
  EXPECT_NE((*failures)[0].status.message().find("offset 50000"), std::string::npos)
      << (*failures)[0].status.ToString();
  EXPECT_EQ((*failures)[1].path, t + "/srv/app/sub/deep.txt");
  EXPECT_EQ((*failures)[2].path, t + "/srv/other/o.txt");
  EXPECT_EQ((*failures)[2].status.code(), Code::kNotFound);
}

TEST_F(RestoreTest, DeltaKeepsUnchangedFilesRewritesChangedOnesAndRemovesExtras) {
  std::string t = Target();
  ASSERT_TRUE(RunRestore(Options(t)).ok());
  // Change b.bin in place (same size), truncate deep.txt, remove o.txt, add
  // an extra file and folder, and put a folder where x.log was.
  {
    int fd = ::open((t + "/srv/app/b.bin").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    uint8_t byte = static_cast<uint8_t>(b_[7] ^ 1);
    ASSERT_EQ(::pwrite(fd, &byte, 1, 7), 1);
    ::close(fd);
  }
  ASSERT_EQ(::truncate((t + "/srv/app/sub/deep.txt").c_str(), 10), 0);
  ASSERT_EQ(::unlink((t + "/srv/other/o.txt").c_str()), 0);
  std::ofstream(t + "/srv/app/postmaster.pid") << "42";
  std::filesystem::create_directories(t + "/srv/extra/deeper");
  std::ofstream(t + "/srv/extra/deeper/file") << "x";
  ASSERT_EQ(::unlink((t + "/srv/app/x.log").c_str()), 0);
  std::filesystem::create_directories(t + "/srv/app/x.log/inside");
  struct stat before;
  ASSERT_EQ(::stat((t + "/srv/app/a.txt").c_str(), &before), 0);

  RestorerOptions o = Options(t);
  o.allow_existing = true;
  o.delta = true;
  o.verify = true;
  auto r = RunRestore(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  EXPECT_TRUE(r->verify_failures.empty());
  // 11 regular files: hard1/hard2 are rewritten (hardlinks), b.bin, deep.txt,
  // o.txt and x.log differ or are missing; a.txt, empty, sparse.img,
  // caf\xe9.txt and xattr.txt are kept.
  EXPECT_EQ(r->files_unchanged, 5u);
  EXPECT_EQ(r->files, 11u);
  EXPECT_GE(r->entries_removed, 5u);  // postmaster.pid, extra/ (3), x.log/ (2)
  EXPECT_EQ(ReadFileBytes(t + "/srv/app/b.bin"), Concat({b_, a_, b_}));
  EXPECT_EQ(ReadFileBytes(t + "/srv/app/x.log"), Pattern(1000, 6));
  EXPECT_FALSE(std::filesystem::exists(t + "/srv/app/postmaster.pid"));
  EXPECT_FALSE(std::filesystem::exists(t + "/srv/extra"));
  struct stat after;
  ASSERT_EQ(::stat((t + "/srv/app/a.txt").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // kept, not rewritten

  // Filters and delta do not mix; delta needs allow_existing.
  RestorerOptions bad = Options(t);
  bad.delta = true;
  EXPECT_EQ(RunRestore(bad).status().code(), Code::kInvalidArgument);
}

TEST_F(RestoreTest, CorruptBlobRemovesAffectedFileAndReportsIt) {
  Bytes bad_chunk = Pattern(9000, 42);
  Node bad = File("bad.dat", {Pattern(7000, 41), bad_chunk, Pattern(7000, 43)});
  Node good = File("good.dat", {Pattern(7000, 44)});
  Node hard1 = File("badlink1", {bad_chunk});
  hard1.links = 2;
  hard1.inode = 5;
  Node hard2 = hard1;
  hard2.name = "badlink2";
  Id root = TreeOf({bad, good, hard1, hard2});
  Flush();
  CorruptBlob(repo_->ComputeBlobId(bad_chunk));
  auto loc = repo_->index().Find(format::BlobType::kData, repo_->ComputeBlobId(bad_chunk));
  ASSERT_TRUE(loc.has_value());

  Restorer restorer(*repo_, Options(Target()));
  auto r = restorer.Restore(root);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(Exists(Target() + "/bad.dat"));
  EXPECT_FALSE(Exists(Target() + "/badlink1"));
  EXPECT_FALSE(Exists(Target() + "/badlink2"));
  EXPECT_EQ(ReadFileBytes(Target() + "/good.dat"), Pattern(7000, 44));
  ASSERT_EQ(r->errors.size(), 3u) << Errors(*r);
  std::vector<std::string> paths;
  for (const auto& e : r->errors) paths.push_back(e.path);
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{Target() + "/bad.dat", Target() + "/badlink1",
                                             Target() + "/badlink2"}));
  for (const auto& e : r->errors) {
    if (e.path != Target() + "/bad.dat") continue;
    EXPECT_EQ(e.status.code(), Code::kCorrupt);
    EXPECT_NE(e.status.message().find(loc->pack_id.Short()), std::string::npos)
        << e.status.ToString();
    EXPECT_NE(e.status.message().find(repo_->ComputeBlobId(bad_chunk).Short()), std::string::npos);
  }
  EXPECT_EQ(r->files, 1u);
  EXPECT_EQ(restorer.progress().errors.load(), 3u);
}

TEST_F(RestoreTest, UnreadablePackAndMissingBlobAreErrors) {
  Node a = File("a", {Pattern(3000, 50)});
  Node missing = a;
  missing.name = "missing";
  Id fake;
  fake.bytes.fill(0xab);
  missing.content.push_back(fake);
  Flush();  // the data pack is complete before the tree is stored in another one
  root_ = TreeOf({a, missing});
  Flush();
  // Remove a's pack entirely.
  auto loc = repo_->index().Find(format::BlobType::kData, a.content[0]);
  ASSERT_TRUE(loc.has_value());
  ASSERT_TRUE(mem_->Remove({ObjectType::kPack, loc->pack_id.Hex()}).ok());
  auto r = RunRestore(Options(Target()));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 2u) << Errors(*r);
  EXPECT_FALSE(Exists(Target() + "/a"));
  EXPECT_FALSE(Exists(Target() + "/missing"));
  for (const auto& e : r->errors)
    EXPECT_EQ(e.status.code(), Code::kNotFound) << e.status.ToString();
}

TEST_F(RestoreTest, MissingSubtreeIsAnErrorAndTheRestContinues) {
  Node broken;
  broken.name = "broken";
  broken.type = NodeType::kDir;
  broken.mode = 0755;
  broken.subtree.emplace();
  broken.subtree->bytes.fill(0x5a);
  root_ = TreeOf({broken, File("ok", {Pattern(100, 70)})});
  Flush();
  RestorerOptions o = Options(Target());
  o.verify = true;
  Restorer restorer(*repo_, o);
  auto r = restorer.Restore(root_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->errors.size(), 1u) << Errors(*r);
  EXPECT_EQ(r->errors[0].path, Target() + "/broken");
  EXPECT_EQ(r->errors[0].status.code(), Code::kNotFound);
  EXPECT_EQ(ReadFileBytes(Target() + "/ok"), Pattern(100, 70));
  EXPECT_TRUE(r->verify_failures.empty());  // already reported in errors
  auto failures = restorer.VerifyRestored(root_);
  ASSERT_TRUE(failures.ok());
  ASSERT_EQ(failures->size(), 1u);
  EXPECT_EQ((*failures)[0].path, Target() + "/broken");
}

// A directory that cannot be created (its path is longer than PATH_MAX) is
// one error; what lies below it is not attempted (no error of its own) and
// everything else is restored, including the other name of a hardlinked
// file below it. The same into an empty target (directories made on a
// thread of their own) and with allow_existing (made in walk order).
TEST_F(RestoreTest, ADirectoryThatCannotBeCreatedIsOneErrorAndTheRestIsRestored) {
  const std::string long_name(250, 'd');
  // f has a second name at the top, which the walk meets after f.
  Node f = File("f", {Pattern(3000, 80)});
  f.links = 2;
  f.inode = 77;
  f.device_id = 1;
  Node f_link = f;
  f_link.name = "z_link";
  Node bottom = Dir(long_name, {f, Symlink("l", "f"), Dir("sub", {File("g", {Pattern(2000, 81)})})});
  for (int depth = 0; depth < 20; ++depth) {
    std::vector<Node> children{bottom};
    if (depth == 17) children.push_back(File("mid", {Pattern(1000, 82)}));
    bottom = Dir(long_name, std::move(children));
  }
  root_ = TreeOf({bottom, File("ok", {Pattern(100, 83)}), f_link});
  Flush();

  std::vector<std::string> error_paths[2];
  for (int allow_existing = 0; allow_existing < 2; ++allow_existing) {
    SCOPED_TRACE(allow_existing ? "allow_existing" : "empty target");
    const std::string t = Target(allow_existing ? "existing" : "empty");
    if (allow_existing) {
      ASSERT_EQ(::mkdir(t.c_str(), 0755), 0);
    }
    RestorerOptions o = Options(t);
    o.allow_existing = allow_existing;
    auto r = RunRestore(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->errors.size(), 1u) << Errors(*r);
    EXPECT_GT(r->errors[0].path.size(), size_t{PATH_MAX});
    EXPECT_EQ((r->errors[0].path.size() - t.size()) % 251, 0u) << "a directory's path";
    error_paths[allow_existing].push_back(r->errors[0].path);
    EXPECT_EQ(ReadFileBytes(t + "/ok"), Pattern(100, 83));
    std::string mid = t;
    for (int depth = 0; depth < 3; ++depth) mid += "/" + long_name;
    EXPECT_EQ(ReadFileBytes(mid + "/mid"), Pattern(1000, 82));
    EXPECT_EQ(ReadFileBytes(t + "/z_link"), Pattern(3000, 80));
    EXPECT_EQ(r->files, 3u);
  }
  // The same directory failed both ways (its path relative to the target).
  EXPECT_EQ(error_paths[0][0].substr(Target("empty").size()),
            error_paths[1][0].substr(Target("existing").size()));
}

// Files of 1 MiB and more are written with O_DIRECT (file_writer.h): chunk
// boundaries off the 4 KiB grid, one chunk at two alignments, zero chunks
// inside and at the end, a size on the grid; sparse and dense, with and
// without direct I/O, the same bytes; a corrupt chunk still removes its file.
TEST_F(RestoreTest, LargeFilesWithUnalignedChunksAreExact) {
  const Bytes shared = Pattern(300001, 300);
  const Bytes zeros(200000, 0);
  std::vector<std::vector<Bytes>> files = {
      {Pattern(12345, 301), shared, Pattern(777777, 302), shared, Pattern(1, 303)},
      {Pattern(600000, 304), zeros, Pattern(500000, 305), zeros},  // zeros at the end
      {Pattern(1 << 20, 306), Pattern(4096, 307)},                 // on the 4 KiB grid
      {zeros, Pattern(1100000, 308), Pattern(3, 309)},
      {Pattern(1500000, 310)},  // its chunk is corrupted below
  };
  std::vector<Node> nodes;
  for (size_t i = 0; i < files.size(); ++i) {
    nodes.push_back(File("big" + std::to_string(i), files[i], 0640));
  }
  Id root = TreeOf({Dir("d", nodes)});
  Flush();
  CorruptBlob(nodes[4].content[0]);
  for (bool direct : {true, false}) {
    for (bool sparse : {true, false}) {
      RestorerOptions o = Options(Target(std::string(direct ? "direct" : "buffered") +
                                         (sparse ? "-sparse" : "-dense")));
      o.direct_io = direct;
      o.sparse = sparse;
      o.verify = true;
      SCOPED_TRACE(o.target);
      Restorer restorer(*repo_, o);
      auto r = restorer.Restore(root);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->errors.size(), 1u) << Errors(*r);
      EXPECT_EQ(r->errors[0].path, o.target + "/d/big4");
      EXPECT_FALSE(Exists(o.target + "/d/big4"));
      EXPECT_EQ(r->files, 4u);
      EXPECT_TRUE(r->verify_failures.empty());
      for (size_t i = 0; i < 4; ++i) {
        std::string p = o.target + "/d/big" + std::to_string(i);
        Bytes want = Concat(files[i]);
        EXPECT_TRUE(ReadFileBytes(p) == want) << p;
        struct stat st = Lstat(p);
        EXPECT_EQ(static_cast<size_t>(st.st_size), want.size()) << p;
        EXPECT_EQ(st.st_mode & 07777, 0640u) << p;
        EXPECT_EQ(MtimeNs(st), kMtime) << p;
      }
      // The 400,000 zero bytes of big1 are holes when sparse.
      uint64_t allocated = static_cast<uint64_t>(Lstat(o.target + "/d/big1").st_blocks) * 512;
      if (sparse) {
        EXPECT_LT(allocated, 1100000u + 2 * 4096);
      } else {
        EXPECT_GE(allocated, 1500000u);
      }
    }
  }
}

TEST_F(RestoreTest, ManyFilesAcrossManyPacksWithThreads) {
  std::vector<Node> nodes;
  std::vector<Bytes> contents;
  std::vector<Bytes> shared;
  for (int i = 0; i < 8; ++i) shared.push_back(Pattern(6000 + i * 1000, 100 + i));
  for (int i = 0; i < 120; ++i) {
    std::vector<Bytes> chunks;
    int n = i % 5;
    for (int k = 0; k < n; ++k) {
      chunks.push_back(k % 2 ? shared[(i + k) % shared.size()]
                             : Pattern(2000 + (i * 37 + k) % 9000, 1000 + i * 10 + k));
    }
    Node f = File("f" + std::to_string(i), chunks, 0600 + (i % 2) * 044);
    nodes.push_back(f);
    contents.push_back(Concat(chunks));
  }
  Id root = TreeOf({Dir("d", nodes)});
  Flush();
  for (int threads : {1, 4}) {
    RestorerOptions o = Options(Target("t" + std::to_string(threads)));
    o.threads = threads;
    o.verify = true;
    Restorer restorer(*repo_, o);
    auto r = restorer.Restore(root);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->errors.empty()) << Errors(*r);
    EXPECT_TRUE(r->verify_failures.empty());
    EXPECT_EQ(r->verified_files, 120u);
    for (int i = 0; i < 120; ++i) {
      std::string p = o.target + "/d/f" + std::to_string(i);
      ASSERT_EQ(ReadFileBytes(p), contents[i]) << p;
      EXPECT_EQ(Lstat(p).st_mode & 07777, static_cast<unsigned>(0600 + (i % 2) * 044));
    }
  }
}

// Many directories, deep chains and one subtree repeated under every top
// directory (the same tree id, with subtrees of its own): the tree prefetcher
// must hand every visit its tree, with and without an include filter.
TEST_F(RestoreTest, WideDeepAndRepeatedSubtrees) {
  StoreWideDeepSnapshot();

  RestorerOptions all = Options(Target("all"));
  all.threads = 2;
  auto r = RunRestore(all);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  EXPECT_EQ(r->files, 120u);
  EXPECT_EQ(r->dirs, 40u * (1 + 2 + 6));
  for (int n = 0; n < 40; ++n) {
    std::string d = all.target + "/d" + std::to_string(n);
    EXPECT_EQ(ReadFileBytes(d + "/same/inner/x.txt"), Pattern(700, 200)) << d;
    EXPECT_EQ(ReadFileBytes(d + "/same/y.txt"), Pattern(800, 201)) << d;
    EXPECT_EQ(ReadFileBytes(all.target + Leaf(n)), Pattern(100 + n, 300 + n)) << n;
  }

  auto include = IncludeFilter::Create({"/d7/c0", "y.txt"});
  ASSERT_TRUE(include.ok());
  RestorerOptions some = Options(Target("some"));
  some.include = &*include;
  r = RunRestore(some);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  EXPECT_EQ(r->files, 41u);
  EXPECT_EQ(ReadFileBytes(some.target + Leaf(7)), Pattern(107, 307));
  EXPECT_FALSE(Exists(some.target + Leaf(8)));
  for (int n = 0; n < 40; ++n) {
    std::string d = some.target + "/d" + std::to_string(n);
    EXPECT_EQ(ReadFileBytes(d + "/same/y.txt"), Pattern(800, 201)) << d;
    EXPECT_FALSE(Exists(d + "/same/inner")) << d;
  }
}

// Remote storage without a cache: each tree read is a round trip, so the
// prefetcher reads trees on several threads; the restore is the same.
TEST_F(RestoreTest, TreesOfARemoteStoreAreReadOnSeveralThreads) {
  StoreWideDeepSnapshot();

  std::set<std::string> tree_packs;
  repo_->index().ForEachBlob([&](const Id& pack, const PackedBlob& blob) {
    if (blob.type == format::BlobType::kTree) tree_packs.insert(pack.Hex());
  });
  auto view = std::make_unique<TestRemoteView>(mem_, [&](const ObjectName& n) {
    return n.type == ObjectType::kPack && tree_packs.count(n.name) > 0;
  });
  TestRemoteView* remote = view.get();
  auto far = Repository::Open(std::move(view), "secret");
  ASSERT_TRUE(far.ok()) << far.status().ToString();
  ASSERT_TRUE((*far)->LoadIndex().ok());
  ASSERT_EQ((*far)->MetadataThreads(), std::max<size_t>(6, std::thread::hardware_concurrency()));

  RestorerOptions o = Options(Target());
  o.threads = 2;
  Restorer restorer(**far, o);
  auto r = restorer.Restore(root_, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  EXPECT_EQ(r->files, 3u * kTops);
  EXPECT_EQ(r->dirs, static_cast<uint64_t>(kTops * (1 + 2 + kDepth)));
  for (int n = 0; n < kTops; ++n) {
    std::string d = Target() + "/d" + std::to_string(n);
    EXPECT_EQ(ReadFileBytes(d + "/same/inner/x.txt"), Pattern(700, 200)) << d;
    EXPECT_EQ(ReadFileBytes(Target() + Leaf(n)), Pattern(100 + n, 300 + n)) << d;
  }
  // The walk reads a tree itself only when the prefetchers are behind; with
  // one prefetcher at most two reads would overlap.
  EXPECT_GT(remote->max_in_flight.load(), 2);
  EXPECT_LE(remote->max_in_flight.load(), static_cast<int>((*far)->MetadataThreads()) + 1);
  // Every distinct tree is read (the root by the caller), and none more
  // often than it is visited (visits of the shared "same" and "inner" that
  // are expected at once share a read).
  EXPECT_GE(remote->reads.load(), 1 + kTops * (1 + kDepth) + 2);
  EXPECT_LE(remote->reads.load(), 1 + kTops * (1 + kDepth + 2));
}

TEST_F(RestoreTest, ReadsEachPackOnceForSharedAndRepeatedBlobs) {
  FaultBackend* backend = UseFaultBackend();
  ASSERT_NE(backend, nullptr);
  std::vector<Bytes> chunks;
  for (int i = 0; i < 30; ++i) chunks.push_back(Pattern(6000, 500 + i));
  // Two files share every chunk; the second repeats each one twice.
  std::vector<Bytes> doubled;
  for (const auto& c : chunks) {
    doubled.push_back(c);
    doubled.push_back(c);
  }
  Node one = File("one", chunks);
  Node two = File("two", doubled);
  Flush();
  root_ = TreeOf({one, two});
  Flush();
  std::set<Id> packs;
  for (const Id& id : one.content)
    packs.insert(repo_->index().Find(format::BlobType::kData, id)->pack_id);
  ASSERT_GE(packs.size(), 2u);  // 64 KiB packs

  backend->ResetCounters();
  auto r = RunRestore(Options(Target()));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  // One read for the root tree plus one per pack (blobs are adjacent).
  EXPECT_EQ(backend->Calls(FaultBackend::Op::kLoad), static_cast<int>(1 + packs.size()));
  EXPECT_EQ(ReadFileBytes(Target() + "/one"), Concat(chunks));
  EXPECT_EQ(ReadFileBytes(Target() + "/two"), Concat(doubled));
}

// A stop request (Ctrl-C, SIGTERM) in the middle of the content phase: the
// restore ends early with kCancelled; every file left in the target is
// complete and exact, the partly written one is gone, directories keep the
// private mode they are created with.
TEST_F(RestoreTest, StopInTheMiddleLeavesOnlyCompleteFiles) {
  FaultBackend* backend = UseFaultBackend();
  ASSERT_NE(backend, nullptr);
  // In name order (the order of the restore's pack reads with one worker):
  // a0..a19 fill two packs, "big" four more, c0..c9 one more.
  std::vector<Node> nodes;
  std::vector<Bytes> a, c, big;
  for (int i = 0; i < 20; ++i) {
    a.push_back(Pattern(6000, 700 + i));
    nodes.push_back(File("a" + std::to_string(i), {a.back()}));
  }
  for (int i = 0; i < 40; ++i) big.push_back(Pattern(6000, 800 + i));
  nodes.push_back(File("big", big));
  for (int i = 0; i < 10; ++i) {
    c.push_back(Pattern(6000, 900 + i));
    nodes.push_back(File("c" + std::to_string(i), {c.back()}));
  }
  Id root = TreeOf({Dir("d", nodes, 0755)});
  Flush();

  std::atomic<bool> stop{false};
  RestorerOptions o = Options(Target());
  o.threads = 1;
  o.stop = &stop;
  Restorer restorer(*repo_, o);
  int content_reads = 0;
  backend->OnLoad([&](const ObjectName& name) {
    // files_total is set once the walk (which reads the trees) is done. The
    // 4th read is the second of big's packs: stop there.
    if (name.type == ObjectType::kPack && restorer.progress().files_total.load() > 0 &&
        ++content_reads == 4) {
      stop = true;
    }
  });
  auto r = restorer.Restore(root);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCancelled) << r.status().ToString();
  EXPECT_NE(r.status().message().find(
                "restore stopped: 20 of 31 files restored (1 partly written removed)"),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().hint().find("--delta"), std::string::npos);
  EXPECT_EQ(content_reads, 4);  // nothing read after the stop
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(ReadFileBytes(o.target + "/d/a" + std::to_string(i)), a[i]) << i;
  }
  EXPECT_FALSE(Exists(o.target + "/d/big"));  // half written: removed
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(Exists(o.target + "/d/c" + std::to_string(i)));
  EXPECT_EQ(Lstat(o.target + "/d").st_mode & 07777, 0700u);

  // A delta restore into the same target finishes the job.
  backend->OnLoad(nullptr);
  stop = false;
  o.allow_existing = true;
  o.delta = true;
  Restorer again(*repo_, o);
  auto done = again.Restore(root);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(done->errors.empty()) << Errors(*done);
  EXPECT_EQ(done->files_unchanged, 20u);
  EXPECT_EQ(ReadFileBytes(o.target + "/d/big"), Concat(big));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(ReadFileBytes(o.target + "/d/c" + std::to_string(i)), c[i]) << i;
  }
  EXPECT_EQ(Lstat(o.target + "/d").st_mode & 07777, 0755u);
}

// Stopped after the files were written, while --verify reads them back:
// kCancelled saying so, never a result with fewer files verified.
TEST_F(RestoreTest, StopWhileVerifyingSaysTheFilesAreRestored) {
  FaultBackend* backend = UseFaultBackend();
  ASSERT_NE(backend, nullptr);
  const Bytes content = Pattern(6000, 42);
  Id root = TreeOf({Dir("d", {File("f", {content})})});
  Flush();
  std::atomic<bool> stop{false};
  RestorerOptions o = Options(Target());
  o.verify = true;
  o.stop = &stop;
  Restorer restorer(*repo_, o);
  int loads_after_content = 0;
  backend->OnLoad([&](const ObjectName&) {
    // Every file is written: what is read now is the verification's walk.
    const RestoreProgress& p = restorer.progress();
    if (p.files_total.load() > 0 && p.files_done.load() == p.files_total.load()) {
      ++loads_after_content;
      stop = true;
    }
  });
  auto r = restorer.Restore(root);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCancelled) << r.status().ToString();
  EXPECT_NE(r.status().message().find("stopped while verifying: the files are restored"),
            std::string::npos)
      << r.status().message();
  EXPECT_GT(loads_after_content, 0);
  EXPECT_EQ(ReadFileBytes(o.target + "/d/f"), content);
}

// Stopped before anything was planned: nothing is written; a delta restore
// removes nothing either (its walk of the snapshot was cut short, so what it
// would take as "not in the snapshot" is everything).
TEST_F(RestoreTest, StopBeforeTheStartWritesAndRemovesNothing) {
  std::atomic<bool> stop{true};
  RestorerOptions o = Options(Target());
  o.stop = &stop;
  auto r = RunRestore(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCancelled);
  EXPECT_EQ(r.status().message(),
            "restore stopped while reading the snapshot's folders: 0 files restored (0 partly "
            "written removed), folders left at mode 0700");
  EXPECT_FALSE(Exists(o.target + "/srv"));

  ASSERT_TRUE(RunRestore(Options(Target("full"))).ok());
  const std::string kept = Target("full") + "/srv/app/a.txt";
  std::ofstream(Target("full") + "/extra.txt") << "not in the snapshot";
  RestorerOptions delta = Options(Target("full"));
  delta.allow_existing = true;
  delta.delta = true;
  delta.stop = &stop;
  r = RunRestore(delta);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCancelled) << r.status().ToString();
  EXPECT_EQ(ReadFileBytes(kept), Concat({a_, b_}));
  EXPECT_TRUE(Exists(Target("full") + "/extra.txt"));

  // Verification stopped: kCancelled, never an empty list of failures.
  Restorer verifier(*repo_, delta);
  auto v = verifier.VerifyRestored(root_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kCancelled);
}

TEST_F(RestoreTest, DeviceNodes) {
  Node dev = Special("null", NodeType::kCharDev, makedev(1, 3));
  root_ = TreeOf({dev});
  Flush();
  auto r = RunRestore(Options(Target()));
  ASSERT_TRUE(r.ok());
  if (!r->errors.empty()) {
    // Not root (or no CAP_MKNOD): the error is recorded and the restore goes on.
    ASSERT_EQ(r->errors.size(), 1u);
    EXPECT_EQ(r->errors[0].status.code(), Code::kPermissionDenied);
    return;
  }
  struct stat st = Lstat(Target() + "/null");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 1u);
  EXPECT_EQ(minor(st.st_rdev), 3u);
}

TEST_F(RestoreTest, OwnerRestoredWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  Node f = File("owned", {Pattern(10, 60)});
  f.uid = 4321;
  f.gid = 4322;
  f.user = "no-such-user-lifeboat";
  f.group = "no-such-group-lifeboat";
  root_ = TreeOf({f});
  Flush();
  auto r = RunRestore(Options(Target()));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->errors.empty()) << Errors(*r);
  struct stat st = Lstat(Target() + "/owned");
  EXPECT_EQ(st.st_uid, 4321u);
  EXPECT_EQ(st.st_gid, 4322u);
}

// ---- tree walking ----

TEST_F(RestoreTest, WalkTreeVisitsSortedAbsolutePaths) {
  std::vector<std::string> paths;
  Status s = WalkTree(*repo_, root_, [&](const std::string& p, const Node&) {
    paths.push_back(p);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_GE(paths.size(), 5u);
  EXPECT_EQ(paths[0], "/srv");
  EXPECT_EQ(paths[1], "/srv/app");
  EXPECT_EQ(paths[2], "/srv/app/a.txt");
  EXPECT_EQ(paths.back(), "/srv/other/o.txt");
  EXPECT_NE(std::find(paths.begin(), paths.end(), "/srv/app/sub/deep.txt"), paths.end());
  EXPECT_EQ(paths.size(), 18u);

  // Skipping a subtree and stopping early.
  paths.clear();
  s = WalkTree(
      *repo_, root_,
      [&](const std::string& p, const Node&) {
        paths.push_back(p);
        return Status::Ok();
      },
      [](const std::string& p, const Node&) { return p != "/srv/app"; });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/srv", "/srv/app", "/srv/other", "/srv/other/o.txt"}));
  int calls = 0;
  s = WalkTree(*repo_, root_, [&](const std::string&, const Node&) {
    return ++calls == 3 ? Status(Code::kCancelled, "stop") : Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kCancelled);
  EXPECT_EQ(calls, 3);
}

TEST_F(RestoreTest, FindNode) {
  auto root = FindNode(*repo_, root_, "/");
  ASSERT_TRUE(root.ok() && root->has_value());
  EXPECT_EQ((*root)->type, NodeType::kDir);
  EXPECT_EQ((*root)->subtree, root_);
  auto a = FindNode(*repo_, root_, "/srv/app/a.txt");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->size, 50000u);
  auto app = FindNode(*repo_, root_, "srv//app/");
  ASSERT_TRUE(app.ok() && app->has_value());
  EXPECT_EQ((*app)->mode, 0750u);
  auto none = FindNode(*repo_, root_, "/srv/nope");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto below_file = FindNode(*repo_, root_, "/srv/app/a.txt/x");
  ASSERT_TRUE(below_file.ok());
  EXPECT_FALSE(below_file->has_value());
  EXPECT_EQ(FindNode(*repo_, root_, "/srv/..").status().code(), Code::kInvalidArgument);
  // A tree that is not in the repository.
  Id bogus;
  bogus.bytes.fill(7);
  EXPECT_EQ(FindNode(*repo_, bogus, "/srv").status().code(), Code::kNotFound);
  EXPECT_FALSE(
      WalkTree(*repo_, bogus, [](const std::string&, const Node&) { return Status::Ok(); }).ok());
}

TEST(CleanSnapshotPathTest, Normalises) {
  EXPECT_EQ(*CleanSnapshotPath(""), "/");
  EXPECT_EQ(*CleanSnapshotPath("/"), "/");
  EXPECT_EQ(*CleanSnapshotPath("srv//app/./x/"), "/srv/app/x");
  EXPECT_FALSE(CleanSnapshotPath("/a/../b").ok());
  EXPECT_FALSE(CleanSnapshotPath(std::string_view("/a\0b", 4)).ok());
}

}  // namespace
}  // namespace lifeboat
