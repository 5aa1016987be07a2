// libFuzzer target for key file parsing: key files are plaintext JSON read
// from the repository before anything is authenticated, so the parser must
// reject anything malformed cleanly (KDF limits included) without crashing.
#include <cstdlib>
#include <string_view>

#include "repo/key_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto info = ReadKeyFileInfo(text);
  if (!info.ok() && info.status().code() != Code::kCorrupt &&
      info.status().code() != Code::kInvalidArgument)
    std::abort();
  return 0;
}
