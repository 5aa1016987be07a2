// Unit tests for WAL streaming: the CopyData message parser and status
// encoder (byte-exact against the protocol's layout), and the spool's
// segment files (boundaries, rename on completion, flush positions, restart
// positions).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "postgres/pg_replication.h"
#include "walstream/wal_stream_protocol.h"
#include "walstream/wal_stream_spool.h"

namespace lifeboat {
namespace {

std::string U64(uint64_t v) {
  std::string s;
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

TEST(WalStreamProtocolTest, ParsesXLogData) {
  std::string msg = "w" + U64(0x16B374D848) + U64(0x16B3750000) + U64(12345) + "WALBYTES";
  auto m = ParseReplicationMessage(AsBytes(msg));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->kind, ReplicationMessage::Kind::kXLogData);
  EXPECT_EQ(m->data_start, 0x16B374D848u);
  EXPECT_EQ(m->wal_end, 0x16B3750000u);
  EXPECT_EQ(m->send_time, 12345);
  EXPECT_EQ(AsString(m->data), "WALBYTES");
  // Empty data is allowed.
  std::string empty = "w" + U64(1) + U64(2) + U64(3);
  ASSERT_TRUE(ParseReplicationMessage(AsBytes(empty)).ok());
  EXPECT_TRUE(ParseReplicationMessage(AsBytes(empty))->data.empty());
}

TEST(WalStreamProtocolTest, ParsesKeepalive) {
  std::string msg = "k" + U64(0x3000000) + U64(99) + std::string(1, '\1');
  auto m = ParseReplicationMessage(AsBytes(msg));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind, ReplicationMessage::Kind::kKeepalive);
  EXPECT_EQ(m->wal_end, 0x3000000u);
  EXPECT_TRUE(m->reply_requested);
  msg.back() = '\0';
  EXPECT_FALSE(ParseReplicationMessage(AsBytes(msg))->reply_requested);
}

TEST(WalStreamProtocolTest, RejectsMalformedMessages) {
  EXPECT_EQ(ParseReplicationMessage(ByteView()).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseReplicationMessage(AsBytes("w" + U64(1) + U64(2))).status().code(),
            Code::kCorrupt);
  EXPECT_EQ(ParseReplicationMessage(AsBytes("k" + U64(1) + U64(2))).status().code(),
            Code::kCorrupt);
  EXPECT_EQ(ParseReplicationMessage(AsBytes("k" + U64(1) + U64(2) + "\1\1")).status().code(),
            Code::kCorrupt);
  EXPECT_EQ(ParseReplicationMessage(AsBytes("k" + U64(1) + U64(2) + "\2")).status().code(),
            Code::kCorrupt);
  EXPECT_EQ(ParseReplicationMessage(AsBytes("w" + U64(~0ull) + U64(0) + U64(0) + "x"))
                .status()
                .code(),
            Code::kCorrupt);
  EXPECT_EQ(ParseReplicationMessage(AsBytes("zzz")).status().code(), Code::kUnsupported);
}

TEST(WalStreamProtocolTest, EncodesStandbyStatus) {
  std::string r = EncodeStandbyStatus(0x100, 0x80, 0, 777, true);
  ASSERT_EQ(r.size(), 34u);
  EXPECT_EQ(r, "r" + U64(0x100) + U64(0x80) + U64(0) + U64(777) + std::string(1, '\1'));
  EXPECT_EQ(PgEpochMicros(946684800LL * 1000000), 0);
}

class WalStreamSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/walstream-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Read(const std::string& name) {
    std::ifstream f(dir_ + "/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  std::string dir_;
};

constexpr uint64_t kSeg = 1 << 20;  // 1 MiB segments keep the test small

TEST_F(WalStreamSpoolTest, WritesAcrossSegmentsAndRenamesCompletedOnes) {
  WalStreamSpool spool(dir_, 1, kSeg);
  const uint64_t start = 5 * kSeg;
  ASSERT_TRUE(spool.Begin(start).ok());
  EXPECT_EQ(spool.current_segment(), "000000010000000000000005");
  std::string a(kSeg - 100, 'a'), b(300, 'b');
  ASSERT_TRUE(spool.Write(start, AsBytes(a)).ok());
  EXPECT_EQ(spool.write_lsn(), start + a.size());
  EXPECT_EQ(spool.flush_lsn(), start);
  EXPECT_EQ(spool.current_flushed_bytes(), 0u);
  ASSERT_TRUE(spool.Flush().ok());
  EXPECT_EQ(spool.current_flushed_bytes(), a.size());
  // A write spanning the boundary completes segment 5 and starts 6.
  ASSERT_TRUE(spool.Write(start + a.size(), AsBytes(b)).ok());
  EXPECT_EQ(spool.current_segment(), "000000010000000000000006");
  EXPECT_EQ(spool.flush_lsn(), 6 * kSeg);  // the completed segment is durable
  auto done = spool.CompletedSegments();
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(*done, std::vector<std::string>{"000000010000000000000005"});
  std::string seg5 = Read("000000010000000000000005");
  ASSERT_EQ(seg5.size(), kSeg);
  EXPECT_EQ(seg5, a + std::string(100, 'b'));
  std::string part6 = Read("000000010000000000000006.partial");
  ASSERT_EQ(part6.size(), kSeg);  // full size, zero-filled
  EXPECT_EQ(part6.substr(0, 200), std::string(200, 'b'));
  EXPECT_EQ(part6.substr(200, 10), std::string(10, '\0'));
  // Restart positions.
  EXPECT_EQ(**spool.NewestPartialStart(), 6 * kSeg);
  EXPECT_EQ(**spool.NewestCompletedEnd(), 6 * kSeg);
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/000000010000000000000006.partial").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(WalStreamSpoolTest, RefusesGapsAndOverlaps) {
  WalStreamSpool spool(dir_, 1, kSeg);
  ASSERT_TRUE(spool.Begin(kSeg).ok());
  ASSERT_TRUE(spool.Write(kSeg, AsBytes(std::string(10, 'x'))).ok());
  EXPECT_EQ(spool.Write(kSeg + 20, AsBytes(std::string("y"))).code(), Code::kCorrupt);
  EXPECT_EQ(spool.Write(kSeg + 5, AsBytes(std::string("y"))).code(), Code::kCorrupt);
}

TEST_F(WalStreamSpoolTest, OtherTimelinesAreIgnoredForRestart) {
  {
    WalStreamSpool spool(dir_, 2, kSeg);
    ASSERT_TRUE(spool.Begin(9 * kSeg).ok());
  }
  WalStreamSpool spool(dir_, 1, kSeg);
  EXPECT_FALSE(spool.NewestPartialStart()->has_value());
  EXPECT_FALSE(spool.NewestCompletedEnd()->has_value());
}

TEST(SegmentNameTest, Parses) {
  uint32_t tli = 0;
  uint64_t start = 0;
  ASSERT_TRUE(ParseSegmentName("0000000300000001000000A0", 16 << 20, &tli, &start));
  EXPECT_EQ(tli, 3u);
  EXPECT_EQ(start, 0x1A0000000u);
  EXPECT_EQ(WalFileName(tli, start, 16 << 20), "0000000300000001000000A0");
  EXPECT_FALSE(ParseSegmentName("000000030000000100000100", 16 << 20, &tli, &start));
  EXPECT_FALSE(ParseSegmentName("00000003000000010000000a", 16 << 20, &tli, &start));
  EXPECT_FALSE(ParseSegmentName("0000000300000001000000A0.partial", 16 << 20, &tli, &start));
}

TEST(SlotNameTest, Validates) {
  EXPECT_TRUE(ValidateSlotName("lifeboat_1").ok());
  EXPECT_FALSE(ValidateSlotName("").ok());
  EXPECT_FALSE(ValidateSlotName("Bad").ok());
  EXPECT_FALSE(ValidateSlotName("a b").ok());
  EXPECT_FALSE(ValidateSlotName(std::string(64, 'a')).ok());
}

}  // namespace
}  // namespace lifeboat
