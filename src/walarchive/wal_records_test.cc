// LastWalRecordTime over segments laid out as PostgreSQL writes them: long
// and short page headers, records crossing pages, CRCs, a continuation from
// the previous segment, recycled pages and damage.
#include "walarchive/wal_records.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "walarchive/pg_control.h"

namespace lifeboat {
namespace {

constexpr uint32_t kBlock = 8192;
constexpr uint32_t kSegSize = 1u << 20;
constexpr uint64_t kBase = 5ull * kSegSize;  // the segment's first LSN
constexpr int64_t kPgEpoch = 946684800;      // 2000-01-01 in Unix seconds

template <typename T>
void Put(std::vector<uint8_t>& out, T v) {
  uint8_t b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  out.insert(out.end(), b, b + sizeof v);
}

// A record: header (CRC filled in) + block/data headers + main data.
std::vector<uint8_t> Record(uint8_t rmid, uint8_t info, const std::vector<uint8_t>& headers,
                            const std::vector<uint8_t>& main) {
  std::vector<uint8_t> body = headers;
  if (main.size() < 256) {
    body.push_back(255);
    body.push_back(static_cast<uint8_t>(main.size()));
  } else {
    body.push_back(254);
    Put<uint32_t>(body, static_cast<uint32_t>(main.size()));
  }
  body.insert(body.end(), main.begin(), main.end());
  std::vector<uint8_t> rec;
  Put<uint32_t>(rec, static_cast<uint32_t>(24 + body.size()));
  Put<uint32_t>(rec, 1234);  // xid
  Put<uint64_t>(rec, 0);     // prev
  rec.push_back(info);
  rec.push_back(rmid);
  rec.push_back(0);
  rec.push_back(0);
  std::vector<uint8_t> crc_input = body;
  crc_input.insert(crc_input.end(), rec.begin(), rec.end());
  Put<uint32_t>(rec, Crc32c(ByteView(crc_input.data(), crc_input.size())));
  rec.insert(rec.end(), body.begin(), body.end());
  return rec;
}

std::vector<uint8_t> Micros(int64_t unix_seconds, size_t pad = 4) {
  std::vector<uint8_t> out;
  Put<int64_t>(out, (unix_seconds - kPgEpoch) * 1000000);
  out.insert(out.end(), pad, 0);
  return out;
}
std::vector<uint8_t> Commit(int64_t t) { return Record(1, 0x00, {}, Micros(t)); }
std::vector<uint8_t> Abort(int64_t t) { return Record(1, 0x20, {}, Micros(t)); }
std::vector<uint8_t> RestorePoint(int64_t t) { return Record(0, 0x70, {}, Micros(t, 64)); }
// A heap-like record that registers a block (never read for its time).
std::vector<uint8_t> BlockRecord(size_t main_size) {
  std::vector<uint8_t> headers = {0, 0x00};  // block 0, fork flags
  Put<uint16_t>(headers, 0);                  // data length
  Put<uint32_t>(headers, 1663);               // RelFileNode
  Put<uint32_t>(headers, 5);
  Put<uint32_t>(headers, 16384);
  Put<uint32_t>(headers, 7);                  // block number
  return Record(10, 0x00, headers, std::vector<uint8_t>(main_size, 0xAB));
}

// Lays `records` out (8-byte aligned) into pages after `cont` bytes that
// continue a record of the previous segment; `pages` pages in all.
class SegmentBuilder {
 public:
  explicit SegmentBuilder(size_t cont = 0) : cont_(cont) { stream_.assign(cont, 0xCC); }
  void Add(const std::vector<uint8_t>& rec) {
    while (stream_.size() % 8) stream_.push_back(0);
    stream_.insert(stream_.end(), rec.begin(), rec.end());
  }
  std::vector<uint8_t> Build(size_t pages) const {
    std::vector<uint8_t> seg;
    size_t used = 0;
    for (size_t i = 0; i < pages; ++i) {
      std::vector<uint8_t> page;
      const bool first = i == 0;
      Put<uint16_t>(page, 0xD110);
      uint16_t info = first ? 0x0002 : 0;
      if (first && cont_ > 0) info |= 0x0001;
      Put<uint16_t>(page, info);
      Put<uint32_t>(page, 1);  // timeline
      Put<uint64_t>(page, kBase + i * kBlock);
      Put<uint32_t>(page, first ? static_cast<uint32_t>(cont_) : 0);
      Put<uint32_t>(page, 0);  // padding
      if (first) {
        Put<uint64_t>(page, 7000000000000000001ull);
        Put<uint32_t>(page, kSegSize);
        Put<uint32_t>(page, kBlock);
      }
      const size_t room = kBlock - page.size();
      for (size_t k = 0; k < room; ++k) {
        page.push_back(used < stream_.size() ? stream_[used] : 0);
        ++used;
      }
      seg.insert(seg.end(), page.begin(), page.end());
    }
    return seg;
  }

