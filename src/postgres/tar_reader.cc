#include "postgres/tar_reader.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace lifeboat {
namespace {

constexpr size_t kBlock = 512;
// Largest entry size accepted: far above PostgreSQL's 1 GiB segments, far
// below anything that could overflow offsets.
constexpr uint64_t kMaxEntrySize = 1ull << 44;

// A NUL-terminated (or full-width) string field.
std::string Field(const uint8_t* p, size_t n) {
  size_t len = 0;
  while (len < n && p[len] != 0) ++len;
  return std::string(reinterpret_cast<const char*>(p), len);
}

// An octal field (leading spaces, then digits, then NUL/space), or GNU
// base-256 (high bit of the first byte set; positive values only).
bool Number(const uint8_t* p, size_t n, uint64_t* out) {
  if (n > 0 && (p[0] & 0x80)) {
    if (p[0] & 0x40) return false;  // negative
    uint64_t v = p[0] & 0x3f;
    for (size_t i = 1; i < n; ++i) {
      if (v >> 55) return false;  // would overflow
      v = v << 8 | p[i];
    }
    *out = v;
    return true;
  }
  size_t i = 0;
  while (i < n && p[i] == ' ') ++i;
  uint64_t v = 0;
  size_t digits = 0;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i, ++digits) {
    if (v >> 60) return false;
    v = v * 8 + (p[i] - '0');
  }
  for (; i < n; ++i)
    if (p[i] != 0 && p[i] != ' ') return false;
  if (digits == 0) {
    // An all-NUL/space field is 0 (some writers leave optional fields empty).
    *out = 0;
    return true;
  }
  *out = v;
  return true;
}

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// pax times: seconds with an optional fraction ("1700000000.123456789").
bool ParsePaxTime(std::string_view s, int64_t* ns) {
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  size_t dot = s.find('.');
  uint64_t secs = 0;
  if (!ParseDecimal(s.substr(0, dot), &secs) || secs > 9000000000ull) return false;
  int64_t frac = 0;
  if (dot != std::string_view::npos) {
    std::string_view f = s.substr(dot + 1);
    if (f.empty()) return false;
    int digits = 0;
    for (char c : f) {
      if (c < '0' || c > '9') return false;
      if (digits < 9) {
        frac = frac * 10 + (c - '0');
        ++digits;
      }
    }
    for (; digits < 9; ++digits) frac *= 10;
  }
  int64_t v = static_cast<int64_t>(secs) * 1000000000 + frac;
  *ns = negative ? -v : v;
  return true;
}

}  // namespace

Status TarReader::Feed(ByteView data) {
  if (!failed_.ok()) return failed_;
  while (!data.empty()) {
    switch (state_) {
      case State::kEnd:
        // Past the end-of-archive blocks only zeros (record padding) may follow.
        for (uint8_t b : data) {
          if (b != 0) return failed_ = Corrupt("tar: data after the end-of-archive marker");
        }
        return Status::Ok();
      case State::kHeader: {
        size_t n = std::min(kBlock - block_fill_, data.size());
        std::memcpy(block_ + block_fill_, data.data(), n);
        block_fill_ += n;
        data = data.subspan(n);
        if (block_fill_ == kBlock) {
          block_fill_ = 0;
          Status s = ParseHeader();
          offset_ += kBlock;
          if (!s.ok()) return failed_ = s;
        }
        break;
      }
      case State::kData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
        if (n > 0) {
          Status s = sink_.OnData(data.subspan(0, n));
          if (!s.ok()) return failed_ = s;
          remaining_ -= n;
          offset_ += n;
          data = data.subspan(n);
        }
        if (remaining_ == 0) {
          Status s = sink_.OnEntryEnd();
          if (!s.ok()) return failed_ = s;
          remaining_ = (kBlock - entry_.size % kBlock) % kBlock;
          state_ = remaining_ ? State::kPadding : State::kHeader;
        }
        break;
      }
      case State::kPadding: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
        remaining_ -= n;
        offset_ += n;
        data = data.subspan(n);
        if (remaining_ == 0) state_ = State::kHeader;
        break;
      }
      case State::kExtended: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
        ext_data_.append(reinterpret_cast<const char*>(data.data()), n);
        remaining_ -= n;
        offset_ += n;
        data = data.subspan(n);
        if (remaining_ == 0) {
          Status s = Status::Ok();
          if (ext_type_ == 'x') {
            s = ParsePax();
          } else if (ext_type_ == 'L' || ext_type_ == 'K') {
            std::string value = ext_data_.substr(0, ext_data_.find('\0'));
            if (value.empty() || value.size() > kMaxPath) {
              s = Corrupt("tar: bad GNU long name at offset " + std::to_string(offset_));
            } else if (ext_type_ == 'L') {
              pending_path_ = value;
              has_path_ = true;
            } else {
              pending_link_ = value;
              has_link_ = true;
            }
          }  // 'g': global pax headers carry nothing PostgreSQL needs
          if (!s.ok()) return failed_ = s;
          const uint64_t size = ext_data_.size();
          ext_data_.clear();
          remaining_ = (kBlock - size % kBlock) % kBlock;
          state_ = remaining_ ? State::kPadding : State::kHeader;
        }
        break;
      }
    }
  }
  return Status::Ok();
}

