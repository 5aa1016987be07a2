#include "walarchive/wal_continuity.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(WalContinuityTest, ContiguousArchiveHasNoGap) {
  EXPECT_TRUE(FindWalGaps({"000000010000000000000003", "000000010000000000000004",
                           "000000010000000000000004.00000028.backup", "00000002.history",
                           "000000010000000000000005"},
                          1, "000000010000000000000003", 16 << 20)
                  .empty());
}

TEST(WalContinuityTest, FindsGapsOnTheBackupsTimelineAcrossLogBoundaries) {
  // 16 MiB segments: 256 per log id, so ...00FF is followed by ...0100000000.
  const auto gaps = FindWalGaps({"0000000100000000000000FE", "000000010000000100000001",
                                 "000000010000000100000002", "000000010000000100000005",
                                 "000000020000000100000003"},  // another timeline: ignored
                                1, "0000000100000000000000FE", 16 << 20);
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps[0].first_missing, "0000000100000000000000FF");
  EXPECT_EQ(gaps[0].missing, 2u);  // ...00FF and ...0100000000
  EXPECT_EQ(gaps[0].next_available, "000000010000000100000001");
  EXPECT_EQ(gaps[1].first_missing, "000000010000000100000003");
  EXPECT_EQ(gaps[1].missing, 2u);
}

TEST(WalContinuityTest, TheStartSegmentItselfMissingIsAGap) {
  const auto gaps = FindWalGaps({"000000010000000000000007"}, 1, "000000010000000000000005",
                                16 << 20);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].first_missing, "000000010000000000000005");
  EXPECT_EQ(gaps[0].missing, 2u);
}

TEST(WalContinuityTest, OtherSegmentSizes) {
  // 64 MiB segments: 64 per log id.
  EXPECT_TRUE(FindWalGaps({"00000001000000000000003F", "000000010000000100000000"}, 1,
                          "00000001000000000000003F", 64 << 20)
                  .empty());
  // A segment number beyond the per-log count is not a valid name: ignored.
  EXPECT_TRUE(FindWalGaps({"000000010000000000000040"}, 1, "00000001000000000000003F", 64 << 20)
                  .empty());
}

}  // namespace
}  // namespace lifeboat
