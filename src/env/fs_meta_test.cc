#include "env/fs_meta.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

class FsMetaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/lifeboat-env-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  void WriteFile(const std::string& name, std::string_view content) {
    int fd = open(Path(name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    close(fd);
  }

  // True if the test filesystem accepts user.* xattrs.
  bool XattrsSupported() {
    std::string probe = Path(".xattr-probe");
    WriteFile(".xattr-probe", "");
    bool ok = setxattr(probe.c_str(), "user.probe", "1", 1, 0) == 0;
    unlink(probe.c_str());
    return ok;
  }

  Result<Node> Stat(const std::string& name, const StatOptions& options = {}) {
    return StatNode(Path(name), name, names_, options);
  }

  std::string dir_;
  UserGroupNames names_;
};

void SetTimes(const std::string& path, int64_t atime_ns, int64_t mtime_ns) {
  struct timespec ts[2] = {{atime_ns / 1'000'000'000, atime_ns % 1'000'000'000},
                           {mtime_ns / 1'000'000'000, mtime_ns % 1'000'000'000}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
}

TEST_F(FsMetaTest, StatRegularFile) {
  WriteFile("file", "hello");
  ASSERT_EQ(chmod(Path("file").c_str(), 0640), 0);
  SetTimes(Path("file"), 1700000000123456789, 1600000000987654321);
  auto node = Stat("file");
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  struct stat st;
  ASSERT_EQ(lstat(Path("file").c_str(), &st), 0);
  EXPECT_EQ(node->name, "file");
  EXPECT_EQ(node->type, NodeType::kFile);
  EXPECT_EQ(node->mode, 0640u);
  EXPECT_EQ(node->size, 5u);
  EXPECT_EQ(node->atime_ns, 1700000000123456789);
  EXPECT_EQ(node->mtime_ns, 1600000000987654321);
  EXPECT_GT(node->ctime_ns, 1700000000000000000);  // set just now
  EXPECT_EQ(node->uid, geteuid());
  EXPECT_EQ(node->gid, getegid());
  EXPECT_EQ(node->inode, st.st_ino);
  EXPECT_EQ(node->device_id, st.st_dev);
  EXPECT_EQ(node->links, 1u);
  EXPECT_EQ(node->rdev, 0u);
  EXPECT_TRUE(node->link_target.empty());
  EXPECT_TRUE(node->content.empty());
  struct passwd* pw = getpwuid(geteuid());
  EXPECT_EQ(node->user, pw ? std::string(pw->pw_name) : std::string());
}

TEST_F(FsMetaTest, StatHardlinkCount) {
  WriteFile("a", "x");
  ASSERT_EQ(link(Path("a").c_str(), Path("b").c_str()), 0);
  auto a = Stat("a");
  auto b = Stat("b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->links, 2u);
  EXPECT_EQ(a->inode, b->inode);
}

TEST_F(FsMetaTest, StatDirectorySymlinkFifoSocket) {
  ASSERT_EQ(mkdir(Path("dir").c_str(), 01750), 0);
  ASSERT_EQ(chmod(Path("dir").c_str(), 01750), 0);  // umask-independent
  ASSERT_EQ(symlink("dir/../nowhere", Path("link").c_str()), 0);
  ASSERT_EQ(mkfifo(Path("fifo").c_str(), 0600), 0);

  auto dir = Stat("dir");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->type, NodeType::kDir);
  EXPECT_EQ(dir->mode, 01750u);
  EXPECT_EQ(dir->size, 0u);  // size is for regular files only

  auto link = Stat("link");
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->type, NodeType::kSymlink);
  EXPECT_EQ(link->link_target, "dir/../nowhere");
  EXPECT_EQ(link->size, 0u);

  auto fifo = Stat("fifo");
  ASSERT_TRUE(fifo.ok());
  EXPECT_EQ(fifo->type, NodeType::kFifo);

  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::string sock = Path("sock");
  if (sock.size() < sizeof addr.sun_path) {
    std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    auto s = Stat("sock");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->type, NodeType::kSocket);
  }
  close(fd);
}

