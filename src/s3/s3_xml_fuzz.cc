// libFuzzer target for the S3 response parsers (bodies come from the network:
// untrusted): listing pages, error bodies and multipart initiation must parse
// or fail cleanly, never crash, and what they return is bounded.
#include <cstdlib>

#include "s3/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  const ByteView body(data, size);
  auto page = ParseListObjectsV2(body);
  if (page.ok()) {
    for (const S3ListEntry& e : page->entries)
      if (e.key.size() > size) std::abort();  // nothing invented
  } else if (page.status().code() == Code::kOk) {
    std::abort();
  }
  if (auto error = ParseS3Error(body)) {
    if (error->code.size() > size || SanitizeForMessage(error->message).size() > 200 + 3)
      std::abort();
  }
  auto upload = ParseInitiateMultipartUpload(body);
  if (upload.ok() && upload->size() > size) std::abort();
  return 0;
}
