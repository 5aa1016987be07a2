// Exponential backoff with full jitter: bounds, growth, cap, spread.
#include "s3/retry_policy.h"

#include <gtest/gtest.h>

#include <set>

namespace lifeboat {
namespace {

using std::chrono::milliseconds;

TEST(RetryPolicyTest, MaxDelayDoublesUpToTheCap) {
  RetryPolicy p;  // 100 ms base, 3 s cap
  EXPECT_EQ(p.MaxDelay(0), milliseconds(100));
  EXPECT_EQ(p.MaxDelay(1), milliseconds(200));
  EXPECT_EQ(p.MaxDelay(4), milliseconds(1600));
  EXPECT_EQ(p.MaxDelay(5), milliseconds(3000));
  EXPECT_EQ(p.MaxDelay(1000), milliseconds(3000));  // no overflow
  EXPECT_EQ(p.MaxDelay(-1), milliseconds(0));
}

TEST(RetryPolicyTest, DelaysAreJitteredWithinBounds) {
  RetryPolicy p;
  std::mt19937_64 rng(42);
  for (int retry = 0; retry < 8; ++retry) {
    std::set<int64_t> seen;
    for (int i = 0; i < 200; ++i) {
      const milliseconds d = p.Delay(retry, rng);
      ASSERT_GE(d.count(), 0);
      ASSERT_LE(d, p.MaxDelay(retry));
      seen.insert(d.count());
    }
    EXPECT_GT(seen.size(), 20u) << "retry " << retry << ": delays should spread (full jitter)";
  }
}

TEST(RetryPolicyTest, WorstCaseTotalIsBounded) {
  // The default policy never sleeps more than ~6 s in total for one request.
  RetryPolicy p;
  milliseconds total{0};
  for (int retry = 0; retry + 1 < p.max_attempts; ++retry) total += p.MaxDelay(retry);
  EXPECT_LE(total, milliseconds(6500));
}

TEST(RetryPolicyTest, OnlyUnavailableIsRetryable) {
  EXPECT_TRUE(IsRetryable(Status(Code::kUnavailable, "503")));
  for (Code c : {Code::kNotFound, Code::kPermissionDenied, Code::kIoError, Code::kCorrupt,
                 Code::kInvalidArgument}) {
    EXPECT_FALSE(IsRetryable(Status(c, "x")));
  }
}

}  // namespace
}  // namespace lifeboat
