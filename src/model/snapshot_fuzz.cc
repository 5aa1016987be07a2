// libFuzzer target for DecodeSnapshot (and the RFC 3339 parser it uses): any
// input must decode or fail cleanly; a decoded snapshot must re-encode to a
// document that decodes and encodes to the same text.
#include <cstdlib>
#include <string_view>

#include "model/snapshot.h"
#include "model/time_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto time = ParseTimeRfc3339(text);
  if (time.ok()) {
    auto back = ParseTimeRfc3339(FormatTimeRfc3339(*time));
    if (!back.ok() || *back != *time) std::abort();
  }

  auto snapshot = DecodeSnapshot(text);
  if (!snapshot.ok()) {
    if (snapshot.status().code() != Code::kCorrupt) std::abort();
    return 0;
  }
  std::string encoded = EncodeSnapshot(*snapshot);
  auto again = DecodeSnapshot(encoded);
  if (!again.ok()) std::abort();
  if (EncodeSnapshot(*again) != encoded) std::abort();
  return 0;
}
