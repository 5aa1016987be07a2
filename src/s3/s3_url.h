// S3Url: where an S3 repository lives ("s3:https://HOST[:PORT]/BUCKET[/PREFIX]")
// and how request URLs for it are built: path-style or virtual-hosted-style
// addressing, AWS SigV4 URI encoding of keys and canonical (sorted, encoded)
// query strings. libcurl 7.88 signs the path and query exactly as given, so
// everything built here is already in canonical form.
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "s3/s3_options.h"

namespace lifeboat {

struct S3Url {
  bool https = true;
  std::string host;   // lowercase host name, IPv4 address or "[IPv6]"
  uint16_t port = 0;  // 0: the scheme's default
  std::string bucket;
  std::string prefix;  // "" or "a/b": no leading, trailing or doubled '/'

  // "s3:https://host[:port]/bucket[/prefix]" (never contains credentials).
  std::string ToString() const;
  // True for hosts that only this machine can reach (127.0.0.0/8, ::1, localhost).
  bool IsLoopback() const;
};

// Parses what follows "s3:". Rejects other schemes, user info ("user@"),
// queries, fragments, '%' escapes, "." and ".." prefix segments, control
// characters and invalid bucket names; kInvalidArgument says which.
Result<S3Url> ParseS3Url(std::string_view url_rest);

// Virtual-hosted style for `lookup` (auto: for *.amazonaws.com hosts with a
// DNS-compatible bucket name). kInvalidArgument when dns is forced but the
// host is an IP address or the bucket name cannot be a host label.
Result<bool> UseVirtualHostedStyle(const S3Url& url, BucketLookup lookup);

// The region named by an AWS endpoint host ("s3.eu-west-1.amazonaws.com",
// "s3-eu-west-1.amazonaws.com", "s3.dualstack.eu-west-1.amazonaws.com"), or "".
std::string RegionFromHost(std::string_view host);

// AWS SigV4 URI encoding: every byte except A-Z a-z 0-9 - _ . ~ becomes %XX
// (uppercase hex); '/' is kept when `keep_slash`.
std::string UriEncode(std::string_view text, bool keep_slash);

// A canonical query string: parameters sorted by name (then value), names
// and values URI-encoded, "name=" for empty values (curl 7.88 does none of
// this itself). E.g. {{"uploads",""}} -> "uploads=".
std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params);

// Builds request URLs for one bucket.
class S3Endpoint {
 public:
  S3Endpoint(S3Url url, bool virtual_hosted);

  const S3Url& url() const { return url_; }
  bool virtual_hosted() const { return virtual_hosted_; }

  // URL of the object `key` (the full key, prefix included), with `query`
  // (canonical, from CanonicalQuery) appended after '?' if not empty.
  std::string ObjectUrl(std::string_view key, std::string_view query = {}) const;
  // URL of the bucket itself (create, head, list).
  std::string BucketUrl(std::string_view query = {}) const;

 private:
  std::string Authority(bool with_bucket) const;

  S3Url url_;
  bool virtual_hosted_;
};

}  // namespace lifeboat