 private:
  size_t cont_;
  std::vector<uint8_t> stream_;
};

int64_t Ns(int64_t unix_seconds) { return unix_seconds * 1000000000; }
std::optional<int64_t> Last(const std::vector<uint8_t>& seg) {
  return LastWalRecordTime(ByteView(seg.data(), seg.size()));
}

constexpr int64_t kT = 1796000000;  // 2026-11-29

TEST(WalRecordsTest, NewestCommitAbortOrRestorePoint) {
  SegmentBuilder b;
  b.Add(BlockRecord(40));
  b.Add(Commit(kT));
  b.Add(Abort(kT + 5));
  b.Add(BlockRecord(100));
  b.Add(Commit(kT + 3));  // clocks can step back: the newest counts
  EXPECT_EQ(Last(b.Build(2)), Ns(kT + 5));
  b.Add(RestorePoint(kT + 9));
  EXPECT_EQ(Last(b.Build(2)), Ns(kT + 9));
}

TEST(WalRecordsTest, RecordsCrossingPagesAreReassembled) {
  SegmentBuilder b;
  b.Add(Commit(kT));
  b.Add(BlockRecord(20000));  // spans pages 0..3
  b.Add(Commit(kT + 60));     // on page 2 or 3, after the big one
  EXPECT_EQ(Last(b.Build(5)), Ns(kT + 60));
}

TEST(WalRecordsTest, AContinuationFromThePreviousSegmentIsSkipped) {
  SegmentBuilder b(/*cont=*/9000);  // longer than the first page
  b.Add(Commit(kT + 1));
  EXPECT_EQ(Last(b.Build(3)), Ns(kT + 1));
}

TEST(WalRecordsTest, TheWalkStopsAtTheFirstBadRecord) {
  SegmentBuilder b;
  b.Add(Commit(kT));
  std::vector<uint8_t> bad = Commit(kT + 100);
  bad[30] ^= 1;  // the timestamp: the CRC no longer matches
  b.Add(bad);
  b.Add(Commit(kT + 200));  // after the damage: PostgreSQL would not get here
  EXPECT_EQ(Last(b.Build(2)), Ns(kT));
}

TEST(WalRecordsTest, PagesOfAnotherAddressEndTheSegment) {
  SegmentBuilder b;
  b.Add(Commit(kT));
  b.Add(BlockRecord(8200));  // crosses into page 1; the next record is on page 1
  b.Add(Commit(kT + 50));
  std::vector<uint8_t> seg = b.Build(3);
  EXPECT_EQ(Last(seg), Ns(kT + 50));
  // Page 1 left over from the segment's earlier use (recycled): older address.
  const uint64_t stale = kBase - kSegSize + kBlock;
  std::memcpy(seg.data() + kBlock + 8, &stale, sizeof stale);
  EXPECT_EQ(Last(seg), Ns(kT));
}

TEST(WalRecordsTest, AStreamPartialEndsAtItsZeros) {
  SegmentBuilder b;
  b.Add(Commit(kT + 7));
  std::vector<uint8_t> seg = b.Build(1);
  seg.resize(kSegSize, 0);  // zero-filled after the valid bytes
  EXPECT_EQ(Last(seg), Ns(kT + 7));
}

TEST(WalRecordsTest, NothingToTellIsNullopt) {
  EXPECT_FALSE(Last({}));
  EXPECT_FALSE(Last(std::vector<uint8_t>(100, 0)));
  EXPECT_FALSE(Last(std::vector<uint8_t>(kBlock * 2, 0)));
  SegmentBuilder b;
  b.Add(BlockRecord(10));  // no transaction ends here
  EXPECT_FALSE(Last(b.Build(1)));
  // A first page without the long header is not a segment's start.
  SegmentBuilder c;
  c.Add(Commit(kT));
  std::vector<uint8_t> seg = c.Build(1);
  ASSERT_EQ(Last(seg), Ns(kT));
  seg[2] = 0;
  EXPECT_FALSE(Last(seg));
  // Absurd sizes in the long header.
  seg = c.Build(1);
  const uint32_t odd = 3000;
  std::memcpy(seg.data() + 36, &odd, sizeof odd);
  EXPECT_FALSE(Last(seg));
}

}  // namespace
}  // namespace lifeboat
