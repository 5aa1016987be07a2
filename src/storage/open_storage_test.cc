// OpenStorage's dispatch and option checks (the backends themselves have
// their own tests, against real servers).
#include "storage/open_storage.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(ParseStorageOptionsTest, KeyValuePairs) {
  auto opts = ParseStorageOptions({"s3.region=eu-central-1", "s3.connections=8", "s3.cacert="});
  ASSERT_TRUE(opts.ok());
  EXPECT_EQ(opts->at("s3.region"), "eu-central-1");
  EXPECT_EQ(opts->at("s3.connections"), "8");
  EXPECT_EQ(opts->at("s3.cacert"), "");
  EXPECT_EQ(ParseStorageOptions({"novalue"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseStorageOptions({"=x"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseStorageOptions({"a.b=1", "a.b=2"}).status().code(), Code::kInvalidArgument);
}

TEST(OpenStorageTest, OptionsMustMatchTheKindOfStorage) {
  auto local = OpenStorage("memory:open-storage-test", {{"s3.region", "x"}});
  ASSERT_FALSE(local.ok());
  EXPECT_EQ(local.status().code(), Code::kInvalidArgument);
  EXPECT_NE(local.status().message().find("s3.region"), std::string::npos);
  auto sftp = OpenStorage("sftp:host:/path", {{"s3.region", "x"}});
  ASSERT_FALSE(sftp.ok());
  EXPECT_NE(sftp.status().message().find("does not apply"), std::string::npos);
  auto unknown = OpenStorage("s3:http://127.0.0.1:1/bucket", {{"s3.no-such-option", "1"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
}

TEST(OpenStorageTest, LocalAndMemoryLocationsOpen) {
  auto mem = OpenStorage("memory:open-storage-test");
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ((*mem)->Location(), "memory:open-storage-test");
}

}  // namespace
}  // namespace lifeboat
