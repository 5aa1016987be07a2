// Mapping of S3 answers and libcurl failures to Status codes and messages.
#include "s3/s3_errors.h"

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "s3/s3_http_client.h"

namespace lifeboat {
namespace {

using ::testing::HasSubstr;

const S3RequestContext kCtx{"load", "data/ab12", "bkt", "us-east-1"};

Status Map(long status, const std::string& code, std::map<std::string, std::string> headers = {},
           const std::string& extra = "") {
  const std::string body =
      code.empty() ? "" : "<Error><Code>" + code + "</Code><Message>msg</Message>" + extra + "</Error>";
  return StatusFromS3Response(status, AsBytes(body), headers, kCtx);
}

TEST(S3ErrorsTest, MessagesNameActionObjectAndBucket) {
  Status s = Map(404, "NoSuchKey");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "unable to load data/ab12 in bucket 'bkt': object not found (NoSuchKey: msg, HTTP 404)");
  EXPECT_EQ(DescribeRequest({"save", "keys/x", "b", ""}), "unable to save keys/x to bucket 'b'");
  EXPECT_EQ(DescribeRequest({"create", "bucket", "b", ""}), "unable to create bucket 'b'");
}

TEST(S3ErrorsTest, Table) {
  struct Case {
    long status;
    std::string code;
    Code want;
    std::string text;
  };
  for (const Case& c : std::vector<Case>{
           {404, "NoSuchBucket", Code::kNotFound, "bucket 'bkt' does not exist"},
           {404, "", Code::kNotFound, "object not found"},
           {403, "AccessDenied", Code::kPermissionDenied, "access denied"},
           {403, "InvalidAccessKeyId", Code::kPermissionDenied, "refused the credentials"},
           {403, "SignatureDoesNotMatch", Code::kPermissionDenied, "refused the credentials"},
           {403, "", Code::kPermissionDenied, "access denied"},
           {403, "RequestTimeTooSkewed", Code::kPermissionDenied, "clocks"},
           {400, "ExpiredToken", Code::kPermissionDenied, "session token"},
           {400, "RequestTimeout", Code::kUnavailable, "try again"},
           {400, "XAmzContentSHA256Mismatch", Code::kUnavailable, "try again"},
           {400, "InvalidArgument", Code::kIoError, "refused the request"},
           {409, "OperationAborted", Code::kUnavailable, "try again"},
           {409, "BucketAlreadyExists", Code::kInvalidArgument, "taken by another account"},
           {416, "InvalidRange", Code::kCorrupt, "past the end"},
           {429, "", Code::kUnavailable, ""},
           {500, "InternalError", Code::kUnavailable, ""},
           {502, "", Code::kUnavailable, "server error"},
           {503, "SlowDown", Code::kUnavailable, ""},
           {501, "NotImplemented", Code::kIoError, "does not support"},
           {405, "MethodNotAllowed", Code::kIoError, "does not support"},
           {418, "", Code::kIoError, "unexpected"},
       }) {
    Status s = Map(c.status, c.code);
    EXPECT_EQ(s.code(), c.want) << c.status << " " << c.code << ": " << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(c.text)) << c.status << " " << c.code;
    EXPECT_THAT(s.message(), HasSubstr("HTTP " + std::to_string(c.status)));
  }
}

TEST(S3ErrorsTest, CredentialErrorsHintAtTheVariables) {
  Status s = Map(403, "SignatureDoesNotMatch");
  EXPECT_THAT(s.hint(), HasSubstr("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"));
  s = Map(403, "");  // HEAD answers have no body
  EXPECT_THAT(s.hint(), HasSubstr("AWS_SECRET_ACCESS_KEY"));
}

TEST(S3ErrorsTest, WrongRegionNamesTheRightOne) {
  Status s = Map(400, "AuthorizationHeaderMalformed", {}, "<Region>eu-west-1</Region>");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("is in region eu-west-1, not us-east-1"));
  EXPECT_THAT(s.hint(), HasSubstr("s3.region=eu-west-1"));

  s = Map(301, "PermanentRedirect", {{"x-amz-bucket-region", "ap-south-1"}});
  EXPECT_THAT(s.message(), HasSubstr("region ap-south-1"));
  s = Map(301, "PermanentRedirect", {}, "<Endpoint>bkt.s3.eu-north-1.amazonaws.com</Endpoint>");
  EXPECT_THAT(s.hint(), HasSubstr("s3.region=eu-north-1"));
  s = Map(301, "", {{"x-amz-bucket-region", "not a region!"}});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("redirects"));
}

TEST(S3ErrorsTest, UntrustedBodiesAreHandled) {
  // HTML from a proxy, a truncated document, binary noise: the status decides.
  for (std::string body : {std::string("<html>502</html>"), std::string("<Error><Code>Slo"),
                           std::string("\xff\xfe\x00\x01", 4)}) {
    Status s = StatusFromS3Response(502, AsBytes(body), {}, kCtx);
    EXPECT_EQ(s.code(), Code::kUnavailable);
  }
  // Control characters from the server never reach the message.
  Status s = StatusFromS3Response(
      400, AsBytes("<Error><Code>X\x1b</Code><Message>a\x07\nb</Message></Error>"), {}, kCtx);
  EXPECT_EQ(s.message().find('\x1b'), std::string::npos);
  EXPECT_EQ(s.message().find('\x07'), std::string::npos);
}

TEST(S3ErrorsTest, TransportErrors) {
  EXPECT_EQ(TransportError(CURLE_COULDNT_CONNECT, "refused", "x").code(), Code::kUnavailable);
  EXPECT_EQ(TransportError(CURLE_OPERATION_TIMEDOUT, "slow", "x").code(), Code::kUnavailable);
  EXPECT_EQ(TransportError(CURLE_RECV_ERROR, "reset", "x").code(), Code::kUnavailable);
  EXPECT_EQ(TransportError(CURLE_PARTIAL_FILE, "short", "x").code(), Code::kUnavailable);
  EXPECT_EQ(TransportError(CURLE_GOT_NOTHING, "empty", "x").code(), Code::kUnavailable);
  Status tls = TransportError(CURLE_PEER_FAILED_VERIFICATION, "self-signed", "unable to load x");
  EXPECT_EQ(tls.code(), Code::kIoError);
  EXPECT_THAT(tls.message(), HasSubstr("TLS verification failed"));
  EXPECT_THAT(tls.hint(), HasSubstr("s3.cacert"));
  EXPECT_EQ(TransportError(CURLE_SSL_CONNECT_ERROR, "wrong version", "x").code(), Code::kIoError);
  EXPECT_EQ(TransportError(CURLE_URL_MALFORMAT, "bad", "x").code(), Code::kInvalidArgument);
}

TEST(S3ErrorsTest, ContentRange) {
  std::optional<ContentRange> r = ParseContentRange("bytes 10-19/100");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, 10u);
  EXPECT_EQ(r->last, 19u);
  EXPECT_EQ(r->total, 100u);
  r = ParseContentRange("bytes 0-0/*");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->total.has_value());
  r = ParseContentRange("bytes 0-0/0");  // inconsistent, but parsed: callers check
  ASSERT_TRUE(r.has_value());
  for (const char* bad : {"", "bytes", "bytes 5-4/10", "bytes a-4/10", "items 0-1/2", "bytes 0-1",
                          "bytes 0-1/x", "bytes -1/2", "bytes 0-99999999999999999999/1"}) {
    EXPECT_FALSE(ParseContentRange(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace lifeboat
