#include "walarchive/pg_control.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "backend/file_util.h"

namespace lifeboat {
namespace {

constexpr uint32_t kKnownVersion = 1300;   // PostgreSQL 13–16
constexpr size_t kKnownCrcOffset = 288;    // offsetof(ControlFileData, crc), x86-64 and arm64
constexpr size_t kMinControlSize = 16;     // system_identifier, version, catalog version
constexpr size_t kMaxCrcOffset = 1024;     // ControlFileData is far smaller
constexpr size_t kControlFileSize = 8192;  // PG_CONTROL_FILE_SIZE

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

bool CrcMatchesAt(ByteView data, size_t offset) {
  if (offset + 4 > data.size()) return false;
  uint32_t stored;
  std::memcpy(&stored, data.data() + offset, 4);  // host byte order, like the rest
  return Crc32c(data.first(offset)) == stored;
}

}  // namespace

uint32_t Crc32c(ByteView data) {
  static const std::array<uint32_t, 256> kTable = MakeCrcTable();
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t byte : data) crc = kTable[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

Result<uint64_t> ParseSystemIdentifier(ByteView control_file) {
  if (control_file.size() < kMinControlSize) {
    return Corrupt("pg_control is too short (" + std::to_string(control_file.size()) + " bytes)");
  }
  uint64_t system_id;
  uint32_t version;
  std::memcpy(&system_id, control_file.data(), 8);
  std::memcpy(&version, control_file.data() + 8, 4);
  if (system_id == 0) return Corrupt("pg_control has no system identifier");
  bool crc_ok = false;
  if (version == kKnownVersion) {
    crc_ok = CrcMatchesAt(control_file, kKnownCrcOffset);
  } else {
    for (size_t off = kMinControlSize; off < kMaxCrcOffset && !crc_ok; off += 4) {
      crc_ok = CrcMatchesAt(control_file, off);
    }
  }
  if (!crc_ok) {
    return Corrupt("pg_control failed its CRC check (pg_control_version " +
                   std::to_string(version) + ")");
  }
  return system_id;
}

Result<uint64_t> ReadSystemIdentifier(const std::string& data_dir) {
  const std::string path = data_dir + "/global/pg_control";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    Status s = ErrnoStatus(errno, "unable to read the PostgreSQL control file " + path);
    return s.WithHint(
        "run from the data directory (PostgreSQL does so for archive_command and "
        "restore_command), or pass --pgdata DIR or --system-id ID");
  }
  Bytes buf(kControlFileSize);
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "unable to read " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  auto id = ParseSystemIdentifier(buf);
  if (!id.ok()) return id.status().WithContext(path);
  return id;
}

}  // namespace lifeboat
