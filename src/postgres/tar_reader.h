// TarReader: a push parser for tar streams as PostgreSQL's BASE_BACKUP sends
// them (ustar headers; pax 'x' and GNU 'L'/'K' extended names are accepted
// too, so archives from other writers parse). Bytes are fed in any piece
// sizes; entries and their content are passed to a TarSink as they arrive,
// nothing is staged. Every header is untrusted: checksums, numeric fields,
// sizes, names and the extended-header sizes are checked, and anything
// malformed is kCorrupt naming the entry. The stream may end with the two
// zero blocks of the standard or (as PostgreSQL 15 sends it) right after the
// last entry.
// Supported entry types: regular files ('0', '\0', '7'), directories ('5'),
// symlinks ('2'); others (hard links, devices, FIFOs) are kUnsupported.
// Thread-safety: one stream per reader, one thread.
#pragma once

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace lifeboat {

struct TarEntry {
  enum class Type { kFile, kDir, kSymlink };
  Type type = Type::kFile;
  std::string path;  // as in the archive (may end with '/' or start with "./")
  std::string link_target;
  uint64_t size = 0;  // content bytes (files; 0 otherwise)
  uint32_t mode = 0;  // permission bits
  uint32_t uid = 0, gid = 0;
  std::string uname, gname;
  int64_t mtime_ns = 0;
};

// Receives the entries of a stream in order: OnEntry, then the content in
// OnData pieces (files only), then OnEntryEnd. A non-OK status stops the
// parse and is returned by Feed.
class TarSink {
 public:
  virtual ~TarSink() = default;
  virtual Status OnEntry(const TarEntry& entry) = 0;
  virtual Status OnData(ByteView data) = 0;
  virtual Status OnEntryEnd() = 0;
};

class TarReader {
 public:
  static constexpr size_t kMaxExtendedHeader = 1 << 20;
  static constexpr size_t kMaxPath = 4096;

  explicit TarReader(TarSink& sink) : sink_(sink) {}

  // Parses the next bytes of the stream. After an error the reader stays
  // failed and returns that error again.
  Status Feed(ByteView data);

  // The stream has ended: OK if it ended between entries (with or without
  // the end-of-archive blocks); kCorrupt if inside a header or an entry.
  Status Finish();

  uint64_t entries() const { return entries_; }

 private:
  enum class State { kHeader, kData, kPadding, kExtended, kEnd };

  Status ParseHeader();
  Status ParsePax();

  TarSink& sink_;
  State state_ = State::kHeader;
  Status failed_;
  uint8_t block_[512];
  size_t block_fill_ = 0;
  uint64_t remaining_ = 0;  // data or padding bytes left in the current state
  int zero_blocks_ = 0;
  uint64_t entries_ = 0;
  uint64_t offset_ = 0;  // stream offset of the current header, for messages

  // The entry whose header was read, and values from preceding extended
  // headers that override its fields.
  TarEntry entry_;
  char ext_type_ = 0;  // 'x', 'g', 'L' or 'K' while collecting kExtended
  std::string ext_data_;
  std::string pending_path_, pending_link_;
  bool has_path_ = false, has_link_ = false;
  bool has_size_ = false, has_mtime_ = false, has_uid_ = false, has_gid_ = false;
  bool has_uname_ = false, has_gname_ = false;
  uint64_t pax_size_ = 0, pax_uid_ = 0, pax_gid_ = 0;
  int64_t pax_mtime_ns_ = 0;
  std::string pax_uname_, pax_gname_;
};

}  // namespace lifeboat
