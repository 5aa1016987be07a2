// S3Backend without a server: opening (options, URL, credentials, CA file),
// the key layout, retention dates, and bounded failure against a closed port.
#include "s3/s3_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

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

const std::map<std::string, std::string> kKeys = {{"AWS_ACCESS_KEY_ID", "AKID"},
                                                  {"AWS_SECRET_ACCESS_KEY", "TOPSECRET"}};

// A loopback port nobody listens on (bound, then closed).
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(S3BackendTest, OpenChecksEverythingBeforeAnyRequest) {
  auto open = [](std::string url, std::map<std::string, std::string> options,
                 std::map<std::string, std::string> env = kKeys) {
    return OpenS3BackendWithEnv(url, options, FakeEnv(env));
  };
  EXPECT_TRUE(open("https://s3.example.com/b/p", {}).ok());
  EXPECT_EQ(open("https://s3.example.com/b", {{"s3.typo", "1"}}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(open("nonsense", {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(open("https://127.0.0.1/b", {{"s3.bucket-lookup", "dns"}}).status().code(),
            Code::kInvalidArgument);
  Result<std::unique_ptr<S3Backend>> r = open("https://h/b", {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("no S3 credentials"));
  r = open("https://h/b", {{"s3.cacert", "/nonexistent/ca.pem"}});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().ToString(), HasSubstr("/nonexistent/ca.pem"));
  auto env = kKeys;
  env["LIFEBOAT_CACERT"] = "/nonexistent/env-ca.pem";
  r = open("https://h/b", {}, env);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().ToString(), HasSubstr("env-ca.pem"));

  // The public entry point reads the process environment.
  EXPECT_EQ(OpenS3Backend("https://h/b", {{"s3.nope", "x"}}).status().code(),
            Code::kInvalidArgument);
}

TEST(S3BackendTest, LayoutMatchesTheLocalBackend) {
  Result<std::unique_ptr<S3Backend>> b =
      OpenS3BackendWithEnv("http://127.0.0.1:1/bkt/a/b", {}, FakeEnv(kKeys));
  ASSERT_TRUE(b.ok());
  const std::string id(64, 'c');
  EXPECT_EQ((*b)->KeyOf({ObjectType::kConfig, "config"}), "a/b/config");
  EXPECT_EQ((*b)->KeyOf({ObjectType::kPack, "ab" + id}), "a/b/data/ab/ab" + id);
  EXPECT_EQ((*b)->KeyOf({ObjectType::kKey, id}), "a/b/keys/" + id);
  EXPECT_EQ((*b)->KeyOf({ObjectType::kIndex, id}), "a/b/index/" + id);
  EXPECT_EQ((*b)->KeyOf({ObjectType::kSnapshot, id}), "a/b/snapshots/" + id);
  EXPECT_EQ((*b)->KeyOf({ObjectType::kLock, id}), "a/b/locks/" + id);
  EXPECT_EQ((*b)->Location(), "s3:http://127.0.0.1:1/bkt/a/b");
  EXPECT_FALSE((*b)->Capabilities().local);

  b = OpenS3BackendWithEnv("http://127.0.0.1:1/bkt", {}, FakeEnv(kKeys));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->KeyOf({ObjectType::kConfig, "config"}), "config");
  EXPECT_EQ((*b)->KeyOf({ObjectType::kLock, "x"}), "locks/x");
}

TEST(S3BackendTest, InvalidNamesFailBeforeAnyRequest) {
  Result<std::unique_ptr<S3Backend>> b =
      OpenS3BackendWithEnv("http://127.0.0.1:1/bkt", {}, FakeEnv(kKeys));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->Save({ObjectType::kKey, "../x"}, Bytes{1}).code(), Code::kInvalidArgument);
  EXPECT_EQ((*b)->RetainUntil({ObjectType::kKey, "a/b"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ((*b)->RequestsSent(), 0);
}

TEST(S3BackendTest, Iso8601) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso8601(1795381600), "2026-11-22T21:06:40Z");
  EXPECT_EQ(ParseIso8601("2026-11-22T21:06:40Z"), 1795381600);
  EXPECT_EQ(ParseIso8601("2026-11-22T21:06:40.123Z"), 1795381600);
  EXPECT_EQ(ParseIso8601("2026-11-22T21:06:40+00:00"), 1795381600);
  for (const char* bad : {"", "2026-11-22", "2026-11-22 21:06:40Z", "2026-13-22T21:06:40Z",
                          "2026-11-22T21:06:40", "2026-11-22T21:06:40+02:00",
                          "2026-11-22T21:06:40.Z", "x026-11-22T21:06:40Z"}) {
    EXPECT_FALSE(ParseIso8601(bad).has_value()) << bad;
  }
}

TEST(S3BackendTest, DeadServerIsAClearErrorInBoundedTime) {
  const int port = ClosedPort();
  Result<std::unique_ptr<S3Backend>> b = OpenS3BackendWithEnv(
      "http://127.0.0.1:" + std::to_string(port) + "/bkt/p", {{"s3.retries", "4"}}, FakeEnv(kKeys));
  ASSERT_TRUE(b.ok());
  const auto start = std::chrono::steady_clock::now();
  Result<uint64_t> r = (*b)->Stat({ObjectType::kKey, "abc"});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("unable to stat keys/abc in bucket 'bkt'"));
  EXPECT_THAT(r.status().message(), HasSubstr("gave up after 4 attempts"));
  EXPECT_THAT(r.status().hint(), HasSubstr("running"));
  EXPECT_THAT(r.status().ToString(), Not(HasSubstr("TOPSECRET")));
  EXPECT_EQ((*b)->RequestsSent(), 4);
  // Three backoffs of at most 100, 200 and 400 ms.
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

}  // namespace
}  // namespace lifeboat