TEST_F(FsMetaTest, StatCharDevice) {
  if (geteuid() != 0) GTEST_SKIP() << "mknod needs root";
  ASSERT_EQ(mknod(Path("null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  auto node = Stat("null");
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->type, NodeType::kCharDev);
  EXPECT_EQ(node->rdev, makedev(1, 3));
  EXPECT_EQ(node->size, 0u);
}

TEST_F(FsMetaTest, StatMissingPathIsNotFound) {
  auto node = Stat("missing");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().code(), Code::kNotFound);
  EXPECT_NE(node.status().message().find("missing"), std::string::npos);
}

TEST_F(FsMetaTest, StatReadsXattrsSorted) {
  if (!XattrsSupported()) GTEST_SKIP() << "filesystem lacks user xattrs";
  WriteFile("x", "");
  const char binary[] = {0, 1, '\xff', 0};
  ASSERT_EQ(setxattr(Path("x").c_str(), "user.zeta", binary, sizeof binary, 0), 0);
  ASSERT_EQ(setxattr(Path("x").c_str(), "user.alpha", "", 0, 0), 0);
  std::string big(3000, 'v');
  ASSERT_EQ(setxattr(Path("x").c_str(), "user.big", big.data(), big.size(), 0), 0);
  auto node = Stat("x");
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  std::vector<Xattr> user;
  for (const Xattr& x : node->xattrs)
    if (x.name.rfind("user.", 0) == 0) user.push_back(x);
  ASSERT_EQ(user.size(), 3u);
  EXPECT_EQ(user[0].name, "user.alpha");
  EXPECT_TRUE(user[0].value.empty());
  EXPECT_EQ(user[1].name, "user.big");
  EXPECT_EQ(user[1].value, Bytes(big.begin(), big.end()));
  EXPECT_EQ(user[2].name, "user.zeta");
  EXPECT_EQ(user[2].value, (Bytes{0, 1, 0xff, 0}));

  auto without = Stat("x", StatOptions{.read_xattrs = false});
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(without->xattrs.empty());
}

// xattrs come from the previous node only while type, device, inode and
// ctime are unchanged; setting an xattr moves ctime, so a change is read.
TEST_F(FsMetaTest, XattrsOfAnUnchangedInodeComeFromThePreviousNode) {
  if (!XattrsSupported()) GTEST_SKIP() << "filesystem lacks user xattrs";
  WriteFile("x", "data");
  ASSERT_EQ(setxattr(Path("x").c_str(), "user.a", "1", 1, 0), 0);
  auto first = Stat("x");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // A previous node with the same identity but other recorded xattrs: they
  // are taken as they are (proof that nothing was read).
  Node previous = *first;
  previous.xattrs = {Xattr{"user.from-previous", Bytes{7}}};
  auto reused = Stat("x", StatOptions{.previous = &previous});
  ASSERT_TRUE(reused.ok());
  EXPECT_EQ(reused->xattrs, previous.xattrs);
  // Another inode, type or ctime: read from the file.
  for (int what = 0; what < 3; ++what) {
    Node other = previous;
    if (what == 0) other.inode += 1;
    if (what == 1) other.type = NodeType::kDir;
    if (what == 2) other.ctime_ns -= 1;
    auto read = Stat("x", StatOptions{.previous = &other});
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(read->xattrs, first->xattrs) << "case " << what;
  }
  // Changing the xattr moves ctime past the recorded one: the new value is read.
  timespec pause{0, 20 * 1000 * 1000};
  nanosleep(&pause, nullptr);
  ASSERT_EQ(setxattr(Path("x").c_str(), "user.a", "2", 1, 0), 0);
  auto after = Stat("x", StatOptions{.previous = &*first});
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->ctime_ns, first->ctime_ns);
  bool found = false;
  for (const Xattr& x : after->xattrs) {
    if (x.name == "user.a") {
      found = true;
      EXPECT_EQ(x.value, Bytes{'2'});
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(FsMetaTest, NonUtf8NamesWork) {
  std::string name("caf\xe9\n\xff", 6);
  WriteFile(name, "data");
  auto list = ListDirectory(dir_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], name);
  auto node = StatNode(JoinPath(dir_, name), name, names_);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(node->name, name);
  EXPECT_EQ(node->size, 4u);
}

TEST_F(FsMetaTest, ListDirectorySortsBytewise) {
  for (std::string name : {"b", "a", "\xff", "B", "\x01x", "\xc3\xa9", "ab"}) WriteFile(name, "");
  ASSERT_EQ(mkdir(Path("sub").c_str(), 0755), 0);
  auto list = ListDirectory(dir_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (std::vector<std::string>{"\x01x", "B", "a", "ab", "b", "sub", "\xc3\xa9",
                                             "\xff"}));
  auto empty = ListDirectory(Path("sub"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(FsMetaTest, ListDirectoryErrors) {
  EXPECT_EQ(ListDirectory(Path("missing")).status().code(), Code::kNotFound);
  WriteFile("file", "");
  EXPECT_FALSE(ListDirectory(Path("file")).ok());
  ASSERT_EQ(mkdir(Path("real").c_str(), 0755), 0);
  ASSERT_EQ(symlink("real", Path("link").c_str()), 0);
  EXPECT_FALSE(ListDirectory(Path("link")).ok()) << "followed a symlink";
}

// The walk stats entries relative to the listed directory's descriptor:
// the nodes must be those StatNode gives by full path, symlinks included.
TEST_F(FsMetaTest, StatNodeAtTheListedDirectoryMatchesStatNode) {
  WriteFile("file", "data");
  ASSERT_EQ(mkdir(Path("dir").c_str(), 0750), 0);
  ASSERT_EQ(symlink("dir/../file", Path("link").c_str()), 0);
  int fd = 12345;
  auto list = ListDirectory(dir_, &fd);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_GE(fd, 0);
  for (const std::string& name : *list) {
    auto at = StatNodeAt(fd, Path(name), name, names_);
    auto full = Stat(name);
    ASSERT_TRUE(at.ok()) << name << ": " << at.status().ToString();
    ASSERT_TRUE(full.ok());
    EXPECT_EQ(at->name, name);
    EXPECT_EQ(at->type, full->type) << name;
    EXPECT_EQ(at->inode, full->inode) << name;
    EXPECT_EQ(at->mode, full->mode) << name;
    EXPECT_EQ(at->link_target, full->link_target) << name;
  }
  // A vanished entry names its full path in the error.
  auto gone = StatNodeAt(fd, Path("gone"), "gone", names_);
  EXPECT_EQ(gone.status().code(), Code::kNotFound);
  EXPECT_NE(gone.status().message().find(Path("gone")), std::string::npos);
  close(fd);
  // When listing fails there is no descriptor to close.
  fd = 12345;
  EXPECT_FALSE(ListDirectory(Path("missing"), &fd).ok());
  EXPECT_EQ(fd, -1);
}

TEST_F(FsMetaTest, LongSymlinkTarget) {
  std::string target;
  while (target.size() < 2000) target += "segment-of-a-long-path/";
  target.resize(2000);
  ASSERT_EQ(symlink(target.c_str(), Path("long").c_str()), 0);
  auto node = Stat("long");
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->link_target, target);

  Node restored = *node;
  ASSERT_TRUE(CreateSpecialNode(Path("long2"), restored).ok());
  auto again = Stat("long2");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->link_target, target);

  std::string longest(4095, 'x');  // PATH_MAX - 1
  ASSERT_EQ(symlink(longest.c_str(), Path("longest").c_str()), 0);
  auto l = Stat("longest");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->link_target, longest);
}

// Creates `node` at `name`, applies its metadata, and stats it back.
Result<Node> Restore(const std::string& path, const Node& node, UserGroupNames& names) {
  LB_RETURN_IF_ERROR(CreateSpecialNode(path, node));
  LB_RETURN_IF_ERROR(ApplyMetadata(path, node, names, RestoreOptions{}));
  return StatNode(path, node.name, names);
}

TEST_F(FsMetaTest, DirectoryRoundTrip) {
  Node dir;
  dir.name = "d";
  dir.type = NodeType::kDir;
  dir.mode = 02751;
  dir.uid = geteuid();
  dir.gid = getegid();
  dir.mtime_ns = 1234567890123456789;
  dir.atime_ns = 1234567891000000001;
  bool xattrs = XattrsSupported();
  if (xattrs) dir.xattrs = {{"user.note", Bytes{'h', 'i', 0}}};
  auto got = Restore(Path("d"), dir, names_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->type, NodeType::kDir);
  EXPECT_EQ(got->mode, 02751u);
  EXPECT_EQ(got->mtime_ns, dir.mtime_ns);
  EXPECT_EQ(got->atime_ns, dir.atime_ns);
  if (xattrs) {
    std::vector<Xattr> user;  // ignore security.* labels some systems add
    for (const Xattr& x : got->xattrs)
      if (x.name.rfind("user.", 0) == 0) user.push_back(x);
    EXPECT_EQ(user, dir.xattrs);
  }
  // An existing directory is fine; an existing file is not.
  EXPECT_TRUE(CreateSpecialNode(Path("d"), dir).ok());
  WriteFile("f", "");
  EXPECT_EQ(CreateSpecialNode(Path("f"), dir).code(), Code::kAlreadyExists);
}

TEST_F(FsMetaTest, NegativeTimesRoundTrip) {
  WriteFile("old", "");
  Node node;
  node.name = "old";
  node.mode = 0600;
  node.mtime_ns = -1'500'000'000;  // 1969-12-31T23:59:58.5Z
  node.atime_ns = -1;
  ASSERT_TRUE(ApplyMetadata(Path("old"), node, names_, RestoreOptions{}).ok());
  auto got = Stat("old");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->mtime_ns, node.mtime_ns);
  EXPECT_EQ(got->atime_ns, node.atime_ns);
}

TEST_F(FsMetaTest, SymlinkMetadataAppliesToTheLinkItself) {
  WriteFile("target", "");
  ASSERT_EQ(chmod(Path("target").c_str(), 0600), 0);
  SetTimes(Path("target"), 1000000000000000000, 1000000000000000000);
  Node link;
  link.name = "link";
  link.type = NodeType::kSymlink;
  link.mode = 0777;
  link.link_target = "target";
  link.uid = geteuid();
  link.gid = getegid();
  link.mtime_ns = 1500000000000000007;
  link.atime_ns = 1500000000000000008;
  link.xattrs = {{"user.x", Bytes{1}}};  // refused on symlinks by Linux: not an error
  auto got = Restore(Path("link"), link, names_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->type, NodeType::kSymlink);
  EXPECT_EQ(got->link_target, "target");
  EXPECT_EQ(got->mtime_ns, link.mtime_ns);
  auto target = Stat("target");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->mode, 0600u);
  EXPECT_EQ(target->mtime_ns, 1000000000000000000);
}

