// S3 URL parsing, addressing style, URI encoding and canonical queries.
#include "s3/s3_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lifeboat {
namespace {

using ::testing::HasSubstr;

TEST(S3UrlTest, ParsesHostPortBucketPrefix) {
  Result<S3Url> u = ParseS3Url("https://127.0.0.1:4568/bucket/some/prefix/");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 4568);
  EXPECT_EQ(u->bucket, "bucket");
  EXPECT_EQ(u->prefix, "some/prefix");
  EXPECT_EQ(u->ToString(), "s3:https://127.0.0.1:4568/bucket/some/prefix");
  EXPECT_TRUE(u->IsLoopback());

  u = ParseS3Url("http://S3.Example.COM/b");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->https);
  EXPECT_EQ(u->host, "s3.example.com");
  EXPECT_EQ(u->port, 0);
  EXPECT_EQ(u->prefix, "");
  EXPECT_FALSE(u->IsLoopback());

  u = ParseS3Url("https://[::1]:9000/b/p");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "[::1]");
  EXPECT_EQ(u->port, 9000);
  EXPECT_TRUE(u->IsLoopback());
}

TEST(S3UrlTest, RejectsMalformedUrls) {
  for (const char* bad :
       {"", "ftp://h/b", "https://", "https:///b", "https://h", "https://h/", "https://h:/b",
        "https://h:0/b", "https://h:70000/b", "https://h:12a/b", "https://h/b/a//c",
        "https://h/b/../x", "https://h/b/./x", "https://h/b?x=1", "https://h/b#f",
        "https://h/b/%2e", "https://h/b c", "https://h/b/\x01", "https://h_x/b",
        "https://[::1/b", "https://[zz]/b", "https://h/b*d", "https://h/b\\c"}) {
    Result<S3Url> u = ParseS3Url(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), Code::kInvalidArgument) << bad;
    }
  }
}

TEST(S3UrlTest, CredentialsInTheUrlAreRefusedWithoutEchoingThem) {
  Result<S3Url> u = ParseS3Url("https://AKID:supersecret@host/bucket");
  ASSERT_FALSE(u.ok());
  EXPECT_THAT(u.status().ToString(), HasSubstr("credentials in the URL"));
  EXPECT_THAT(u.status().ToString(), ::testing::Not(HasSubstr("supersecret")));
}

TEST(S3UrlTest, AddressingStyle) {
  auto style = [](const char* url, BucketLookup lookup) {
    Result<S3Url> u = ParseS3Url(url);
    EXPECT_TRUE(u.ok()) << url;
    return UseVirtualHostedStyle(*u, lookup);
  };
  EXPECT_TRUE(*style("https://s3.eu-west-1.amazonaws.com/my-bucket", BucketLookup::kAuto));
  EXPECT_FALSE(*style("https://s3.amazonaws.com/my.dotted.bucket", BucketLookup::kAuto));
  EXPECT_FALSE(*style("https://s3.amazonaws.com/Upper_Case", BucketLookup::kAuto));
  EXPECT_FALSE(*style("https://minio.local:9000/bucket", BucketLookup::kAuto));
  EXPECT_FALSE(*style("https://127.0.0.1/bucket", BucketLookup::kAuto));
  EXPECT_TRUE(*style("https://minio.local:9000/bucket", BucketLookup::kDns));
  EXPECT_FALSE(*style("https://s3.amazonaws.com/bucket", BucketLookup::kPath));
  EXPECT_EQ(style("https://127.0.0.1/bucket", BucketLookup::kDns).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(style("https://host/Bad_Bucket", BucketLookup::kDns).status().code(),
            Code::kInvalidArgument);
}

TEST(S3UrlTest, RegionFromHost) {
  EXPECT_EQ(RegionFromHost("s3.eu-west-1.amazonaws.com"), "eu-west-1");
  EXPECT_EQ(RegionFromHost("s3-us-west-2.amazonaws.com"), "us-west-2");
  EXPECT_EQ(RegionFromHost("bkt.s3.ap-south-1.amazonaws.com"), "ap-south-1");
  EXPECT_EQ(RegionFromHost("s3.dualstack.eu-central-1.amazonaws.com"), "eu-central-1");
  EXPECT_EQ(RegionFromHost("s3.amazonaws.com"), "");
  EXPECT_EQ(RegionFromHost("minio.local"), "");
  EXPECT_EQ(RegionFromHost("evils3.x.amazonaws.com"), "");
}

TEST(S3UrlTest, UriEncode) {
  EXPECT_EQ(UriEncode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(UriEncode("a b+c/d=é", false), "a%20b%2Bc%2Fd%3D%C3%A9");
  EXPECT_EQ(UriEncode("p/data/ab/abc", true), "p/data/ab/abc");
}

TEST(S3UrlTest, CanonicalQueryIsSortedAndEncoded) {
  EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(CanonicalQuery({{"uploadId", "a+b/c="}, {"partNumber", "2"}}),
            "partNumber=2&uploadId=a%2Bb%2Fc%3D");
  EXPECT_EQ(CanonicalQuery({{"prefix", "p/keys/"}, {"list-type", "2"}, {"continuation-token", "x y"}}),
            "continuation-token=x%20y&list-type=2&prefix=p%2Fkeys%2F");
  EXPECT_EQ(CanonicalQuery({}), "");
}

TEST(S3UrlTest, EndpointUrls) {
  S3Url u = *ParseS3Url("http://127.0.0.1:4568/bkt/pre");
  S3Endpoint path(u, false);
  EXPECT_EQ(path.ObjectUrl("pre/data/ab/abc"), "http://127.0.0.1:4568/bkt/pre/data/ab/abc");
  EXPECT_EQ(path.ObjectUrl("pre/config", "uploads="), "http://127.0.0.1:4568/bkt/pre/config?uploads=");
  EXPECT_EQ(path.BucketUrl("list-type=2"), "http://127.0.0.1:4568/bkt?list-type=2");
  EXPECT_EQ(path.BucketUrl(), "http://127.0.0.1:4568/bkt");

  S3Url aws = *ParseS3Url("https://s3.eu-west-1.amazonaws.com/my-bucket/p");
  S3Endpoint vhost(aws, true);
  EXPECT_EQ(vhost.ObjectUrl("x y/config"), "https://my-bucket.s3.eu-west-1.amazonaws.com/x%20y/config");
  EXPECT_EQ(vhost.BucketUrl("list-type=2"),
            "https://my-bucket.s3.eu-west-1.amazonaws.com/?list-type=2");
}

}  // namespace
}  // namespace lifeboat
