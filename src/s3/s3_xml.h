// S3 XML documents, read with expat and written by hand: error bodies,
// ListObjectsV2 pages, InitiateMultipartUpload results and the
// CompleteMultipartUpload request. Every answer is untrusted: input size,
// nesting depth, element count and text length are capped, DOCTYPEs (and so
// entity definitions) are refused, numbers are parsed strictly.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace lifeboat {

struct XmlLimits {
  size_t max_bytes = 16u << 20;
  size_t max_depth = 16;
  size_t max_elements = 100000;
  size_t max_text = 64u << 10;  // per element
};

// Calls `on_end(path, text)` when an element closes; `path` holds the local
// names (namespace prefixes dropped) from the root to that element, `text`
// its character data. Malformed or over-limit input is kCorrupt.
Status ParseXml(ByteView xml, const XmlLimits& limits,
                const std::function<void(const std::vector<std::string>& path,
                                         const std::string& text)>& on_end);

// An S3 <Error> document.
struct S3ErrorBody {
  std::string code;     // e.g. "NoSuchKey", "SignatureDoesNotMatch"
  std::string message;  // the server's words, sanitised for messages
  std::string region;   // <Region> (AuthorizationHeaderMalformed)
  std::string endpoint; // <Endpoint> (PermanentRedirect)
};

// The error in `body`, or nullopt when it is not a well-formed <Error>
// document (empty, HTML, truncated...). Bodies over 64 KiB are not parsed.
std::optional<S3ErrorBody> ParseS3Error(ByteView body);

struct S3ListEntry {
  std::string key;
  uint64_t size = 0;
};

struct S3ListPage {
  std::vector<S3ListEntry> entries;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken, when truncated
};

// A ListObjectsV2 answer (<ListBucketResult>). kCorrupt when malformed: a
// <Contents> without <Key> or with a bad <Size>, or truncated without a
// continuation token.
Result<S3ListPage> ParseListObjectsV2(ByteView body);

// The UploadId of an <InitiateMultipartUploadResult>; kCorrupt if missing.
Result<std::string> ParseInitiateMultipartUpload(ByteView body);

// <CompleteMultipartUpload> listing parts 1..N with these ETags.
std::string BuildCompleteMultipartUpload(const std::vector<std::string>& etags);

// <CreateBucketConfiguration> naming the region (for regions other than us-east-1).
std::string BuildCreateBucketConfiguration(const std::string& region);

// Text from a server, made fit for a message: printable ASCII only (others
// become '?'), at most `max` characters (then "…").
std::string SanitizeForMessage(std::string_view text, size_t max = 200);

// Escapes & < > " ' for XML text.
std::string XmlEscape(std::string_view text);

}  // namespace lifeboat

namespace lifeboat {

// Strict unsigned decimal ("0".."18446744073709551615"); nullopt otherwise.
std::optional<uint64_t> ParseDecimal(std::string_view text);

}  // namespace lifeboat