TEST_F(FsMetaTest, FifoAndSocketCreation) {
  Node fifo;
  fifo.name = "fifo";
  fifo.type = NodeType::kFifo;
  fifo.mode = 0640;
  fifo.mtime_ns = 1600000000000000000;
  fifo.uid = geteuid();
  fifo.gid = getegid();
  auto got = Restore(Path("fifo"), fifo, names_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->type, NodeType::kFifo);
  EXPECT_EQ(got->mode, 0640u);
  EXPECT_EQ(got->mtime_ns, fifo.mtime_ns);
  EXPECT_EQ(CreateSpecialNode(Path("fifo"), fifo).code(), Code::kAlreadyExists);

  Node sock;
  sock.type = NodeType::kSocket;
  EXPECT_TRUE(CreateSpecialNode(Path("sock"), sock).ok());
  struct stat st;
  EXPECT_NE(lstat(Path("sock").c_str(), &st), 0) << "socket placeholder was created";

  Node file;
  file.type = NodeType::kFile;
  EXPECT_EQ(CreateSpecialNode(Path("file"), file).code(), Code::kInvalidArgument);
}

TEST_F(FsMetaTest, CharDeviceRoundTrip) {
  if (geteuid() != 0) GTEST_SKIP() << "mknod needs root";
  Node dev;
  dev.name = "null";
  dev.type = NodeType::kCharDev;
  dev.rdev = makedev(1, 3);
  dev.mode = 0666;
  dev.mtime_ns = 1600000000000000001;
  auto got = Restore(Path("null"), dev, names_);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->type, NodeType::kCharDev);
  EXPECT_EQ(got->rdev, dev.rdev);
  EXPECT_EQ(got->mode, 0666u);
  Node blk = dev;
  blk.type = NodeType::kBlockDev;
  blk.rdev = makedev(7, 200);
  ASSERT_TRUE(CreateSpecialNode(Path("blk"), blk).ok());
  auto b = Stat("blk");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->type, NodeType::kBlockDev);
  EXPECT_EQ(b->rdev, blk.rdev);
}

