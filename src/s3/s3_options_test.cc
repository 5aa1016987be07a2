// Parsing and range checks of the s3.* options, and region resolution.
#include "s3/s3_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lifeboat {
namespace {

using ::testing::HasSubstr;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(S3OptionsTest, Defaults) {
  Result<S3Options> o = ParseS3Options({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->connections, 5);
  EXPECT_EQ(o->retry.max_attempts, 6);
  EXPECT_EQ(o->multipart_threshold, 64 * kMiB);
  EXPECT_EQ(o->bucket_lookup, BucketLookup::kAuto);
  EXPECT_EQ(o->lock_mode, ObjectLockMode::kNone);
}

TEST(S3OptionsTest, ParsesEveryOption) {
  Result<S3Options> o = ParseS3Options({{"s3.region", "eu-west-1"},
                                        {"s3.bucket-lookup", "dns"},
                                        {"s3.profile", "backup"},
                                        {"s3.connections", "12"},
                                        {"s3.retries", "3"},
                                        {"s3.multipart-threshold", "100MiB"},
                                        {"s3.cacert", "/etc/ca.pem"},
                                        {"s3.object-lock-mode", "compliance"},
                                        {"s3.object-lock-days", "30"},
                                        {"sftp.command", "not ours"}});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->region, "eu-west-1");
  EXPECT_EQ(o->bucket_lookup, BucketLookup::kDns);
  EXPECT_EQ(o->profile, "backup");
  EXPECT_EQ(o->connections, 12);
  EXPECT_EQ(o->retry.max_attempts, 3);
  EXPECT_EQ(o->multipart_threshold, 100 * kMiB);
  EXPECT_EQ(o->cacert, "/etc/ca.pem");
  EXPECT_EQ(o->lock_mode, ObjectLockMode::kCompliance);
  EXPECT_EQ(o->lock_days, 30);
}

TEST(S3OptionsTest, UnknownS3KeysAreErrors) {
  Result<S3Options> o = ParseS3Options({{"s3.conections", "4"}});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(o.status().message(), HasSubstr("s3.conections"));
  EXPECT_THAT(o.status().hint(), HasSubstr("s3.connections"));
}

TEST(S3OptionsTest, RejectsOutOfRangeValues) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"s3.connections", "0"},
           {"s3.connections", "65"},
           {"s3.connections", "-1"},
           {"s3.connections", "five"},
           {"s3.retries", "0"},
           {"s3.retries", "21"},
           {"s3.multipart-threshold", "4MiB"},
           {"s3.multipart-threshold", "6GiB"},
           {"s3.multipart-threshold", "10XB"},
           {"s3.multipart-threshold", ""},
           {"s3.region", "EU West"},
           {"s3.region", ""},
           {"s3.bucket-lookup", "virtual"},
           {"s3.object-lock-mode", "legal-hold"},
           {"s3.profile", "a]b"},
           {"s3.cacert", ""}}) {
    Result<S3Options> o = ParseS3Options({{key, value}});
    EXPECT_FALSE(o.ok()) << key << "=" << value;
    if (!o.ok()) {
      EXPECT_THAT(o.status().message(), HasSubstr(key));
    }
  }
  // Lock mode and days go together; days are bounded.
  EXPECT_FALSE(ParseS3Options({{"s3.object-lock-mode", "governance"}}).ok());
  EXPECT_FALSE(ParseS3Options({{"s3.object-lock-days", "3"}}).ok());
  EXPECT_FALSE(
      ParseS3Options({{"s3.object-lock-mode", "governance"}, {"s3.object-lock-days", "0"}}).ok());
  EXPECT_FALSE(
      ParseS3Options({{"s3.object-lock-mode", "governance"}, {"s3.object-lock-days", "36501"}}).ok());
}

TEST(S3OptionsTest, ByteSizes) {
  EXPECT_EQ(ParseByteSize("123"), 123u);
  EXPECT_EQ(ParseByteSize("8K"), 8192u);
  EXPECT_EQ(ParseByteSize("64MiB"), 64 * kMiB);
  EXPECT_EQ(ParseByteSize("2G"), 2048 * kMiB);
  EXPECT_FALSE(ParseByteSize("").has_value());
  EXPECT_FALSE(ParseByteSize("M").has_value());
  EXPECT_FALSE(ParseByteSize("1.5M").has_value());
  EXPECT_FALSE(ParseByteSize("99999999999999999999").has_value());
  EXPECT_FALSE(ParseByteSize("999999999999999999G").has_value());
}

TEST(S3OptionsTest, RegionResolution) {
  S3Options o;
  EXPECT_EQ(*ResolveRegion(o, FakeEnv({})), "us-east-1");
  EXPECT_EQ(*ResolveRegion(o, FakeEnv({{"AWS_DEFAULT_REGION", "eu-north-1"}})), "eu-north-1");
  EXPECT_EQ(*ResolveRegion(o, FakeEnv({{"AWS_REGION", "ap-east-1"},
                                       {"AWS_DEFAULT_REGION", "eu-north-1"}})),
            "ap-east-1");
  o.region = "us-west-2";
  EXPECT_EQ(*ResolveRegion(o, FakeEnv({{"AWS_REGION", "ap-east-1"}})), "us-west-2");
  o.region.clear();
  EXPECT_EQ(ResolveRegion(o, FakeEnv({{"AWS_REGION", "bad region"}})).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat
