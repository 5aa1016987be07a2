// S3Backend against real servers beyond the conformance suite: listing across
// continuation tokens, multipart upload, TLS verification with a custom CA,
// the connection cap, a server stopped and restarted (s3rver); SigV4 with the
// right and a wrong secret, signed continuation tokens and multipart (Swift).
#include <gmock/gmock.h>

#include <set>
#include <thread>

#include "backend/test_temp_dir.h"
#include "s3/integration/s3_test_servers.h"

namespace lifeboat {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using s3test::Keys;
using s3test::Open;
using s3test::Server;
using s3test::ServerInfo;
using s3test::UniquePrefix;

class ServerTest : public ::testing::Test {
 protected:
  void Require(const std::string& name) {
    info_ = Server(name);
    if (!info_.skip.empty()) GTEST_SKIP() << info_.skip;
  }
  std::string Url(const std::string& bucket = "lifeboat-it") const {
    return "http://127.0.0.1:" + std::to_string(info_.port) + "/" + bucket + "/" + UniquePrefix();
  }
  ServerInfo info_;
};

class S3rverTest : public ServerTest {
 protected:
  void SetUp() override { Require("s3rver"); }
  const std::map<std::string, std::string> keys_ = Keys("S3RVER", "S3RVER");
};

class SwiftTest : public ServerTest {
 protected:
  void SetUp() override { Require("swift"); }
  const std::map<std::string, std::string> keys_ = Keys("test:tester", "testing");
};

ObjectName Pack(uint64_t seed) { return {ObjectType::kPack, s3test::HexName(seed)}; }

// Saves `count` small objects of `type` from 8 threads.
void SaveMany(Backend& b, ObjectType type, int count) {
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        if (!b.Save({type, s3test::HexName(static_cast<uint64_t>(i))},
                    Bytes(static_cast<size_t>(i % 7), 1))
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(S3rverTest, ListingFollowsContinuationTokens) {
  auto b = Open(Url(), {}, keys_);
  ASSERT_TRUE(b->Create().ok());
  constexpr int kCount = 1100;  // more than one page of the server's 1000
  SaveMany(*b, ObjectType::kLock, kCount);
  const int64_t before = b->RequestsSent();
  Result<std::map<std::string, uint64_t>> all = ListSizes(*b, ObjectType::kLock);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), static_cast<size_t>(kCount));
  EXPECT_EQ(b->RequestsSent() - before, 2);  // two pages
  for (int i = 0; i < kCount; i += 97) {
    EXPECT_EQ(all->at(s3test::HexName(static_cast<uint64_t>(i))), static_cast<uint64_t>(i % 7));
  }
}

TEST_F(S3rverTest, MultipartUpload) {
  auto b = Open(Url(), {{"s3.multipart-threshold", "5MiB"}}, keys_);
  ASSERT_TRUE(b->Create().ok());
  const Bytes data = s3test::Pattern((11u << 20) + 3, 5);  // parts of 5, 5 and 1 MiB + 3
  const int64_t before = b->RequestsSent();
  ASSERT_TRUE(b->Save(Pack(1), data).ok());
  EXPECT_EQ(b->RequestsSent() - before, 5);  // initiate, 3 parts, complete
  Result<Bytes> back = b->Load(Pack(1));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
  Result<Bytes> across = b->Load(Pack(1), (5u << 20) - 10, 20);  // spans a part boundary
  ASSERT_TRUE(across.ok());
  EXPECT_TRUE(std::equal(across->begin(), across->end(), data.begin() + (5 << 20) - 10));
  EXPECT_EQ(*b->Stat(Pack(1)), data.size());
}

TEST_F(S3rverTest, TlsIsVerifiedAgainstACustomCa) {
  if (info_.tls_port <= 0 || info_.cert.empty()) GTEST_SKIP() << "no HTTPS instance";
  const std::string url =
      "https://127.0.0.1:" + std::to_string(info_.tls_port) + "/lifeboat-tls/" + UniquePrefix();

  // Default: the self-signed certificate is not trusted, and that is not retried.
  auto untrusted = Open(url, {}, keys_);
  Status s = untrusted->Create();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kIoError) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("TLS verification failed"));
  EXPECT_THAT(s.hint(), HasSubstr("s3.cacert"));
  EXPECT_EQ(untrusted->RequestsSent(), 1);

  auto trusted = Open(url, {{"s3.cacert", info_.cert}}, keys_);
  ASSERT_TRUE(trusted->Create().ok());
  ASSERT_TRUE(trusted->Save(Pack(2), Bytes{1, 2, 3}).ok());
  EXPECT_EQ(*trusted->Load(Pack(2)), (Bytes{1, 2, 3}));

  auto env = keys_;
  env["LIFEBOAT_CACERT"] = info_.cert;
  auto via_env = Open(url, {}, env);
  EXPECT_EQ(*via_env->Load(Pack(2)), (Bytes{1, 2, 3}));
}

TEST_F(S3rverTest, ConcurrentRequestsAreCappedAndConnectionsReused) {
  auto b = Open(Url(), {{"s3.connections", "2"}}, keys_);
  ASSERT_TRUE(b->Create().ok());
  ASSERT_TRUE(b->Save(Pack(3), s3test::Pattern(100000, 3)).ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        if (!b->Load(Pack(3)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(b->http().HandlesCreated(), 2);
}

// Repositories under different prefixes of one new bucket, created at the
// same time (as the conformance tests do under ctest -j): every Create
// succeeds although all but one find the bucket created since their HEAD
// (s3rver then answers BucketAlreadyExists, not BucketAlreadyOwnedByYou).
TEST_F(S3rverTest, ConcurrentCreatesOfOneNewBucketAllSucceed) {
  const std::string bucket = "lifeboat-race-" + UniquePrefix();
  std::vector<std::unique_ptr<S3Backend>> backends;
  for (int i = 0; i < 6; ++i) backends.push_back(Open(Url(bucket), {}, keys_));
  std::vector<Status> results(backends.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < backends.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = backends[i]->Create(); });
  }
  for (auto& th : threads) th.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
}

// Stops a private s3rver under a running backend and starts it again.
TEST_F(S3rverTest, ServerStoppedThenRestarted) {
  TestTempDir tmp;
  const std::string state = tmp.path() + "/own";
  ASSERT_TRUE(s3test::RunScript("s3rver.sh start " + state)) << "could not start a private s3rver";
  struct Stopper {
    std::string state;
    ~Stopper() { s3test::RunScript("s3rver.sh stop " + state); }
  } stopper{state};
  const std::string port = s3test::ReadFirstLine(state + "/port");
  const std::string url = "http://127.0.0.1:" + port + "/lifeboat-fault/p";
  auto b = Open(url, {{"s3.retries", "3"}}, keys_);
  ASSERT_TRUE(b->Create().ok());
  const Bytes data = s3test::Pattern(5000, 9);
  ASSERT_TRUE(b->Save(Pack(4), data).ok());

  // Down: a clear error in bounded time, naming the object and the bucket.
  ASSERT_TRUE(s3test::RunScript("s3rver.sh kill " + state));
  const auto start = std::chrono::steady_clock::now();
  Result<Bytes> failed = b->Load(Pack(4));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kUnavailable);
  EXPECT_THAT(failed.status().message(), HasSubstr("unable to load " + Pack(4).ToString()));
  EXPECT_THAT(failed.status().message(), HasSubstr("bucket 'lifeboat-fault'"));
  EXPECT_THAT(failed.status().message(), HasSubstr("gave up after 3 attempts"));

  // Up again: the next call succeeds on the pooled handles.
  ASSERT_TRUE(s3test::RunScript("s3rver.sh start " + state));
  Result<Bytes> back = b->Load(Pack(4));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);

  // Down while a call is in flight and back during its retries: the call succeeds.
  ASSERT_TRUE(s3test::RunScript("s3rver.sh kill " + state));
  auto patient = Open(url, {}, keys_, [](S3Options& o) {
    o.retry.max_attempts = 20;
    o.retry.cap = std::chrono::milliseconds(1000);
  });
  std::thread restarter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    s3test::RunScript("s3rver.sh start " + state);
  });
  Result<Bytes> retried = patient->Load(Pack(4));
  restarter.join();
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_TRUE(*retried == data);
  EXPECT_GT(patient->RequestsSent(), 1);
}

TEST_F(SwiftTest, SigV4IsAcceptedWithTheRightSecret) {
  // Small pages: the continuation token (with '/', '+', '=') is part of the signed query.
  auto b = Open(Url(), {}, keys_, [](S3Options& o) { o.list_page_size = 3; });
  ASSERT_TRUE(b->Create().ok());
  SaveMany(*b, ObjectType::kSnapshot, 8);
  const int64_t before = b->RequestsSent();
  Result<std::vector<std::string>> names = ListNames(*b, ObjectType::kSnapshot);
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_EQ(names->size(), 8u);
  EXPECT_EQ(b->RequestsSent() - before, 3);
  const ObjectName name{ObjectType::kSnapshot, s3test::HexName(3)};
  EXPECT_EQ(*b->Load(name), Bytes(3, 1));
  EXPECT_EQ(*b->Load(name, 1, 2), Bytes(2, 1));
  EXPECT_TRUE(b->Remove(name).ok());
  EXPECT_EQ(b->Stat(name).status().code(), Code::kNotFound);
}

TEST_F(SwiftTest, WrongSecretIsRefusedClearly) {
  const std::string url = Url();
  auto good = Open(url, {}, keys_);
  ASSERT_TRUE(good->Create().ok());
  ASSERT_TRUE(good->Save(Pack(5), Bytes{5}).ok());

  auto bad = Open(url, {}, Keys("test:tester", "not-the-secret"));
  for (Status s : {bad->Save(Pack(6), Bytes{6}), bad->Load(Pack(5)).status(),
                   bad->List(ObjectType::kPack, [](const ObjectInfo&) { return Status::Ok(); })}) {
    EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr("SignatureDoesNotMatch"));
    EXPECT_THAT(s.hint(), HasSubstr("AWS_SECRET_ACCESS_KEY"));
    EXPECT_THAT(s.ToString(), Not(HasSubstr("not-the-secret")));
  }
  EXPECT_EQ(bad->RequestsSent(), 3);  // never retried
  EXPECT_EQ(good->Stat(Pack(6)).status().code(), Code::kNotFound);  // nothing was written

  auto unknown = Open(url, {}, Keys("nobody:none", "x"));
  Status s = unknown->Load(Pack(5)).status();
  EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
  EXPECT_THAT(s.hint(), HasSubstr("AWS_ACCESS_KEY_ID"));
}

TEST_F(SwiftTest, MultipartUpload) {
  auto b = Open(Url(), {{"s3.multipart-threshold", "5MiB"}}, keys_);
  ASSERT_TRUE(b->Create().ok());
  const Bytes data = s3test::Pattern((10u << 20) + 12345, 6);
  const int64_t before = b->RequestsSent();
  Status saved = b->Save(Pack(7), data);
  ASSERT_TRUE(saved.ok()) << saved.ToString();
  EXPECT_EQ(b->RequestsSent() - before, 5);
  Result<Bytes> back = b->Load(Pack(7));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
  EXPECT_EQ(*b->Stat(Pack(7)), data.size());
}

}  // namespace
}  // namespace lifeboat
