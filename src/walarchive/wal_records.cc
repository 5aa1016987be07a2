#include "walarchive/wal_records.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "walarchive/pg_control.h"  // Crc32c

namespace lifeboat {
namespace {

// PostgreSQL's WAL layout (access/xlog_internal.h, access/xlogrecord.h).
constexpr uint16_t kLongHeader = 0x0002;     // XLP_LONG_HEADER
constexpr uint16_t kFirstIsCont = 0x0001;    // XLP_FIRST_IS_CONTRECORD
constexpr size_t kShortPageHeader = 24;      // MAXALIGN(sizeof(XLogPageHeaderData))
constexpr size_t kLongPageHeader = 40;       // MAXALIGN(sizeof(XLogLongPageHeaderData))
constexpr size_t kRecordHeader = 24;         // SizeOfXLogRecord (MAXALIGNed)
constexpr size_t kCrcOffset = 20;            // offsetof(XLogRecord, xl_crc)
constexpr uint8_t kRmXlog = 0, kRmXact = 1;  // RM_XLOG_ID, RM_XACT_ID
constexpr uint8_t kXlogSwitch = 0x40, kXlogRestorePoint = 0x70;
constexpr uint8_t kXactOpMask = 0x70;
constexpr uint8_t kBlockIdDataShort = 255, kBlockIdDataLong = 254, kBlockIdOrigin = 253,
                  kBlockIdToplevelXid = 252;
// TimestampTz counts microseconds from 2000-01-01; keep what is plausible.
constexpr int64_t kPgEpochUnixSeconds = 946684800;
constexpr int64_t kMaxPlausibleMicros = int64_t{200} * 366 * 86400 * 1000000;  // to ~2200

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // WAL is in the server's byte order: little-endian here
  return v;
}

size_t MaxAlign(size_t n) { return (n + 7) & ~size_t{7}; }

// The segment's record bytes with the page headers taken out (headers are
// multiples of 8 bytes, so record alignment is unchanged), up to the first
// page that does not carry this segment's next address; *skip is the
// continuation of a record from the previous segment at the start.
std::vector<uint8_t> RecordStream(ByteView seg, size_t* skip) {
  std::vector<uint8_t> out;
  *skip = 0;
  if (seg.size() < kLongPageHeader) return out;
  const uint16_t info0 = Load<uint16_t>(seg.data() + 2);
  if (!(info0 & kLongHeader)) return out;
  const uint64_t base = Load<uint64_t>(seg.data() + 8);
  const uint32_t seg_size = Load<uint32_t>(seg.data() + 32);
  const uint32_t block = Load<uint32_t>(seg.data() + 36);
  const bool pow2 = block != 0 && (block & (block - 1)) == 0 && seg_size != 0 &&
                    (seg_size & (seg_size - 1)) == 0;
  if (!pow2 || block < 1024 || block > 65536 || seg_size < block || base % seg_size != 0) {
    return out;
  }
  if (info0 & kFirstIsCont) *skip = MaxAlign(Load<uint32_t>(seg.data() + 16));  // xlp_rem_len
  const size_t pages = std::min<size_t>(seg.size(), seg_size) / block;
  out.reserve(pages * block);
  for (size_t i = 0; i < pages; ++i) {
    const uint8_t* page = seg.data() + i * block;
    const uint16_t info = Load<uint16_t>(page + 2);
    if (Load<uint64_t>(page + 8) != base + i * block) break;  // unwritten or recycled
    const size_t header = (info & kLongHeader) ? kLongPageHeader : kShortPageHeader;
    if ((i == 0) != ((info & kLongHeader) != 0)) break;
    out.insert(out.end(), page + header, page + block);
  }
  return out;
}

// The main data of a record that registers no blocks (commit, abort and
// restore point records register none): its length from the data header,
// the bytes at the record's end. Empty when the headers do not add up.
ByteView MainData(const uint8_t* rec, size_t len) {
  size_t off = kRecordHeader;
  size_t main_len = 0;
  while (off < len) {
    const uint8_t id = rec[off++];
    if (id == kBlockIdDataShort) {
      if (off + 1 > len) return {};
      main_len = rec[off];
      off += 1;
      break;
    }
    if (id == kBlockIdDataLong) {
      if (off + 4 > len) return {};
      main_len = Load<uint32_t>(rec + off);
      off += 4;
      break;
    }
    if (id == kBlockIdOrigin) {
      off += 2;
    } else if (id == kBlockIdToplevelXid) {
      off += 4;
    } else {
      return {};  // a block reference: not a record this reads
    }
  }
  if (off > len || len - off != main_len) return {};
  return ByteView(rec + off, main_len);
}

}  // namespace

std::optional<int64_t> LastWalRecordTime(ByteView segment) {
  size_t pos = 0;
  const std::vector<uint8_t> stream = RecordStream(segment, &pos);
  std::optional<int64_t> newest;
  std::vector<uint8_t> crc_input;
  while (pos + kRecordHeader <= stream.size()) {
    const uint8_t* rec = stream.data() + pos;
    const uint32_t len = Load<uint32_t>(rec);
    if (len < kRecordHeader || len > stream.size() - pos) break;  // end of WAL, or continues
    crc_input.assign(rec + kRecordHeader, rec + len);
    crc_input.insert(crc_input.end(), rec, rec + kCrcOffset);
    if (Crc32c(ByteView(crc_input.data(), crc_input.size())) != Load<uint32_t>(rec + kCrcOffset)) {
      break;
    }
    const uint8_t info = rec[16], rmid = rec[17];
    const bool xact = rmid == kRmXact && ((info & kXactOpMask) == 0x00 ||  // commit
                                          (info & kXactOpMask) == 0x20 ||  // abort
                                          (info & kXactOpMask) == 0x30 ||  // commit prepared
                                          (info & kXactOpMask) == 0x40);   // abort prepared
    const bool restore_point = rmid == kRmXlog && (info & 0xF0) == kXlogRestorePoint;
    if (xact || restore_point) {
      const ByteView data = MainData(rec, len);
      if (data.size() >= 8) {
        const int64_t micros = Load<int64_t>(data.data());
        if (micros > 0 && micros < kMaxPlausibleMicros) {
          const int64_t ns = (kPgEpochUnixSeconds * 1000000 + micros) * 1000;
          if (!newest || ns > *newest) newest = ns;
        }
      }
    }
    if (rmid == kRmXlog && (info & 0xF0) == kXlogSwitch) break;  // the rest is unused
    pos = MaxAlign(pos + len);
  }
  return newest;
}

}  // namespace lifeboat
