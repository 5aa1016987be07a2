#include "postgres/tar_reader.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace lifeboat {
namespace {

namespace fs = std::filesystem;

// A minimal ustar writer, like PostgreSQL's tarCreateHeader.
std::string Header(const std::string& name, char type, uint64_t size, uint32_t mode = 0600,
                   const std::string& link = "", const std::string& prefix = "") {
  std::string h(512, '\0');
  std::memcpy(&h[0], name.data(), std::min<size_t>(name.size(), 100));
  snprintf(&h[100], 8, "%07o", mode);
  snprintf(&h[108], 8, "%07o", 26u);
  snprintf(&h[116], 8, "%07o", 27u);
  snprintf(&h[124], 12, "%011llo", static_cast<unsigned long long>(size));
  snprintf(&h[136], 12, "%011o", 1700000000u);
  h[156] = type;
  std::memcpy(&h[157], link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(&h[257], "ustar\0" "00", 8);
  std::memcpy(&h[265], "postgres", 8);
  std::memcpy(&h[297], "postgres", 8);
  std::memcpy(&h[345], prefix.data(), std::min<size_t>(prefix.size(), 155));
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  snprintf(&h[148], 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

std::string Pad(const std::string& data) {
  return data + std::string((512 - data.size() % 512) % 512, '\0');
}

std::string File(const std::string& name, const std::string& content, uint32_t mode = 0600) {
  return Header(name, '0', content.size(), mode) + Pad(content);
}

struct Recorded {
  TarEntry entry;
  std::string content;
  bool ended = false;
};

class RecordingSink : public TarSink {
 public:
  Status OnEntry(const TarEntry& e) override {
    entries.push_back({e, "", false});
    return fail_on_entry.empty() || e.path != fail_on_entry ? Status::Ok()
                                                            : IoError("sink refuses " + e.path);
  }
  Status OnData(ByteView d) override {
    entries.back().content.append(reinterpret_cast<const char*>(d.data()), d.size());
    return Status::Ok();
  }
  Status OnEntryEnd() override {
    entries.back().ended = true;
    return Status::Ok();
  }
  std::vector<Recorded> entries;
  std::string fail_on_entry;
};

ByteView View(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Feeds `tar` in pieces of `piece` bytes; returns Feed's or Finish's status.
Status Parse(const std::string& tar, RecordingSink& sink, size_t piece = 1 << 20) {
  TarReader reader(sink);
  for (size_t off = 0; off < tar.size(); off += piece) {
    LB_RETURN_IF_ERROR(reader.Feed(View(tar).subspan(off, std::min(piece, tar.size() - off))));
  }
  return reader.Finish();
}

std::string Sample() {
  return Header("./", '5', 0, 0700) + Header("base/", '5', 0, 0700) +
         File("base/1/1259", std::string(20000, 'a') + "end") + File("PG_VERSION", "15\n") +
         File("empty", "") + Header("pg_tblspc/16384", '2', 0, 0777, "/srv/ts") +
         Header("name", '0', 4, 0640, "", "a/long/prefix") + Pad("data");
}

TEST(TarReader, ParsesPostgresStyleArchiveInAnyPieceSize) {
  for (size_t piece : {1ul, 7ul, 511ul, 512ul, 513ul, 4096ul, 1ul << 20}) {
    RecordingSink sink;
    ASSERT_TRUE(Parse(Sample(), sink, piece).ok()) << piece;
    ASSERT_EQ(sink.entries.size(), 7u);
    EXPECT_EQ(sink.entries[0].entry.type, TarEntry::Type::kDir);
    EXPECT_EQ(sink.entries[0].entry.path, "./");
    EXPECT_EQ(sink.entries[2].entry.path, "base/1/1259");
    EXPECT_EQ(sink.entries[2].content, std::string(20000, 'a') + "end");
    EXPECT_EQ(sink.entries[2].entry.size, 20003u);
    EXPECT_EQ(sink.entries[2].entry.uid, 26u);
    EXPECT_EQ(sink.entries[2].entry.uname, "postgres");
    EXPECT_EQ(sink.entries[2].entry.mtime_ns, 1700000000ll * 1000000000);
    EXPECT_EQ(sink.entries[3].content, "15\n");
    EXPECT_EQ(sink.entries[4].content, "");
    EXPECT_EQ(sink.entries[5].entry.type, TarEntry::Type::kSymlink);
    EXPECT_EQ(sink.entries[5].entry.link_target, "/srv/ts");
    EXPECT_EQ(sink.entries[6].entry.path, "a/long/prefix/name");
    EXPECT_EQ(sink.entries[6].entry.mode, 0640u);
    for (const Recorded& r : sink.entries) EXPECT_TRUE(r.ended) << r.entry.path;
  }
}

TEST(TarReader, AcceptsEndBlocksAndRecordPadding) {
  RecordingSink sink;
  EXPECT_TRUE(Parse(Sample() + std::string(1024 + 8192, '\0'), sink).ok());
  EXPECT_EQ(sink.entries.size(), 7u);
  RecordingSink after;
  EXPECT_EQ(Parse(Sample() + std::string(1024, '\0') + File("x", "y"), after).code(),
            Code::kCorrupt);
}

TEST(TarReader, RejectsMalformedHeaders) {
  auto expect_corrupt = [](std::string tar, const char* what) {
    RecordingSink sink;
    Status s = Parse(tar, sink);
    EXPECT_EQ(s.code(), Code::kCorrupt) << what << ": " << s.ToString();
  };
  std::string bad_sum = File("f", "x");
  bad_sum[0] = 'g';  // checksum no longer matches
  expect_corrupt(bad_sum, "checksum");
  expect_corrupt(std::string(512, 'A'), "garbage");
  std::string bad_size = Header("f", '0', 0);
  std::memcpy(&bad_size[124], "12x45678901", 11);
  {  // recompute the checksum so only the size field is wrong
    std::memset(&bad_size[148], ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : bad_size) sum += c;
    snprintf(&bad_size[148], 8, "%06o", sum);
  }
  expect_corrupt(bad_size, "size field");
  expect_corrupt(File("f", "content").substr(0, 600), "truncated content");
  expect_corrupt(File("f", "x").substr(0, 300), "truncated header");
  expect_corrupt(Header("", '0', 0), "empty name");
  expect_corrupt(Header("l", '2', 0), "symlink without target");
  expect_corrupt(std::string(512, '\0') + File("f", "x"), "header after a zero block");
  // pax: malformed record, oversized header, dangling extended header
  std::string pax = "5 x\n";
  expect_corrupt(Header("pax", 'x', pax.size()) + Pad(pax) + File("f", "x"), "pax record");
  std::string len_lie = "99 path=a\n";
  expect_corrupt(Header("pax", 'x', len_lie.size()) + Pad(len_lie) + File("f", "x"), "pax len");
  expect_corrupt(Header("pax", 'x', 2u << 20), "huge extended header");
  std::string ok_pax = "12 path=abc\n";
  expect_corrupt(Header("pax", 'x', ok_pax.size()) + Pad(ok_pax), "dangling pax");
  std::string bad_mtime = "16 mtime=12a.5\n";
  expect_corrupt(Header("pax", 'x', bad_mtime.size()) + Pad(bad_mtime) + File("f", ""), "mtime");
}

TEST(TarReader, UnsupportedTypesAndSinkErrorsStopTheParse) {
  RecordingSink sink;
  EXPECT_EQ(Parse(Header("hard", '1', 0, 0600, "x"), sink).code(), Code::kUnsupported);
  RecordingSink fifo;
  EXPECT_EQ(Parse(Header("fifo", '6', 0), fifo).code(), Code::kUnsupported);
  RecordingSink refusing;
  refusing.fail_on_entry = "PG_VERSION";
  TarReader reader(refusing);
  Status s = reader.Feed(View(Sample()));
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_EQ(reader.Feed(View(File("x", "y"))).code(), Code::kIoError);  // stays failed
}

// "LEN key=value\n" where LEN counts the whole record including itself.
std::string PaxRecord(const std::string& key, const std::string& value) {
  const size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) ++len;
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

TEST(TarReader, PaxAndGnuLongNames) {
  std::string long_name(300, 'n');
  std::string pax = PaxRecord("path", long_name) + PaxRecord("mtime", "1700000001.25") +
                    PaxRecord("comment", "ignored");
  std::string tar = Header("PaxHeader", 'x', pax.size()) + Pad(pax) + File("short", "abc");
  std::string gnu = long_name + "/g";
  tar += Header("././@LongLink", 'L', gnu.size() + 1) + Pad(gnu + '\0') + File("trunc", "z");
  RecordingSink sink;
  Status s = Parse(tar, sink, 100);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(sink.entries.size(), 2u);
  EXPECT_EQ(sink.entries[0].entry.path, long_name);
  EXPECT_EQ(sink.entries[0].content, "abc");
  EXPECT_EQ(sink.entries[0].entry.mtime_ns, 1700000001250000000);
  EXPECT_EQ(sink.entries[1].entry.path, gnu);
  EXPECT_EQ(sink.entries[1].content, "z");
}

// Archives written by GNU tar in pax and gnu formats (when tar is installed).
TEST(TarReader, ReadsArchivesWrittenByGnuTar) {
  if (system("tar --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no tar program";
  char tmpl[] = "/tmp/lifeboat-tar-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string deep = dir + "/src/" + std::string(120, 'd');
  fs::create_directories(deep);
  std::ofstream(deep + "/" + std::string(150, 'f')) << "long names";
  std::ofstream(dir + "/src/big") << std::string(100000, 'b');
  fs::create_symlink("big", dir + "/src/link");
  for (const char* format : {"pax", "gnu", "ustar"}) {
    std::string out = dir + "/" + format + ".tar";
    std::string cmd = "tar -C " + dir + "/src --format=" + format + " -cf " + out + " . 2>/dev/null";
    int rc = system(cmd.c_str());
    if (std::string(format) == "ustar" && rc != 0) continue;  // names too long for ustar
    ASSERT_EQ(rc, 0) << cmd;
    std::ifstream in(out, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    RecordingSink sink;
    Status s = Parse(ss.str(), sink, 333);
    ASSERT_TRUE(s.ok()) << format << ": " << s.ToString();
    bool found_long = false, found_big = false, found_link = false;
    for (const Recorded& r : sink.entries) {
      if (r.entry.path.size() > 270 && r.content == "long names") found_long = true;
      if (r.entry.path == "./big" && r.content == std::string(100000, 'b')) found_big = true;
      if (r.entry.path == "./link" && r.entry.link_target == "big") found_link = true;
    }
    EXPECT_TRUE(found_long) << format;
    EXPECT_TRUE(found_big) << format;
    EXPECT_TRUE(found_link) << format;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat
