// libFuzzer target for the tar parser (BASE_BACKUP archives come from the
// network: untrusted). The input is fed in pieces whose sizes come from the
// first byte, so header and content boundaries fall everywhere; the parser
// must accept or fail cleanly, never crash, and never report more content
// than it was given.
#include <algorithm>
#include <cstdlib>

#include "postgres/tar_reader.h"

namespace {

class CountingSink : public lifeboat::TarSink {
 public:
  lifeboat::Status OnEntry(const lifeboat::TarEntry& e) override {
    if (in_entry) std::abort();  // entries never nest
    if (e.path.empty() || e.path.size() > lifeboat::TarReader::kMaxPath) std::abort();
    in_entry = true;
    expected = e.size;
    got = 0;
    return lifeboat::Status::Ok();
  }
  lifeboat::Status OnData(lifeboat::ByteView data) override {
    if (!in_entry) std::abort();
    got += data.size();
    total += data.size();
    if (got > expected) std::abort();
    return lifeboat::Status::Ok();
  }
  lifeboat::Status OnEntryEnd() override {
    if (!in_entry || got != expected) std::abort();
    in_entry = false;
    return lifeboat::Status::Ok();
  }
  bool in_entry = false;
  uint64_t expected = 0, got = 0, total = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] * 7;
  CountingSink sink;
  TarReader reader(sink);
  Status s;
  for (size_t off = 1; off < size && s.ok(); off += piece) {
    s = reader.Feed(ByteView(data + off, std::min(piece, size - off)));
  }
  if (s.ok()) s = reader.Finish();
  if (s.ok() && sink.in_entry) std::abort();  // a clean end closes every entry
  if (sink.total > size) std::abort();
  return 0;
}
