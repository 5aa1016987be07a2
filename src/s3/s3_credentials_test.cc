// Credentials from the environment and from the shared credentials file;
// secrets never appear in messages.
#include "s3/s3_credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "backend/test_temp_dir.h"

namespace lifeboat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

constexpr char kFile[] =
    "# comment\r\n"
    "; another\r\n"
    "[default]\r\n"
    "aws_access_key_id = AKIDDEFAULT\r\n"
    "aws_secret_access_key=SECRETDEFAULT\r\n"
    "\r\n"
    "[backup]\n"
    "  AWS_ACCESS_KEY_ID =  AKIDBACKUP  \n"
    "aws_secret_access_key = SECRETBACKUP\n"
    "aws_session_token = TOKENBACKUP\n"
    "region = eu-west-1\n"
    "s3 =\n"
    "  max_concurrent_requests = 20\n"
    "[broken]\n"
    "aws_access_key_id = AKIDBROKEN\n"
    "this line is nonsense SECRETLEAK\n"
    "[nosecret]\n"
    "aws_access_key_id = AKIDNOSECRET\n";

TEST(S3CredentialsTest, ParsesProfiles) {
  Result<S3Credentials> c = ParseSharedCredentials(kFile, "default", "/f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(c->secret_access_key, "SECRETDEFAULT");
  EXPECT_EQ(c->session_token, "");
  EXPECT_EQ(c->source, "/f, profile default");

  c = ParseSharedCredentials(kFile, "backup", "/f");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDBACKUP");
  EXPECT_EQ(c->secret_access_key, "SECRETBACKUP");
  EXPECT_EQ(c->session_token, "TOKENBACKUP");
}

TEST(S3CredentialsTest, ErrorsNameTheProblemButNeverAValue) {
  Result<S3Credentials> c = ParseSharedCredentials(kFile, "broken", "/f");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("line 16"));
  EXPECT_THAT(c.status().ToString(), Not(HasSubstr("SECRETLEAK")));

  c = ParseSharedCredentials(kFile, "nosecret", "/f");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("aws_secret_access_key missing"));
  EXPECT_THAT(c.status().ToString(), Not(HasSubstr("AKIDNOSECRET")));

  c = ParseSharedCredentials(kFile, "absent", "/f");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("profile 'absent' not found"));

  // A secret with a space or a control character could break a header line.
  c = ParseSharedCredentials("[default]\naws_access_key_id=A\naws_secret_access_key=SE CRET\n",
                             "default", "/f");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().ToString(), Not(HasSubstr("SE CRET")));
  c = ParseSharedCredentials("[default]\naws_access_key_id=A\naws_secret_access_key=S\n"
                             "aws_session_token=T\x01X\n",
                             "default", "/f");
  EXPECT_FALSE(c.ok());
}

TEST(S3CredentialsTest, MalformedInputDoesNotCrash) {
  for (std::string_view text : {std::string_view(""), std::string_view("["),
                                std::string_view("[default"), std::string_view("=\n=\n"),
                                std::string_view("[default]\n=", 12),
                                std::string_view("\0\0[default]\0", 13)}) {
    Result<S3Credentials> c = ParseSharedCredentials(text, "default", "/f");
    EXPECT_FALSE(c.ok());
  }
  std::string huge(200000, 'x');
  EXPECT_FALSE(ParseSharedCredentials("[default]\n" + huge, "default", "/f").ok());
}

TEST(S3CredentialsTest, EnvironmentFirst) {
  Result<S3Credentials> c = LoadS3Credentials(
      "", FakeEnv({{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "SECRET"},
                   {"AWS_SESSION_TOKEN", "TOKEN"}, {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKID");
  EXPECT_EQ(c->secret_access_key, "SECRET");
  EXPECT_EQ(c->session_token, "TOKEN");
  EXPECT_EQ(c->source, "environment");

  c = LoadS3Credentials("", FakeEnv({{"AWS_ACCESS_KEY_ID", "AKID"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("AWS_SECRET_ACCESS_KEY is not"));
}

TEST(S3CredentialsTest, FileWithProfileSelection) {
  TestTempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.path() + "/credentials";
  std::ofstream(path) << kFile;

  Result<S3Credentials> c = LoadS3Credentials("", FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", path}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDDEFAULT");

  c = LoadS3Credentials("", FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", path}, {"AWS_PROFILE", "backup"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AKIDBACKUP");

  // s3.profile wins over AWS_PROFILE and over the environment's keys.
  c = LoadS3Credentials("default", FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", path},
                                            {"AWS_PROFILE", "backup"},
                                            {"AWS_ACCESS_KEY_ID", "ENVKEY"},
                                            {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AKIDDEFAULT");

  // ~/.aws/credentials via HOME.
  ASSERT_EQ(::mkdir((dir.path() + "/.aws").c_str(), 0700), 0);
  std::ofstream(dir.path() + "/.aws/credentials") << "[default]\naws_access_key_id=H\naws_secret_access_key=S\n";
  c = LoadS3Credentials("", FakeEnv({{"HOME", dir.path()}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "H");
}

TEST(S3CredentialsTest, MissingCredentialsAreAClearError) {
  Result<S3Credentials> c = LoadS3Credentials("", FakeEnv({{"HOME", "/nonexistent-home"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("no S3 credentials"));
  EXPECT_THAT(c.status().hint(), HasSubstr("AWS_ACCESS_KEY_ID"));

  c = LoadS3Credentials("", FakeEnv({}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("no S3 credentials"));

  TestTempDir dir;
  const std::string big = dir.path() + "/big";
  std::ofstream(big) << std::string(kMaxCredentialsFileSize + 1, '#');
  c = LoadS3Credentials("", FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", big}}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("larger than 1 MiB"));
}

}  // namespace
}  // namespace lifeboat