TEST_F(FsMetaTest, OwnerByNameThenById) {
  if (geteuid() != 0) GTEST_SKIP() << "chown needs root";
  WriteFile("by-id", "");
  WriteFile("by-name", "");
  Node node;
  node.mode = 04755;  // setuid must survive the chown (mode is applied after)
  node.uid = 54321;
  node.gid = 54322;
  node.user = "no-such-user-lifeboat";
  node.group = "no-such-group-lifeboat";
  ASSERT_TRUE(ApplyMetadata(Path("by-id"), node, names_, RestoreOptions{}).ok());
  auto got = Stat("by-id");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->uid, 54321u);
  EXPECT_EQ(got->gid, 54322u);
  EXPECT_EQ(got->mode, 04755u);
  EXPECT_EQ(got->user, "");

  node.user = "root";
  node.group = "root";
  ASSERT_TRUE(ApplyMetadata(Path("by-name"), node, names_, RestoreOptions{}).ok());
  got = Stat("by-name");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->uid, 0u);  // the name wins over the stored id
  EXPECT_EQ(got->gid, 0u);
  EXPECT_EQ(got->user, "root");

  RestoreOptions no_owner;
  no_owner.restore_owner = false;
  WriteFile("kept", "");
  ASSERT_TRUE(ApplyMetadata(Path("kept"), node, names_, no_owner).ok());
  got = Stat("kept");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->uid, 0u);
}

