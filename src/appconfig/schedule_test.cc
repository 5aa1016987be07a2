#include "appconfig/schedule.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(ScheduleTest, Hourly) {
  auto s = ParsePinnedSchedule("hourly :15");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->minutes_of_week.size(), 168u);
  EXPECT_EQ(s->MaxGapSeconds(), 3600);
  EXPECT_EQ(ParsePinnedSchedule("hourly")->minutes_of_week.front(), 0);
  // 1970-01-01 00:00 UTC (a Thursday) → 00:15.
  EXPECT_EQ(s->NextRunAfter(0), 15 * 60);
  EXPECT_EQ(s->NextRunAfter(15 * 60), 3600 + 15 * 60);  // strictly after
}

TEST(ScheduleTest, DailyAndGaps) {
  auto one = ParsePinnedSchedule("daily 02:30");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->MaxGapSeconds(), 86400);
  auto two = ParsePinnedSchedule("daily 01:00, 13:00");
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_EQ(two->MaxGapSeconds(), 12 * 3600);
  auto uneven = ParsePinnedSchedule("daily 23:00,01:00");
  ASSERT_TRUE(uneven.ok());
  EXPECT_EQ(uneven->MaxGapSeconds(), 22 * 3600);  // 01:00 → 23:00
  EXPECT_EQ(uneven->NextRunAfter(0), 3600);
  EXPECT_EQ(uneven->NextRunAfter(3600), 23 * 3600);
  EXPECT_EQ(uneven->NextRunAfter(23 * 3600), 86400 + 3600);  // wraps to the next day
}

TEST(ScheduleTest, Weekly) {
  auto s = ParsePinnedSchedule("weekly sun 03:00");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->MaxGapSeconds(), 7 * 86400);
  // From Thursday 1970-01-01 00:00 the next Sunday 03:00 is 3 days 3 hours on.
  EXPECT_EQ(s->NextRunAfter(0), 3 * 86400 + 3 * 3600);
  // From that Sunday 03:00 exactly: a week later (wraps the week).
  EXPECT_EQ(s->NextRunAfter(3 * 86400 + 3 * 3600), 10 * 86400 + 3 * 3600);
  auto two = ParsePinnedSchedule("weekly mon,thu 01:00");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->MaxGapSeconds(), 4 * 86400);  // thu → mon
}

TEST(ScheduleTest, Errors) {
  auto why = [](std::string_view text) {
    auto s = ParsePinnedSchedule(text);
    return s.ok() ? std::string("ok") : s.status().message();
  };
  EXPECT_EQ(why(""), "empty schedule");
  EXPECT_EQ(why("   "), "empty schedule");
  EXPECT_EQ(why("daily"), "'daily' needs a time, like 'daily 02:30'");
  EXPECT_EQ(why("daily 2:30"), "'2:30' is not a time HH:MM (00:00 to 23:59)");
  EXPECT_EQ(why("daily 24:00"), "'24:00' is not a time HH:MM (00:00 to 23:59)");
  EXPECT_EQ(why("daily 23:60"), "'23:60' is not a time HH:MM (00:00 to 23:59)");
  EXPECT_EQ(why("daily 02:30 14:30"), "separate times with commas, like 'daily 02:30,14:30'");
  EXPECT_EQ(why("daily 02:30,02:30"), "time 02:30 is listed twice");
  EXPECT_EQ(why("daily 02:30,"), "'' is not a time HH:MM (00:00 to 23:59)");
  EXPECT_EQ(why("hourly 15"), "'15' is not a minute :MM (:00 to :59)");
  EXPECT_EQ(why("hourly :60"), "':60' is not a minute :MM (:00 to :59)");
  EXPECT_EQ(why("weekly sunday 03:00"), "'sunday' is not a day (mon tue wed thu fri sat sun)");
  EXPECT_EQ(why("weekly sun"), "'weekly' needs days and a time, like 'weekly sun 03:00'");
  EXPECT_EQ(why("weekly sun,sun 03:00"), "day sun is listed twice");
  EXPECT_EQ(why("Daily 02:30"), "'Daily' is not hourly, daily or weekly");
  EXPECT_EQ(why("monthly 1 02:30"), "'monthly' is not hourly, daily or weekly");
}

}  // namespace
}  // namespace lifeboat
