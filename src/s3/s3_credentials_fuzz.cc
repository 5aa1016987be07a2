// libFuzzer target for the shared-credentials (INI) parser: a user's file is
// parsed defensively; any input must parse or fail with a clear status, and
// values accepted never contain characters that could break an HTTP header.
#include <cstdlib>
#include <string_view>

#include "s3/s3_credentials.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::string_view profile : {"default", "prod"}) {
    auto creds = ParseSharedCredentials(text, profile, "credentials");
    if (!creds.ok()) continue;
    for (const std::string* v : {&creds->access_key_id, &creds->secret_access_key,
                                 &creds->session_token}) {
      for (char c : *v)
        if (c == '\r' || c == '\n' || c == '\0') std::abort();
    }
  }
  return 0;
}
