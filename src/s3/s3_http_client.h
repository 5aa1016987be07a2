// S3HttpClient: performs single HTTP requests to an S3 endpoint with libcurl,
// signed by libcurl's built-in AWS SigV4 (CURLOPT_AWS_SIGV4; no signer of our
// own). Retries are the caller's business (S3Backend); this class does one
// attempt and classifies transport failures: refused/reset connections,
// timeouts, stalls and short transfers are kUnavailable (worth retrying); TLS
// verification failures and malformed URLs are permanent.
//
// Connections: a pool of at most `connections` easy handles, each keeping its
// own connection alive between requests; a CURLSH shares the DNS cache and
// TLS sessions between them. Perform() blocks while all handles are busy, so
// `connections` caps concurrent requests.
//
// Secrets: the secret key and session token live only in this object and in
// libcurl's options; verbose output is never enabled.
//
// Ownership: owns the handles and the share. Thread-safety: Perform() may be
// called concurrently; the object must outlive all calls.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "s3/s3_credentials.h"

namespace lifeboat {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST or DELETE
  std::string url;             // complete and canonical (see S3Endpoint)
  // Extra headers "Name: value"; libcurl signs all of them. Must include
  // x-amz-content-sha256 (hex SHA-256 of `body`).
  std::vector<std::string> headers;
  ByteView body;  // PUT and POST only; must outlive Perform()
  // "first-last" or "first-" for a Range header, or empty.
  std::string range;
  // A longer response body fails the request with kCorrupt.
  size_t max_body = 64u << 10;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lowercased; the last value wins
  Bytes body;
};

struct S3HttpConfig {
  std::string region;  // signing region
  S3Credentials credentials;
  std::string cacert;  // PEM bundle to verify TLS servers with; "" = system store
  int connections = 5;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::seconds stall_timeout{60};
};

class S3HttpClient {
 public:
  explicit S3HttpClient(S3HttpConfig config);
  ~S3HttpClient();
  S3HttpClient(const S3HttpClient&) = delete;
  S3HttpClient& operator=(const S3HttpClient&) = delete;

  // One attempt. A response with any HTTP status is a success here; failures
  // are transport errors, described with `what` (e.g. "unable to load data/ab
  // from bucket 'b'").
  Result<HttpResponse> Perform(const HttpRequest& request, std::string_view what);

  // Handles created so far (for tests of connection reuse).
  int HandlesCreated() const;

 private:
  struct Share;
  void* Acquire();
  void Release(void* handle);

  const S3HttpConfig config_;
  const std::string sigv4_;  // "aws:amz:REGION:s3"
  std::unique_ptr<Share> share_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<void*> idle_;
  int in_use_ = 0;
  int created_ = 0;
};

// A Content-Range header: "bytes FIRST-LAST/TOTAL" (TOTAL may be '*').
struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;
  std::optional<uint64_t> total;
};
// nullopt when malformed (or LAST < FIRST); does not check LAST < TOTAL.
std::optional<ContentRange> ParseContentRange(std::string_view value);

// Maps a libcurl result code (CURLcode as int) and its error text to a
// Status for the request described by `what`.
Status TransportError(int curl_code, std::string_view detail, std::string_view what);

}  // namespace lifeboat
