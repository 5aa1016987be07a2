// S3Backend: a repository in an S3-compatible bucket, under an optional key
// prefix, with the same layout as LocalBackend:
//   PREFIX/config, PREFIX/keys/NAME, PREFIX/data/NN/NAME (NN = first two
//   characters of NAME), PREFIX/index/NAME, PREFIX/snapshots/NAME, PREFIX/locks/NAME
//
// Requests go through S3HttpClient (libcurl, SigV4 signed by libcurl, TLS
// verified, at most s3.connections at once, connections reused). Every
// request carries x-amz-content-sha256 with the hex SHA-256 of its body
// (never aws-chunked). Transient failures are retried per s3.retries with
// exponential backoff and full jitter (RetryPolicy); other errors are not.
//
// Semantics beyond backend.h:
//  - Save is one PUT (atomic on S3) up to s3.multipart-threshold, else a
//    multipart upload with parts of min(16 MiB, threshold) that becomes
//    visible only on completion and is aborted on failure.
//  - Load uses a Range GET; a range past the end (416, or a Content-Range
//    total too small) is kCorrupt, a body cut short in transit is retried.
//  - Remove sends HEAD first (S3 answers 204 to a DELETE of a missing key, and
//    the contract wants kNotFound), then DELETE; a race with another remover
//    between the two is reported as success.
//  - Create creates the bucket when it does not exist (with Object Lock
//    enabled when s3.object-lock-mode is set) and fails with kAlreadyExists
//    when PREFIX/config exists.
//  - Object Lock (s3.object-lock-mode/-days): every PUT and multipart
//    initiate carries x-amz-object-lock-mode and
//    x-amz-object-lock-retain-until-date (now + days, ISO 8601 UTC); PUTs and
//    parts also carry Content-MD5, the integrity header AWS requires for
//    locked writes (chosen over x-amz-checksum-sha256 because every
//    S3-compatible server understands it, and x-amz-content-sha256 already
//    protects the body end to end). A DELETE the server refuses (403) for an
//    object under retention is kPermissionDenied with a message saying so;
//    note that on a versioned AWS bucket a plain DELETE of a locked object
//    succeeds by adding a delete marker, while the locked version stays.
//
// Ownership: owns its HTTP client. Thread-safety: all methods may be called
// concurrently.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "backend/backend.h"
#include "s3/s3_credentials.h"
#include "s3/s3_errors.h"
#include "s3/s3_http_client.h"
#include "s3/s3_options.h"
#include "s3/s3_url.h"

namespace lifeboat {

class S3Backend final : public Backend {
 public:
  struct Config {
    S3Url url;
    bool virtual_hosted = false;
    std::string region;
    S3Options options;
    S3Credentials credentials;
    std::string cacert;  // resolved from s3.cacert or LIFEBOAT_CACERT
  };

  explicit S3Backend(Config config);

  std::string Location() const override { return config_.url.ToString(); }
  // object_lock: when s3.object-lock-mode is set (writes carry a retention).
  BackendCapabilities Capabilities() const override {
    return {.durable = true,
            .local = false,
            .object_lock = config_.options.lock_mode != ObjectLockMode::kNone,
            .connections = config_.options.connections};
  }

  Status Create() override;
  Status Save(const ObjectName& name, ByteView data) override;
  Result<Bytes> Load(const ObjectName& name, uint64_t offset = 0, uint64_t length = 0) override;
  Result<uint64_t> Stat(const ObjectName& name) override;
  Status Remove(const ObjectName& name) override;
  Status List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status ListPrefix(ObjectType type, std::string_view name_prefix,
                    const std::function<Status(const ObjectInfo&)>& fn) override;

  // The Object Lock retention of `name` in unix seconds (from HEAD's
  // x-amz-object-lock-retain-until-date), nullopt when it has none, so prune
  // can skip locked objects. kNotFound for a missing object, kCorrupt for a
  // malformed date.
  Result<std::optional<int64_t>> RetainUntil(const ObjectName& name) override;

  // The object key of `name` (prefix included). Does not validate.
  std::string KeyOf(const ObjectName& name) const;
  // HTTP requests sent so far, retries included (for tests).
  int64_t RequestsSent() const { return requests_.load(); }
  const S3HttpClient& http() const { return *http_; }

 private:
  // List below TypePrefix(type) + name_prefix (ListObjectsV2 pages).
  Status ListKeys(ObjectType type, std::string_view name_prefix,
                  const std::function<Status(const ObjectInfo&)>& fn);
  S3RequestContext Context(std::string_view action, std::string object) const;
  std::string TypePrefix(ObjectType type) const;
  std::optional<std::string> NameFromKey(ObjectType type, std::string_view key) const;

  // One attempt through the client, counted.
  Result<HttpResponse> Send(const HttpRequest& request, const S3RequestContext& ctx);
  // Calls `attempt` until it succeeds, fails permanently or the attempts
  // run out (then the last error, saying how many attempts were made).
  template <typename T, typename Fn>
  Result<T> Retry(Fn&& attempt);

  // HEAD of an object: the 2xx answer, kNotFound, or another error.
  Result<HttpResponse> Head(const std::string& key, const S3RequestContext& ctx);
  Status CreateBucket(const S3RequestContext& ctx);
  Status SaveMultipart(const std::string& key, ByteView data, const S3RequestContext& ctx);
  void AddLockHeaders(HttpRequest& request) const;
  HttpRequest Request(std::string method, std::string url, ByteView body = {}) const;

  const Config config_;
  const S3Endpoint endpoint_;
  std::unique_ptr<S3HttpClient> http_;
  std::atomic<int64_t> requests_{0};
};

// Opens an S3 repository. `url_rest` is what follows "s3:", e.g.
// "https://127.0.0.1:4568/bucket/some/prefix"; `options` may hold other
// backends' options, but unknown s3.* keys are kInvalidArgument. Checks the
// URL, options and credentials; contacts no server.
Result<std::unique_ptr<Backend>> OpenS3Backend(std::string_view url_rest,
                                               const std::map<std::string, std::string>& options);

// The same with an explicit environment (AWS_*, LIFEBOAT_CACERT, HOME).
Result<std::unique_ptr<S3Backend>> OpenS3BackendWithEnv(
    std::string_view url_rest, const std::map<std::string, std::string>& options,
    const EnvLookup& env);

// "2026-11-22T10:00:00Z" for unix seconds.
std::string FormatIso8601(int64_t unix_seconds);
// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)"; nullopt when malformed.
std::optional<int64_t> ParseIso8601(std::string_view text);

}  // namespace lifeboat
