// libFuzzer target for the WAL record reader (segments come out of the
// repository: untrusted). The reader must never crash or read outside the
// input, whatever the pages and records claim; a time it returns must be a
// plausible one.
#include <cstdlib>

#include "walarchive/wal_records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto t = lifeboat::LastWalRecordTime(lifeboat::ByteView(data, size));
  // 2000-01-01 .. ~2200 in nanoseconds since the Unix epoch.
  if (t && (*t < 946684800LL * 1000000000LL || *t > 7300000000LL * 1000000000LL)) std::abort();
  return 0;
}