Status TarReader::ParseHeader() {
  const std::string where = " at offset " + std::to_string(offset_);
  if (std::all_of(block_, block_ + kBlock, [](uint8_t b) { return b == 0; })) {
    if (++zero_blocks_ == 2) state_ = State::kEnd;
    return Status::Ok();
  }
  if (zero_blocks_ > 0) return Corrupt("tar: a header follows an end-of-archive block" + where);
  uint64_t stored = 0;
  if (!Number(block_ + 148, 8, &stored)) return Corrupt("tar: unreadable header checksum" + where);
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    uint8_t b = (i >= 148 && i < 156) ? ' ' : block_[i];
    unsigned_sum += b;
    signed_sum += static_cast<int8_t>(b);
  }
  if (stored != unsigned_sum && static_cast<int64_t>(stored) != signed_sum) {
    return Corrupt("tar: header checksum mismatch" + where + " (not a tar stream, or damaged)");
  }
  uint64_t mode = 0, uid = 0, gid = 0, size = 0, mtime = 0;
  if (!Number(block_ + 100, 8, &mode) || !Number(block_ + 108, 8, &uid) ||
      !Number(block_ + 116, 8, &gid) || !Number(block_ + 124, 12, &size) ||
      !Number(block_ + 136, 12, &mtime)) {
    return Corrupt("tar: malformed numeric field in header" + where);
  }
  if (size > kMaxEntrySize) return Corrupt("tar: entry size out of range" + where);
  const char type = static_cast<char>(block_[156]);

  if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
    if (size > kMaxExtendedHeader) {
      return Corrupt("tar: extended header of " + std::to_string(size) + " bytes is too large" +
                     where);
    }
    ext_type_ = type;
    ext_data_.clear();
    remaining_ = size;
    state_ = State::kExtended;
    if (size == 0) state_ = State::kHeader;
    return Status::Ok();
  }

  TarEntry e;
  std::string name = Field(block_, 100);
  const bool ustar = std::memcmp(block_ + 257, "ustar", 5) == 0;
  if (ustar) {
    std::string prefix = Field(block_ + 345, 155);
    if (!prefix.empty()) name = prefix + "/" + name;
    e.uname = Field(block_ + 265, 32);
    e.gname = Field(block_ + 297, 32);
  }
  e.path = has_path_ ? pending_path_ : name;
  e.link_target = has_link_ ? pending_link_ : Field(block_ + 157, 100);
  e.mode = static_cast<uint32_t>(mode & 07777);
  e.uid = static_cast<uint32_t>(has_uid_ ? pax_uid_ : uid);
  e.gid = static_cast<uint32_t>(has_gid_ ? pax_gid_ : gid);
  if (has_uname_) e.uname = pax_uname_;
  if (has_gname_) e.gname = pax_gname_;
  if (mtime > 9000000000ull && !has_mtime_) return Corrupt("tar: mtime out of range" + where);
  e.mtime_ns = has_mtime_ ? pax_mtime_ns_ : static_cast<int64_t>(mtime) * 1000000000;
  uint64_t data_size = has_size_ ? pax_size_ : size;
  has_path_ = has_link_ = has_size_ = has_mtime_ = has_uid_ = has_gid_ = false;
  has_uname_ = has_gname_ = false;

  if (e.path.empty() || e.path.size() > kMaxPath || e.path.find('\0') != std::string::npos) {
    return Corrupt("tar: entry without a valid name" + where);
  }
  switch (type) {
    case '0':
    case '\0':
    case '7':
      e.type = TarEntry::Type::kFile;
      break;
    case '5':
      e.type = TarEntry::Type::kDir;
      break;
    case '2':
      e.type = TarEntry::Type::kSymlink;
      if (e.link_target.empty()) return Corrupt("tar: symlink '" + e.path + "' without a target");
      break;
    case '1':
      return Status(Code::kUnsupported, "tar: hard link '" + e.path + "' is not supported");
    default:
      return Status(Code::kUnsupported, std::string("tar: entry type '") +
                                              (type >= 32 && type < 127 ? std::string(1, type)
                                                                        : std::to_string(type)) +
                                              "' of '" + e.path + "' is not supported");
  }
  // Directories and symlinks carry no content; skip what a writer put there.
  e.size = e.type == TarEntry::Type::kFile ? data_size : 0;
  if (data_size > kMaxEntrySize) return Corrupt("tar: entry size out of range" + where);
  entry_ = std::move(e);
  entries_++;
  LB_RETURN_IF_ERROR(sink_.OnEntry(entry_));
  if (entry_.type != TarEntry::Type::kFile) {
    LB_RETURN_IF_ERROR(sink_.OnEntryEnd());
    remaining_ = (data_size + kBlock - 1) / kBlock * kBlock;
    state_ = remaining_ ? State::kPadding : State::kHeader;
    return Status::Ok();
  }
  remaining_ = data_size;
  state_ = State::kData;
  if (remaining_ == 0) {
    LB_RETURN_IF_ERROR(sink_.OnEntryEnd());
    state_ = State::kHeader;
  }
  return Status::Ok();
}

