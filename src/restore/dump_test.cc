#include "restore/dump.h"

#include <sys/xattr.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "restore/restore_test_util.h"

namespace lifeboat {
namespace {

using namespace testing_util;  // NOLINT

std::string RunCommand(const std::string& cmd, int* exit_code) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *exit_code = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *exit_code = ::pclose(p);
  return out;
}

class DumpTest : public RepoFixture {
 protected:
  void SetUp() override {
    RepoFixture::SetUp();
    long_name_ = std::string(150, 'n');            // one component > 100 bytes
    long_dir_ = std::string(80, 'd');              // path > 100 bytes in total
    long_target_ = "../" + std::string(120, 't');  // symlink target > 100 bytes
    content_ = Concat({Pattern(20000, 1), Pattern(777, 2)});

    Node f = File("file.txt", {Pattern(20000, 1), Pattern(777, 2)}, 0640);
    f.mtime_ns = 1600000000987654321;  // fraction: pax mtime
    Node big_ids = File("bigids", {Pattern(10, 3)});
    big_ids.uid = 3000000;  // does not fit the 7-digit octal field
    big_ids.gid = 3000001;
    big_ids.user = std::string(40, 'u');  // longer than the uname field
    big_ids.group = "staff";
    Node empty = File("empty", {});
    Node latin1 = File("caf\xe9", {Pattern(33, 4)});  // not UTF-8
    Node utf8 = File(
        "gr\xc3\xbc\xc3\x9f"
        "e",
        {Pattern(44, 5)});  // UTF-8, not ASCII
    Node longf = File(long_name_, {Pattern(55, 6)});
    Node deepf = File("inner-file-with-a-long-name.txt", {Pattern(66, 7)});
    Node longdir = Dir(long_dir_, {deepf});
    Node link = Symlink("link", long_target_);
    Node shortlink = Symlink("shortlink", "file.txt");
    Node fifo = Special("fifo", NodeType::kFifo);
    Node hard1 = File("hard1", {Pattern(900, 8)});
    hard1.links = 2;
    hard1.inode = 12;
    hard1.device_id = 3;
    Node hard2 = hard1;
    hard2.name = "hard2";
    Node xattr = File("xattr", {Pattern(12, 9)});
    xattr.xattrs.push_back({"user.note", Bytes{'o', 'k'}});
    Node emptydir = Dir("emptydir", {}, 0700);
    Node sock = Special("sock", NodeType::kSocket);
    Node app = Dir("app",
                   {f, big_ids, empty, latin1, utf8, longf, longdir, link, shortlink, fifo, hard1,
                    hard2, xattr, emptydir, sock},
                   0750, kMtime + 7);
    root_ = TreeOf({Dir("srv", {app})});
    Flush();
  }

  // Dumps `path` into a file and returns its name.
  std::string DumpToFile(const std::string& path, Status* status) {
    std::string out = tmp_.path() + "/dump.out";
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    *status = DumpTar(*repo_, root_, path, fd);
    ::close(fd);
    return out;
  }

  std::string long_name_, long_dir_, long_target_;
  Bytes content_;
  Id root_;
};

TEST_F(DumpTest, FileIsDumpedRaw) {
  Status s;
  std::string out = DumpToFile("/srv/app/file.txt", &s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadFileBytes(out), content_);
  out = DumpToFile("srv/app/empty", &s);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(ReadFileBytes(out).empty());
}

TEST_F(DumpTest, MissingPathAndBadDescriptor) {
  Status s;
  DumpToFile("/srv/nope", &s);
  EXPECT_EQ(s.code(), Code::kNotFound);
  DumpToFile("/srv/../x", &s);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_FALSE(DumpTar(*repo_, root_, "/srv/app/file.txt", -1).ok());
  EXPECT_FALSE(DumpTar(*repo_, root_, "/", -1).ok());
}

TEST_F(DumpTest, MissingBlobFailsTheDump) {
  Node broken = File("broken", {});
  Id fake;
  fake.bytes.fill(3);
  broken.content.push_back(fake);
  root_ = TreeOf({broken});
  Flush();
  Status s;
  DumpToFile("/", &s);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find("broken"), std::string::npos) << s.ToString();
}

