// S3Options: the user-settable knobs of the S3 backend (`-o s3.NAME=VALUE`),
// parsed and range-checked in one place. Unknown `s3.*` keys are errors so a
// typo never silently falls back to a default; keys of other backends (no
// "s3." prefix) are ignored.
//
//   s3.region                 signing region (else AWS_REGION, AWS_DEFAULT_REGION, us-east-1)
//   s3.bucket-lookup          auto | path | dns (auto: dns for *.amazonaws.com, else path)
//   s3.profile                profile in the shared credentials file
//   s3.connections            concurrent requests, 1..64 (default 5)
//   s3.retries                attempts per request, 1..20 (default 6)
//   s3.multipart-threshold    objects larger than this use multipart upload
//                             (default 64 MiB; 5 MiB..5 GiB; suffixes K, M, G, KiB, MiB, GiB)
//   s3.cacert                 PEM file with the CA(s) to trust (also LIFEBOAT_CACERT)
//   s3.object-lock-mode       governance | compliance (needs s3.object-lock-days)
//   s3.object-lock-days       retention in days, 1..36500 (needs s3.object-lock-mode)
//
// Thread-safety: value types and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "base/result.h"
#include "s3/retry_policy.h"

namespace lifeboat {

enum class BucketLookup { kAuto, kPath, kDns };
enum class ObjectLockMode { kNone, kGovernance, kCompliance };

inline constexpr uint64_t kMiB = 1024 * 1024;
// S3's minimum part size (except for the last part) and single-PUT maximum.
inline constexpr uint64_t kS3MinPartSize = 5 * kMiB;
inline constexpr uint64_t kS3MaxPutSize = 5 * 1024 * kMiB;

struct S3Options {
  std::string region;  // empty: not given
  BucketLookup bucket_lookup = BucketLookup::kAuto;
  std::string profile;  // empty: not given
  int connections = 5;
  // Objects up to 64 MiB (four default 16 MiB packs) go in one PUT: one
  // request, atomic, cheapest. Larger ones use multipart so that a failure
  // repeats one part (at most kMultipartPartSize) rather than the object,
  // and objects beyond S3's 5 GiB PUT limit are possible.
  uint64_t multipart_threshold = 64 * kMiB;
  std::string cacert;  // empty: not given
  ObjectLockMode lock_mode = ObjectLockMode::kNone;
  int lock_days = 0;
  RetryPolicy retry;  // retry.max_attempts is s3.retries

  // Not user options (tests shorten them): a connection attempt that takes
  // longer fails, and so does a transfer slower than 1 KiB/s for this long
  // (including waiting for the answer), so a dead server is an error in
  // bounded time.
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::seconds stall_timeout{60};
  // ListObjectsV2 max-keys; 0 leaves the server's default (1000). Tests use
  // small pages to exercise continuation tokens.
  int list_page_size = 0;
};

// Parts of a multipart upload are this size (the last one smaller), or the
// threshold if that is smaller; never under kS3MinPartSize.
inline constexpr uint64_t kMultipartPartSize = 16 * kMiB;

// Parses the s3.* entries of `options`. kInvalidArgument names the key.
Result<S3Options> ParseS3Options(const std::map<std::string, std::string>& options);

// "123", "64M", "64MiB", "1G" -> bytes. Empty or malformed: nullopt.
std::optional<uint64_t> ParseByteSize(std::string_view text);

// Reads an environment variable; nullopt when unset. Injected so that tests
// need not touch the process environment.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
EnvLookup ProcessEnv();

// The signing region: s3.region, else AWS_REGION, else AWS_DEFAULT_REGION,
// else "us-east-1". kInvalidArgument for a malformed region name.
Result<std::string> ResolveRegion(const S3Options& options, const EnvLookup& env);

// A region name is 1..64 characters of [a-z0-9-].
bool IsValidRegion(std::string_view region);

}  // namespace lifeboat
