// Tests for the retention (months) and interval (minutes) duration dialects.
#include "policy/duration.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

constexpr int64_t kDay = kNanosPerDay;

TEST(RetentionDurationTest, ParsesSingleUnits) {
  EXPECT_EQ(*ParseRetentionDuration("7d"), 7 * kDay);
  EXPECT_EQ(*ParseRetentionDuration("36h"), 36 * kNanosPerHour);
  EXPECT_EQ(*ParseRetentionDuration("2w"), 14 * kDay);
  EXPECT_EQ(*ParseRetentionDuration("1m"), 30 * kDay);  // months, not minutes
  EXPECT_EQ(*ParseRetentionDuration("1y"), 365 * kDay);
  EXPECT_EQ(*ParseRetentionDuration("0d"), 0);
}

TEST(RetentionDurationTest, ParsesCompoundTerms) {
  EXPECT_EQ(*ParseRetentionDuration("1y2m3d"), (365 + 60 + 3) * kDay);
  EXPECT_EQ(*ParseRetentionDuration("3d1y"), (365 + 3) * kDay);
  EXPECT_EQ(*ParseRetentionDuration("1d12h"), 36 * kNanosPerHour);
  EXPECT_EQ(*ParseRetentionDuration("007d"), 7 * kDay);
}

TEST(RetentionDurationTest, RejectsMalformed) {
  for (const char* bad : {"", "7", "d", "7x", "5s", "1d2", "-1d", "+1d", "1.5d", "1 d", " 1d", "1D",
                          "1dd", "99999999999999999999d", "300000y"}) {
    Result<int64_t> parsed = ParseRetentionDuration(bad);
    ASSERT_FALSE(parsed.ok()) << "'" << bad << "' parsed as " << *parsed;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(std::string("'") + bad + "'"), std::string::npos)
        << parsed.status().message();
  }
  EXPECT_NE(ParseRetentionDuration("5s").status().message().find("unknown unit 's'"),
            std::string::npos);
}

TEST(RetentionDurationTest, FormatsGreedily) {
  EXPECT_EQ(FormatRetentionDuration(7 * kDay), "7d");
  EXPECT_EQ(FormatRetentionDuration(36 * kNanosPerHour), "1d12h");
  EXPECT_EQ(FormatRetentionDuration(365 * kDay), "1y");
  EXPECT_EQ(FormatRetentionDuration(35 * kDay), "1m5d");
  EXPECT_EQ(FormatRetentionDuration(14 * kDay), "14d");
  EXPECT_EQ(FormatRetentionDuration(0), "0h");
  EXPECT_EQ(FormatRetentionDuration(kNanosPerHour + 30 * kNanosPerSecond), "1h30s");
  for (const char* text : {"1y2m3d4h", "7d", "5h", "2y"}) {
    EXPECT_EQ(FormatRetentionDuration(*ParseRetentionDuration(text)), text);
  }
}

TEST(IntervalDurationTest, ParsesUnits) {
  EXPECT_EQ(*ParseDurationSeconds("30s"), 30);
  EXPECT_EQ(*ParseDurationSeconds("5m"), 300);  // minutes, not months
  EXPECT_EQ(*ParseDurationSeconds("1h"), 3600);
  EXPECT_EQ(*ParseDurationSeconds("7d"), 7 * 86400);
  EXPECT_EQ(*ParseDurationSeconds("2w"), 14 * 86400);
  EXPECT_EQ(*ParseDurationSeconds("1h30m"), 5400);
  EXPECT_EQ(*ParseDurationSeconds("1d2h3m4s"), 86400 + 7200 + 180 + 4);
  EXPECT_EQ(*ParseDurationSeconds("0s"), 0);
}

TEST(IntervalDurationTest, RejectsMalformed) {
  for (const char* bad :
       {"", "30", "m", "1y", "1M", "5 m", "-5m", "1.5h", "5m3", "9999999999999999999w"}) {
    Result<int64_t> parsed = ParseDurationSeconds(bad);
    ASSERT_FALSE(parsed.ok()) << "'" << bad << "' parsed as " << *parsed;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  }
  EXPECT_NE(ParseDurationSeconds("1y").status().message().find("unknown unit 'y'"),
            std::string::npos);
}

TEST(IntervalDurationTest, Formats) {
  EXPECT_EQ(FormatDurationSeconds(90), "1m30s");
  EXPECT_EQ(FormatDurationSeconds(5400), "1h30m");
  EXPECT_EQ(FormatDurationSeconds(7 * 86400), "7d");
  EXPECT_EQ(FormatDurationSeconds(0), "0s");
  EXPECT_EQ(*ParseDurationSeconds(FormatDurationSeconds(93784)), 93784);
}

}  // namespace
}  // namespace lifeboat