TEST_F(DumpTest, TarRoundTripsThroughGnuTar) {
  Status s;
  std::string tar = DumpToFile("/", &s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(std::filesystem::file_size(tar) % 512, 0u);

  int rc = 0;
  std::string warnings = RunCommand("tar -tvf " + tar + " 2>&1 >/dev/null", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(warnings, "");  // GNU tar understands every header we write
  std::string listing = RunCommand("tar -tvf " + tar + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << listing;
  EXPECT_NE(listing.find("srv/app/file.txt"), std::string::npos) << listing;
  EXPECT_NE(listing.find("srv/app/" + long_name_), std::string::npos) << listing;
  EXPECT_NE(listing.find("srv/app/hard2 link to srv/app/hard1"), std::string::npos) << listing;
  EXPECT_NE(listing.find(std::string(40, 'u')), std::string::npos) << listing;
  EXPECT_EQ(listing.find("sock"), std::string::npos) << listing;
  EXPECT_EQ(listing.rfind("drwxr-xr-x", 0), 0u) << listing;  // srv/ comes first

  std::string dir = tmp_.path() + "/x";
  std::filesystem::create_directories(dir);
  std::string err =
      RunCommand("tar --xattrs --xattrs-include='user.*' -xf " + tar + " -C " + dir + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << err;
  EXPECT_EQ(err, "");
  std::string app = dir + "/srv/app";
  EXPECT_EQ(ReadFileBytes(app + "/file.txt"), content_);
  struct stat st = Lstat(app + "/file.txt");
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(MtimeNs(st), 1600000000987654321);  // pax mtime keeps nanoseconds
  EXPECT_TRUE(ReadFileBytes(app + "/empty").empty());
  EXPECT_EQ(ReadFileBytes(app + "/caf\xe9"), Pattern(33, 4));
  EXPECT_EQ(ReadFileBytes(app + "/gr\xc3\xbc\xc3\x9f"
                                "e"),
            Pattern(44, 5));
  EXPECT_EQ(ReadFileBytes(app + "/" + long_name_), Pattern(55, 6));
  EXPECT_EQ(ReadFileBytes(app + "/" + long_dir_ + "/inner-file-with-a-long-name.txt"),
            Pattern(66, 7));
  EXPECT_EQ(std::filesystem::read_symlink(app + "/link").string(), long_target_);
  EXPECT_EQ(std::filesystem::read_symlink(app + "/shortlink").string(), "file.txt");
  EXPECT_TRUE(S_ISFIFO(Lstat(app + "/fifo").st_mode));
  EXPECT_EQ(Lstat(app + "/hard1").st_ino, Lstat(app + "/hard2").st_ino);
  EXPECT_EQ(ReadFileBytes(app + "/hard2"), Pattern(900, 8));
  EXPECT_TRUE(std::filesystem::is_directory(app + "/emptydir"));
  EXPECT_EQ(Lstat(app + "/emptydir").st_mode & 07777, 0700u);
  EXPECT_FALSE(Exists(app + "/sock"));
  st = Lstat(app);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(MtimeNs(st), kMtime + 7);
  if (::geteuid() == 0) {  // tar restores owners only as root
    st = Lstat(app + "/bigids");
    EXPECT_EQ(st.st_uid, 3000000u);
    EXPECT_EQ(st.st_gid, 3000001u);
  }
  char value[16];
  ssize_t n = ::lgetxattr((app + "/xattr").c_str(), "user.note", value, sizeof value);
  if (n >= 0) {
    EXPECT_EQ(std::string(value, static_cast<size_t>(n)), "ok");
  }
}

TEST_F(DumpTest, SubdirectoryTarStartsWithTheDirectory) {
  Status s;
  std::string tar = DumpToFile("/srv/app/" + long_dir_, &s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  int rc = 0;
  std::string listing = RunCommand("tar -tf " + tar + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << listing;
  EXPECT_EQ(listing, "srv/app/" + long_dir_ + "/\nsrv/app/" + long_dir_ +
                         "/inner-file-with-a-long-name.txt\n");

  // A symlink alone is a one-entry tar.
  tar = DumpToFile("/srv/app/shortlink", &s);
  ASSERT_TRUE(s.ok());
  listing = RunCommand("tar -tvf " + tar + " 2>&1", &rc);
  ASSERT_EQ(rc, 0) << listing;
  EXPECT_NE(listing.find("srv/app/shortlink -> file.txt"), std::string::npos) << listing;
}

}  // namespace
}  // namespace lifeboat
