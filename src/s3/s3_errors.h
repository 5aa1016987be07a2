// Turns S3 answers that are not 2xx into Status values that name the action,
// the object and the bucket, with a hint for what the user can do. Answers
// worth repeating (5xx other than 501, 429, SlowDown, RequestTimeout, a body
// damaged in transit) become kUnavailable, which RetryPolicy retries; all
// other 4xx are permanent.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace lifeboat {

// What a request was doing, for messages.
struct S3RequestContext {
  std::string action;  // "load", "save", "stat", "remove", "list", "create"
  std::string object;  // "data/ab12…", "bucket" (bucket-level requests) or ""
  std::string bucket;
  std::string region;  // the region requests are signed for
};

// "unable to load data/ab12… from bucket 'b'".
std::string DescribeRequest(const S3RequestContext& ctx);

// Maps an HTTP answer with status `http_status` (not 2xx) and its (possibly
// empty, possibly not XML) body. `headers` have lowercase names.
Status StatusFromS3Response(long http_status, ByteView body,
                            const std::map<std::string, std::string>& headers,
                            const S3RequestContext& ctx);

// The region named by a redirect or AuthorizationHeaderMalformed answer ("" if none).
std::string RegionFromError(long http_status, ByteView body,
                            const std::map<std::string, std::string>& headers);

}  // namespace lifeboat