TEST_F(FsMetaTest, ApplyMetadataReportsFirstErrorButTriesAllSteps) {
  Node node;
  node.mode = 0600;
  Status s = ApplyMetadata(Path("missing"), node, names_, RestoreOptions{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find("missing"), std::string::npos);

  if (!XattrsSupported()) GTEST_SKIP() << "filesystem lacks user xattrs";
  WriteFile("f", "");
  node.mtime_ns = 1400000000000000000;
  node.xattrs = {{"bogus-namespace.x", Bytes{1}}};  // rejected by the kernel
  s = ApplyMetadata(Path("f"), node, names_, RestoreOptions{});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("bogus-namespace.x"), std::string::npos);
  auto got = Stat("f");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->mode, 0600u);  // later steps still ran
  EXPECT_EQ(got->mtime_ns, node.mtime_ns);
  RestoreOptions no_xattrs;
  no_xattrs.restore_xattrs = false;
  EXPECT_TRUE(ApplyMetadata(Path("f"), node, names_, no_xattrs).ok());
}

TEST(UserGroupNames, LooksUpAndCaches) {
  UserGroupNames names;
  EXPECT_EQ(names.UserName(0), "root");
  EXPECT_EQ(names.GroupName(0), "root");
  EXPECT_EQ(names.UserName(3999999999u), "");
  EXPECT_EQ(names.GroupName(3999999999u), "");
  EXPECT_EQ(names.UserId("root"), std::optional<uint32_t>(0));
  EXPECT_EQ(names.GroupId("root"), std::optional<uint32_t>(0));
  EXPECT_EQ(names.UserId("no-such-user-lifeboat"), std::nullopt);
  EXPECT_EQ(names.GroupId("no-such-group-lifeboat"), std::nullopt);
  EXPECT_EQ(names.UserId(""), std::nullopt);
  EXPECT_EQ(names.UserName(0), "root");  // cached answer
}

TEST(UserGroupNames, IsThreadSafe) {
  UserGroupNames names;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (names.UserName(0) != "root") ++wrong;
        names.UserName(static_cast<uint32_t>(100000 + (i + t) % 50));
        if (names.GroupId("root") != std::optional<uint32_t>(0)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(JoinPath, UsesOneSlash) {
  EXPECT_EQ(JoinPath("/srv", "www"), "/srv/www");
  EXPECT_EQ(JoinPath("/srv/", "www"), "/srv/www");
  EXPECT_EQ(JoinPath("/srv//", "/www"), "/srv/www");
  EXPECT_EQ(JoinPath("/", "etc"), "/etc");
  EXPECT_EQ(JoinPath("", "rel"), "rel");
  EXPECT_EQ(JoinPath("a", "b\nc"), "a/b\nc");
}

}  // namespace
}  // namespace lifeboat
