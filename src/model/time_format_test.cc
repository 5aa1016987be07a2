#include "model/time_format.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

namespace lifeboat {
namespace {

TEST(TimeFormat, FormatsKnownValues) {
  EXPECT_EQ(FormatTimeRfc3339(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatTimeRfc3339(1795306323123456789), "2026-11-22T00:12:03.123456789Z");
  EXPECT_EQ(FormatTimeRfc3339(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatTimeRfc3339(-1'000'000'000), "1969-12-31T23:59:59.000000000Z");
  EXPECT_EQ(FormatTimeRfc3339(951782400LL * 1'000'000'000), "2000-02-29T00:00:00.000000000Z");
  EXPECT_EQ(FormatTimeRfc3339(std::numeric_limits<int64_t>::max()),
            "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(FormatTimeRfc3339(std::numeric_limits<int64_t>::min()),
            "1677-09-21T00:12:43.145224192Z");
}

TEST(TimeFormat, ParsesVariants) {
  auto check = [](std::string_view text, int64_t want) {
    auto got = ParseTimeRfc3339(text);
    ASSERT_TRUE(got.ok()) << text << ": " << got.status().ToString();
    EXPECT_EQ(*got, want) << text;
  };
  check("2026-11-22T00:12:03Z", 1795306323000000000);
  check("2026-11-22T00:12:03.123456789Z", 1795306323123456789);
  check("2026-11-22T00:12:03.5Z", 1795306323500000000);
  check("2026-11-22T00:12:03.1234567891234Z", 1795306323123456789);  // truncated
  check("2026-11-22t00:12:03z", 1795306323000000000);
  check("2026-11-22 00:12:03Z", 1795306323000000000);
  check("2026-11-22T01:12:03+01:00", 1795306323000000000);
  check("2026-11-21T18:42:03.25-05:30", 1795306323250000000);
  check("1969-12-31T23:59:59.999999999Z", -1);
  check("2024-02-29T00:00:00Z", 1709164800000000000);
  check("2016-12-31T23:59:60Z", 1483228800000000000);  // leap second → next second
}

TEST(TimeFormat, RejectsMalformed) {
  for (std::string_view bad : {
           "", "2026", "2026-11-22", "2026-11-22T00:12:03", "2026-11-22T00:12Z",
           "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-11-31T00:00:00Z",
           "2023-02-29T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T00:60:00Z",
           "2026-11-22T00:00:61Z", "2026-11-22T00:00:00.Z", "2026-11-22T00:00:00+0100",
           "2026-11-22T00:00:00+24:00", "2026-11-22T00:00:00Zjunk", "2026/11/22T00:00:00Z",
           "20261122T000000Z", "2026-11-22X00:00:00Z", " 2026-11-22T00:00:00Z",
           "2026-1-22T00:00:00Z", "+026-11-22T00:00:00Z",
       }) {
    auto got = ParseTimeRfc3339(bad);
    EXPECT_FALSE(got.ok()) << "accepted '" << bad << "'";
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), Code::kInvalidArgument);
    }
  }
}

TEST(TimeFormat, RejectsOutOfInt64Range) {
  EXPECT_FALSE(ParseTimeRfc3339("2262-04-11T23:47:16.854775808Z").ok());
  EXPECT_TRUE(ParseTimeRfc3339("2262-04-11T23:47:16.854775807Z").ok());
  EXPECT_FALSE(ParseTimeRfc3339("9999-12-31T23:59:59Z").ok());
  EXPECT_FALSE(ParseTimeRfc3339("0001-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseTimeRfc3339("1677-09-21T00:12:43.145224191Z").ok());
  EXPECT_TRUE(ParseTimeRfc3339("1677-09-21T00:12:43.145224192Z").ok());
}

TEST(TimeFormat, RoundTripsEveryKindOfValue) {
  std::mt19937_64 rng(42);
  std::vector<int64_t> values = {0, 1, -1, 999'999'999, -999'999'999,
                                 std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min()};
  for (int i = 0; i < 10000; ++i) values.push_back(static_cast<int64_t>(rng()));
  for (int64_t v : values) {
    std::string text = FormatTimeRfc3339(v);
    auto back = ParseTimeRfc3339(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(*back, v) << text;
  }
}

}  // namespace
}  // namespace lifeboat
