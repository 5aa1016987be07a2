#include "mariadb/binlog_time.h"

namespace lifeboat {
namespace {

uint32_t Le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace

std::optional<int64_t> BinlogLastEventTime(ByteView contents) {
  constexpr size_t kHeader = 19;
  if (contents.size() < 4 || contents[0] != 0xfe || contents[1] != 'b' || contents[2] != 'i' ||
      contents[3] != 'n') {
    return std::nullopt;
  }
  std::optional<int64_t> last;
  size_t pos = 4;
  while (contents.size() - pos >= kHeader) {
    const uint8_t* h = contents.data() + pos;
    const uint32_t size = Le32(h + 9);
    if (size < kHeader || size > contents.size() - pos) break;
    last = static_cast<int64_t>(Le32(h));
    pos += size;
  }
  return last;
}

}  // namespace lifeboat