Status TarReader::ParsePax() {
  std::string_view rest = ext_data_;
  while (!rest.empty()) {
    size_t space = rest.find(' ');
    uint64_t len = 0;
    if (space == std::string_view::npos || !ParseDecimal(rest.substr(0, space), &len) ||
        len <= space + 1 || len > rest.size() || rest[len - 1] != '\n') {
      return Corrupt("tar: malformed pax extended header at offset " + std::to_string(offset_));
    }
    std::string_view record = rest.substr(space + 1, len - space - 2);
    rest.remove_prefix(len);
    size_t eq = record.find('=');
    if (eq == std::string_view::npos) {
      return Corrupt("tar: pax record without '=' at offset " + std::to_string(offset_));
    }
    std::string_view key = record.substr(0, eq), value = record.substr(eq + 1);
    bool ok = true;
    if (key == "path") {
      ok = !value.empty() && value.size() <= kMaxPath;
      pending_path_ = std::string(value);
      has_path_ = true;
    } else if (key == "linkpath") {
      ok = value.size() <= kMaxPath;
      pending_link_ = std::string(value);
      has_link_ = true;
    } else if (key == "size") {
      ok = ParseDecimal(value, &pax_size_) && pax_size_ <= kMaxEntrySize;
      has_size_ = true;
    } else if (key == "mtime") {
      ok = ParsePaxTime(value, &pax_mtime_ns_);
      has_mtime_ = true;
    } else if (key == "uid") {
      ok = ParseDecimal(value, &pax_uid_) && pax_uid_ <= UINT32_MAX;
      has_uid_ = true;
    } else if (key == "gid") {
      ok = ParseDecimal(value, &pax_gid_) && pax_gid_ <= UINT32_MAX;
      has_gid_ = true;
    } else if (key == "uname") {
      pax_uname_ = std::string(value);
      has_uname_ = true;
    } else if (key == "gname") {
      pax_gname_ = std::string(value);
      has_gname_ = true;
    }  // other keys (atime, ctime, xattrs, comments) are not needed
    if (!ok) {
      return Corrupt("tar: bad pax value for '" + std::string(key) + "' at offset " +
                     std::to_string(offset_));
    }
  }
  return Status::Ok();
}

Status TarReader::Finish() {
  if (!failed_.ok()) return failed_;
  if (state_ == State::kEnd || (state_ == State::kHeader && block_fill_ == 0)) {
    if (has_path_ || has_link_ || has_size_) {
      return failed_ = Corrupt("tar: stream ends after an extended header");
    }
    return Status::Ok();
  }
  return failed_ = Corrupt("tar: stream ends inside " +
                           (state_ == State::kData ? "the content of '" + entry_.path + "'"
                                                   : std::string("a header")));
}

}  // namespace lifeboat
