#include "s3/s3_errors.h"

#include "s3/s3_url.h"
#include "s3/s3_xml.h"

namespace lifeboat {
namespace {

constexpr std::string_view kCredentialsHint =
    "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the credentials file and profile)";

std::string HeaderOr(const std::map<std::string, std::string>& headers, const std::string& name) {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : SanitizeForMessage(it->second, 64);
}

}  // namespace

std::string DescribeRequest(const S3RequestContext& ctx) {
  std::string out = "unable to " + ctx.action;
  if (ctx.object == "bucket") {
    out += " bucket '" + ctx.bucket + "'";
  } else if (!ctx.object.empty()) {
    out += " " + ctx.object + (ctx.action == "save" ? " to" : " in") + " bucket '" + ctx.bucket + "'";
  } else {
    out += " in bucket '" + ctx.bucket + "'";
  }
  return out;
}

std::string RegionFromError(long http_status, ByteView body,
                            const std::map<std::string, std::string>& headers) {
  std::string region = HeaderOr(headers, "x-amz-bucket-region");
  if (!IsValidRegion(region)) region.clear();
  if (!region.empty()) return region;
  const std::optional<S3ErrorBody> err = ParseS3Error(body);
  if (!err) return "";
  if (IsValidRegion(err->region)) return err->region;
  if (http_status == 301 && !err->endpoint.empty()) {
    // "bucket.s3.eu-west-1.amazonaws.com" names the region.
    return RegionFromHost(err->endpoint);
  }
  return "";
}

Status StatusFromS3Response(long http_status, ByteView body,
                            const std::map<std::string, std::string>& headers,
                            const S3RequestContext& ctx) {
  const std::optional<S3ErrorBody> parsed = ParseS3Error(body);
  const S3ErrorBody err = parsed.value_or(S3ErrorBody{});
  const std::string what = DescribeRequest(ctx);
  std::string detail = "HTTP " + std::to_string(http_status);
  if (!err.code.empty()) {
    detail = err.code + (err.message.empty() ? "" : ": " + err.message) + ", " + detail;
  }
  auto make = [&](Code code, const std::string& reason, std::string hint = {}) {
    return Status(code, what + ": " + reason + " (" + detail + ")", std::move(hint));
  };
  const std::string& c = err.code;

  // Wrong region: AWS redirects (301) or refuses the signature's region (400).
  if (http_status == 301 || http_status == 307 || c == "PermanentRedirect" ||
      c == "AuthorizationHeaderMalformed" || c == "IllegalLocationConstraintException") {
    const std::string region = RegionFromError(http_status, body, headers);
    if (!region.empty() && region != ctx.region) {
      return make(Code::kInvalidArgument,
                  "bucket '" + ctx.bucket + "' is in region " + region + ", not " + ctx.region,
                  "pass -o s3.region=" + region + " (or set AWS_REGION=" + region + ")");
    }
    if (http_status == 301 || http_status == 307) {
      return make(Code::kInvalidArgument, "the server redirects this bucket elsewhere",
                  err.endpoint.empty() ? "check the endpoint and -o s3.region"
                                       : "use the endpoint " + err.endpoint);
    }
  }
  if (http_status == 429 || c == "SlowDown" || c == "RequestTimeout" || c == "OperationAborted" ||
      c == "InternalError" || c == "XAmzContentSHA256Mismatch" || c == "BadDigest") {
    return make(Code::kUnavailable, "the server asks to try again");
  }
  if (http_status >= 500 && http_status != 501 && http_status != 505) {
    return make(Code::kUnavailable, "server error");
  }
  switch (http_status) {
    case 400:
      if (c == "ExpiredToken" || c == "InvalidToken" || c == "TokenRefreshRequired") {
        return make(Code::kPermissionDenied, "the session token was refused",
                    "refresh AWS_SESSION_TOKEN (or aws_session_token in the credentials file)");
      }
      return make(Code::kIoError, "the server refused the request");
    case 403:
      if (c == "InvalidAccessKeyId" || c == "SignatureDoesNotMatch") {
        return make(Code::kPermissionDenied, "the server refused the credentials",
                    std::string(kCredentialsHint));
      }
      if (c == "RequestTimeTooSkewed") {
        return make(Code::kPermissionDenied, "the clocks of this machine and the server differ",
                    "synchronise the system clock (NTP)");
      }
      if (c == "AccessDenied" || c == "AllAccessDisabled") {
        return make(Code::kPermissionDenied, "access denied",
                    "check that these credentials may access bucket '" + ctx.bucket +
                        "' (bucket policy, IAM policy)");
      }
      return make(Code::kPermissionDenied, "access denied",
                  std::string(kCredentialsHint) + ", and the bucket's permissions");
    case 404:
      if (c == "NoSuchBucket") {
        return make(Code::kNotFound, "bucket '" + ctx.bucket + "' does not exist",
                    "check the repository URL; `init` creates the bucket");
      }
      if (c == "NoSuchUpload") return make(Code::kNotFound, "the multipart upload does not exist");
      return make(Code::kNotFound, "object not found");
    case 405:
    case 501:
      return make(Code::kIoError, "the server does not support this operation");
    case 409:
      if (c == "BucketAlreadyExists") {
        return make(Code::kInvalidArgument,
                    "bucket name '" + ctx.bucket + "' is taken by another account",
                    "choose another bucket name");
      }
      return make(Code::kIoError, "conflict");
    case 416:
      return make(Code::kCorrupt, "the requested range is past the end of the object");
    default:
      return make(Code::kIoError, "unexpected answer from the server");
  }
}

}  // namespace lifeboat
