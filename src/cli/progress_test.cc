// The samplers that turn an operation's live counters into progress lines.
#include "cli/progress.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(StreamBackupSamplerTest, TotalsFollowWhatWasReadWithoutAnEstimate) {
  ArchiveProgress p;
  p.files_done = 2;
  p.bytes_done = 5000;
  p.bytes_added = 3 << 20;
  ProgressSample s = StreamBackupSampler(p)();
  EXPECT_EQ(s.files_done, 2u);
  EXPECT_EQ(s.files_total, 2u);
  EXPECT_EQ(s.bytes_done, 5000u);
  EXPECT_EQ(s.bytes_total, 5000u);
  EXPECT_FALSE(s.total_known);
  EXPECT_EQ(s.extra, "added " + FormatBytes(3 << 20));
}

TEST(StreamBackupSamplerTest, AnEstimateIsTheTotalUntilTheReadPassesIt) {
  ArchiveProgress p;
  std::atomic<uint64_t> estimated{0};
  auto sample = StreamBackupSampler(p, &estimated);
  p.bytes_done = 100;
  EXPECT_FALSE(sample().total_known) << "0 means no estimate";
  EXPECT_EQ(sample().bytes_total, 100u);
  estimated = 1000;  // the estimate may arrive after the sampler was made
  ProgressSample s = sample();
  EXPECT_TRUE(s.total_known);
  EXPECT_EQ(s.bytes_total, 1000u);
  p.bytes_done = 1500;  // estimates can be low
  EXPECT_EQ(sample().bytes_total, 1500u);
}

}  // namespace
}  // namespace lifeboat
