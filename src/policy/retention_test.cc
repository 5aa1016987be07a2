// Tests for ApplyRetention (restic forget semantics), ParseGroupBy and
// RetentionPolicy helpers, on synthetic snapshot histories.
#include "policy/retention.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace lifeboat {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

int64_t UtcNs(int year, unsigned month, unsigned day, int hour = 0, int minute = 0) {
  using namespace std::chrono;
  sys_days date =
      year_month_day(std::chrono::year(year), std::chrono::month(month), std::chrono::day(day));
  return duration_cast<nanoseconds>(date.time_since_epoch() + hours(hour) + minutes(minute))
      .count();
}

std::string HourId(int h) { return "h" + std::to_string(h); }

// One snapshot per hour at HH:30 UTC, from 2023-01-01 for 400 days (9600
// snapshots, ids "h0".."h9599"); the newest is 2024-02-04 23:30, a Sunday.
constexpr int kHours = 400 * 24;
std::vector<SnapshotRef> HourlyHistory(std::string host = "web1") {
  std::vector<SnapshotRef> snapshots;
  const int64_t start = UtcNs(2023, 1, 1, 0, 30);
  for (int h = 0; h < kHours; ++h) {
    snapshots.push_back(SnapshotRef{HourId(h), start + h * kNanosPerHour, host, {"/srv/app"}, {}});
  }
  return snapshots;
}

// Hour index of day `day` (0 = 2023-01-01) at 23:30.
int EndOfDay(int day) { return day * 24 + 23; }

// The single group of `groups`, by value (callers pass temporaries).
RetentionGroup Only(std::vector<RetentionGroup> groups) {
  EXPECT_EQ(groups.size(), 1u);
  if (groups.empty()) return {};
  return std::move(groups.front());
}

std::vector<std::string> KeptIds(const RetentionGroup& group) {
  std::vector<std::string> ids;
  for (const RetentionDecision& decision : group.decisions) {
    if (decision.keep) ids.push_back(decision.snapshot.id);
  }
  return ids;
}

const RetentionDecision& Find(const RetentionGroup& group, const std::string& id) {
  for (const RetentionDecision& decision : group.decisions) {
    if (decision.snapshot.id == id) return decision;
  }
  ADD_FAILURE() << "no decision for " << id;
  static RetentionDecision none;
  return none;
}

std::vector<std::string> Kept(const RetentionPolicy& policy,
                              std::vector<SnapshotRef> snapshots = HourlyHistory()) {
  return KeptIds(Only(ApplyRetention(std::move(snapshots), policy, GroupByFlags::Default())));
}

TEST(RetentionTest, DecisionsCoverEverySnapshotNewestFirst) {
  RetentionPolicy policy;
  policy.daily = 3;
  std::vector<SnapshotRef> history = HourlyHistory();
  std::reverse(history.begin(), history.begin() + 5000);  // input order must not matter
  RetentionGroup group = Only(ApplyRetention(history, policy, GroupByFlags::Default()));
  ASSERT_EQ(group.decisions.size(), static_cast<size_t>(kHours));
  for (size_t i = 1; i < group.decisions.size(); ++i) {
    ASSERT_GT(group.decisions[i - 1].snapshot.time_ns, group.decisions[i].snapshot.time_ns);
  }
  EXPECT_EQ(group.decisions.front().snapshot.id, HourId(kHours - 1));
  for (const RetentionDecision& decision : group.decisions) {
    EXPECT_EQ(decision.keep, !decision.reasons.empty()) << decision.snapshot.id;
  }
}

TEST(RetentionTest, KeepLast) {
  RetentionPolicy policy;
  policy.last = 5;
  EXPECT_THAT(Kept(policy), ElementsAre("h9599", "h9598", "h9597", "h9596", "h9595"));
}

TEST(RetentionTest, KeepHourly) {
  RetentionPolicy policy;
  policy.hourly = 3;
  EXPECT_THAT(Kept(policy), ElementsAre("h9599", "h9598", "h9597"));
}

TEST(RetentionTest, KeepHourlyCollapsesSnapshotsInTheSameHour) {
  std::vector<SnapshotRef> snapshots;
  for (int minute : {0, 10, 20, 59}) {
    snapshots.push_back({"a" + std::to_string(minute), UtcNs(2024, 3, 1, 10, minute), "h", {}, {}});
    snapshots.push_back({"b" + std::to_string(minute), UtcNs(2024, 3, 1, 11, minute), "h", {}, {}});
  }
  RetentionPolicy policy;
  policy.hourly = 2;
  EXPECT_THAT(Kept(policy, snapshots), ElementsAre("b59", "a59"));
}

TEST(RetentionTest, KeepDaily) {
  RetentionPolicy policy;
  policy.daily = 7;
  std::vector<std::string> expected;
  for (int day = 399; day > 392; --day) expected.push_back(HourId(EndOfDay(day)));
  EXPECT_EQ(Kept(policy), expected);
}

TEST(RetentionTest, KeepWeeklyUsesIsoWeeks) {
  RetentionPolicy policy;
  policy.weekly = 4;
  // Sundays 2024-02-04, 01-28, 01-21, 01-14 close ISO weeks 5, 4, 3, 2.
  EXPECT_THAT(Kept(policy), ElementsAre(HourId(EndOfDay(399)), HourId(EndOfDay(392)),
                                        HourId(EndOfDay(385)), HourId(EndOfDay(378))));
}

TEST(RetentionTest, KeepMonthly) {
  RetentionPolicy policy;
  policy.monthly = 3;
  // 2024-02-04, 2024-01-31 (day 395), 2023-12-31 (day 364).
  EXPECT_THAT(Kept(policy),
              ElementsAre(HourId(EndOfDay(399)), HourId(EndOfDay(395)), HourId(EndOfDay(364))));
}

TEST(RetentionTest, KeepYearlyStopsWhenCountUsedUp) {
  RetentionPolicy policy;
  policy.yearly = 2;
  EXPECT_THAT(Kept(policy), ElementsAre(HourId(EndOfDay(399)), HourId(EndOfDay(364))));
}

TEST(RetentionTest, OldestSnapshotKeptWhileCountsRemain) {
  RetentionPolicy policy;
  policy.yearly = 5;  // only two years exist: the oldest snapshot is kept too
  RetentionGroup group = Only(ApplyRetention(HourlyHistory(), policy, GroupByFlags::Default()));
  EXPECT_THAT(KeptIds(group), ElementsAre(HourId(EndOfDay(399)), HourId(EndOfDay(364)), "h0"));
  EXPECT_THAT(Find(group, "h0").reasons, ElementsAre("oldest yearly snapshot"));
  EXPECT_THAT(Find(group, HourId(EndOfDay(364))).reasons, ElementsAre("yearly snapshot"));
}

TEST(RetentionTest, UnlimitedCounts) {
  RetentionPolicy policy;
  policy.daily = RetentionPolicy::kUnlimited;
  // One per day for 400 days, plus the oldest (same day as day 0's newest).
  EXPECT_EQ(Kept(policy).size(), 401u);

  policy = {};
  policy.monthly = -1;
  // 2023-01 .. 2024-02 is 14 months, plus the oldest.
  EXPECT_EQ(Kept(policy).size(), 15u);

  policy = {};
  policy.last = -1;
  EXPECT_EQ(Kept(policy).size(), static_cast<size_t>(kHours));

  policy = {};
  policy.hourly = -1;
  EXPECT_EQ(Kept(policy).size(), static_cast<size_t>(kHours));
}

TEST(RetentionTest, WeeklyBucketsSpanYearBoundary) {
  // 2020-12-31 (Thu) and 2021-01-03 (Sun) are both in ISO week 2020-W53;
  // 2020-12-27 (Sun) is in W52; 2021-01-04 (Mon) starts 2021-W01.
  std::vector<SnapshotRef> snapshots = {
      {"w52", UtcNs(2020, 12, 27, 12), "h", {}, {}},
      {"w53-thu", UtcNs(2020, 12, 31, 12), "h", {}, {}},
      {"w53-sun", UtcNs(2021, 1, 3, 12), "h", {}, {}},
      {"w01-mon", UtcNs(2021, 1, 4, 12), "h", {}, {}},
  };
  RetentionPolicy policy;
  policy.weekly = 3;
  EXPECT_THAT(Kept(policy, snapshots), ElementsAre("w01-mon", "w53-sun", "w52"));

  // 2024-12-30 (Mon) belongs to 2025-W01, together with 2025-01-05.
  snapshots = {
      {"a", UtcNs(2024, 12, 29, 12), "h", {}, {}},
      {"b", UtcNs(2024, 12, 30, 12), "h", {}, {}},
      {"c", UtcNs(2025, 1, 5, 12), "h", {}, {}},
  };
  policy.weekly = 2;
  EXPECT_THAT(Kept(policy, snapshots), ElementsAre("c", "a"));
}

TEST(RetentionTest, BucketsAreUtcAndHandleTimesBeforeEpoch) {
  std::vector<SnapshotRef> snapshots = {
      {"new", UtcNs(1970, 1, 1, 0, 30), "h", {}, {}},
      {"late", UtcNs(1969, 12, 31, 23, 59), "h", {}, {}},
      {"early", UtcNs(1969, 12, 31, 0, 1), "h", {}, {}},
  };
  RetentionPolicy policy;
  policy.daily = 2;
  EXPECT_THAT(Kept(policy, snapshots), ElementsAre("new", "late"));
  policy.daily = 0;
  policy.yearly = 2;
  EXPECT_THAT(Kept(policy, snapshots), ElementsAre("new", "late"));
}

TEST(RetentionTest, KeepWithin) {
  RetentionPolicy policy;
  policy.within_ns = *ParseRetentionDuration("7d");
  std::vector<std::string> kept = Kept(policy);
  // Strictly newer than newest - 7d: 168 hourly snapshots (the one exactly
  // 7 days older than the newest is not kept).
  ASSERT_EQ(kept.size(), 168u);
  EXPECT_EQ(kept.back(), HourId(kHours - 168));
  RetentionGroup group = Only(ApplyRetention(HourlyHistory(), policy, GroupByFlags::Default()));
  EXPECT_THAT(Find(group, "h9599").reasons, ElementsAre("within 7d"));
  EXPECT_FALSE(Find(group, HourId(kHours - 169)).keep);
}

TEST(RetentionTest, WithinIsRelativeToNewestNotToNow) {
  RetentionPolicy policy;
  policy.within_ns = 2 * kNanosPerHour;
  // "now" is years later: still keeps the two newest hours.
  EXPECT_THAT(KeptIds(Only(ApplyRetention(HourlyHistory(), policy, GroupByFlags::Default(),
                                          UtcNs(2030, 1, 1)))),
              ElementsAre("h9599", "h9598"));
}

TEST(RetentionTest, WithinIgnoresFutureSnapshotsWhenFindingNewest) {
  std::vector<SnapshotRef> snapshots = {
      {"future", UtcNs(2030, 1, 1), "h", {}, {}},
      {"now-1h", UtcNs(2024, 6, 1, 11), "h", {}, {}},
      {"now-3h", UtcNs(2024, 6, 1, 9), "h", {}, {}},
      {"now-2d", UtcNs(2024, 5, 30, 12), "h", {}, {}},
  };
  RetentionPolicy policy;
  policy.within_ns = *ParseRetentionDuration("1d");
  const int64_t now = UtcNs(2024, 6, 1, 12);
  EXPECT_THAT(KeptIds(Only(ApplyRetention(snapshots, policy, GroupByFlags::Default(), now))),
              ElementsAre("future", "now-1h", "now-3h"));
  // Without a clock the future snapshot is the newest: only it is within 1d.
  EXPECT_THAT(KeptIds(Only(ApplyRetention(snapshots, policy, GroupByFlags::Default()))),
              ElementsAre("future"));
}

TEST(RetentionTest, KeepTagsNeedsAllTagsOfOneEntry) {
  std::vector<SnapshotRef> snapshots = {
      {"s1", UtcNs(2024, 1, 5), "h", {}, {"a"}},
      {"s2", UtcNs(2024, 1, 4), "h", {}, {"a", "b"}},
      {"s3", UtcNs(2024, 1, 3), "h", {}, {"b", "c", "a"}},
      {"s4", UtcNs(2024, 1, 2), "h", {}, {"c"}},
      {"s5", UtcNs(2024, 1, 1), "h", {}, {}},
  };
  RetentionPolicy policy;
  policy.keep_tags = {{"a", "b"}, {"c"}};
  // group by host only: tags must not split the group here
  RetentionGroup group = Only(ApplyRetention(snapshots, policy, *ParseGroupBy("host")));
  EXPECT_THAT(KeptIds(group), ElementsAre("s2", "s3", "s4"));
  EXPECT_THAT(Find(group, "s2").reasons, ElementsAre("tags 'a,b'"));
  EXPECT_THAT(Find(group, "s3").reasons, ElementsAre("tags 'a,b'", "tag 'c'"));
  EXPECT_THAT(Find(group, "s1").reasons, IsEmpty());
}

TEST(RetentionTest, CombinedRulesListEveryReason) {
  std::vector<SnapshotRef> history = HourlyHistory();
  history[100].tags = {"release"};
  RetentionPolicy policy;
  policy.last = 2;
  policy.hourly = 3;
  policy.daily = 7;
  policy.weekly = 4;
  policy.monthly = 3;
  policy.yearly = 1;
  policy.within_ns = *ParseRetentionDuration("2h");
  policy.keep_tags = {{"release"}};
  RetentionGroup group = Only(ApplyRetention(history, policy, GroupByFlags::Default()));

  EXPECT_THAT(Find(group, "h9599").reasons,
              ElementsAre("within 2h", "last snapshot", "hourly snapshot", "daily snapshot",
                          "weekly snapshot", "monthly snapshot", "yearly snapshot"));
  EXPECT_THAT(Find(group, "h9598").reasons,
              ElementsAre("within 2h", "last snapshot", "hourly snapshot"));
  EXPECT_THAT(Find(group, "h9597").reasons, ElementsAre("hourly snapshot"));
  EXPECT_THAT(Find(group, HourId(EndOfDay(398))).reasons, ElementsAre("daily snapshot"));
  EXPECT_THAT(Find(group, HourId(EndOfDay(395))).reasons,
              ElementsAre("daily snapshot", "monthly snapshot"));
  EXPECT_THAT(Find(group, HourId(EndOfDay(393))).reasons, ElementsAre("daily snapshot"));
  EXPECT_THAT(Find(group, HourId(EndOfDay(392))).reasons, ElementsAre("weekly snapshot"));
  EXPECT_THAT(Find(group, "h100").reasons, ElementsAre("tag 'release'"));

  std::set<std::string> expected = {"h9599", "h9598", "h9597", "h100"};
  for (int day = 399; day > 392; --day) expected.insert(HourId(EndOfDay(day)));
  for (int day : {392, 385, 378}) expected.insert(HourId(EndOfDay(day)));
  for (int day : {395, 364}) expected.insert(HourId(EndOfDay(day)));
  EXPECT_THAT(KeptIds(group), UnorderedElementsAreArray(expected));
  EXPECT_EQ(RemovedIds({group}).size(), static_cast<size_t>(kHours) - expected.size());
}

TEST(RetentionTest, EmptyPolicyKeepsEverything) {
  RetentionPolicy policy;
  ASSERT_TRUE(policy.Empty());
  RetentionGroup group = Only(ApplyRetention(HourlyHistory(), policy, GroupByFlags::Default()));
  EXPECT_EQ(KeptIds(group).size(), static_cast<size_t>(kHours));
  EXPECT_THAT(group.decisions.back().reasons, ElementsAre("no policy"));
  EXPECT_THAT(RemovedIds({group}), IsEmpty());
}

TEST(RetentionTest, EmptyInputGivesNoGroups) {
  RetentionPolicy policy;
  policy.last = 1;
  EXPECT_THAT(ApplyRetention({}, policy, GroupByFlags::Default()), IsEmpty());
}

TEST(RetentionTest, TiesAreBrokenByIdRegardlessOfInputOrder) {
  std::vector<SnapshotRef> snapshots = {{"b", 100, "h", {}, {}}, {"a", 100, "h", {}, {}}};
  RetentionPolicy policy;
  policy.last = 1;
  EXPECT_THAT(Kept(policy, snapshots), ElementsAre("a"));
  std::swap(snapshots[0], snapshots[1]);
  EXPECT_THAT(Kept(policy, snapshots), ElementsAre("a"));
}

std::vector<SnapshotRef> MixedHosts() {
  return {
      {"web1-a", UtcNs(2024, 1, 3), "web1", {"/srv", "/etc"}, {"x"}},
      {"web1-b", UtcNs(2024, 1, 2), "web1", {"/etc", "/srv"}, {}},
      {"web1-c", UtcNs(2024, 1, 1), "web1", {"/home"}, {}},
      {"db1-a", UtcNs(2024, 1, 2), "db1", {"/var/lib/pg"}, {"x"}},
      {"db1-b", UtcNs(2024, 1, 1), "db1", {"/var/lib/pg"}, {}},
  };
}

TEST(RetentionTest, GroupsByHostAndPaths) {
  RetentionPolicy policy;
  policy.last = 1;
  std::vector<RetentionGroup> groups =
      ApplyRetention(MixedHosts(), policy, GroupByFlags::Default());
  ASSERT_EQ(groups.size(), 3u);
  // Ordered by host, then paths; paths sorted inside the key, so the order
  // they were given in does not split groups.
  EXPECT_EQ(groups[0].key, (GroupKey{"db1", "/var/lib/pg", ""}));
  EXPECT_EQ(groups[1].key, (GroupKey{"web1", "/etc,/srv", ""}));
  EXPECT_EQ(groups[2].key, (GroupKey{"web1", "/home", ""}));
  EXPECT_THAT(KeptIds(groups[0]), ElementsAre("db1-a"));
  EXPECT_THAT(KeptIds(groups[1]), ElementsAre("web1-a"));
  EXPECT_THAT(KeptIds(groups[2]), ElementsAre("web1-c"));
  EXPECT_THAT(RemovedIds(groups), ElementsAre("db1-b", "web1-b"));
}

TEST(RetentionTest, GroupsByHostOnlyTagsOnlyAndNothing) {
  RetentionPolicy policy;
  policy.last = 1;
  std::vector<RetentionGroup> by_host = ApplyRetention(MixedHosts(), policy, *ParseGroupBy("host"));
  ASSERT_EQ(by_host.size(), 2u);
  EXPECT_EQ(by_host[1].key, (GroupKey{"web1", "", ""}));
  EXPECT_THAT(KeptIds(by_host[1]), ElementsAre("web1-a"));

  std::vector<RetentionGroup> by_tags = ApplyRetention(MixedHosts(), policy, *ParseGroupBy("tags"));
  ASSERT_EQ(by_tags.size(), 2u);
  EXPECT_EQ(by_tags[0].key, (GroupKey{"", "", ""}));
  EXPECT_EQ(by_tags[1].key, (GroupKey{"", "", "x"}));
  EXPECT_THAT(KeptIds(by_tags[0]), ElementsAre("web1-b"));  // newest untagged
  EXPECT_THAT(KeptIds(by_tags[1]), ElementsAre("web1-a"));

  std::vector<RetentionGroup> none = ApplyRetention(MixedHosts(), policy, *ParseGroupBy(""));
  ASSERT_EQ(none.size(), 1u);
  EXPECT_THAT(KeptIds(none[0]), ElementsAre("web1-a"));
  EXPECT_EQ(none[0].decisions.size(), 5u);
}

TEST(RetentionTest, WithinIsPerGroup) {
  RetentionPolicy policy;
  policy.within_ns = *ParseRetentionDuration("1d");
  std::vector<RetentionGroup> groups = ApplyRetention(MixedHosts(), policy, *ParseGroupBy("host"));
  ASSERT_EQ(groups.size(), 2u);
  // db1's newest is 2024-01-02, web1's 2024-01-03: each keeps only its newest.
  EXPECT_THAT(KeptIds(groups[0]), ElementsAre("db1-a"));
  EXPECT_THAT(KeptIds(groups[1]), ElementsAre("web1-a"));
}

TEST(GroupByTest, Parses) {
  EXPECT_EQ(*ParseGroupBy("host,paths"), GroupByFlags::Default());
  EXPECT_EQ(*ParseGroupBy(""), GroupByFlags{});
  EXPECT_EQ(*ParseGroupBy("tags, host"), (GroupByFlags{true, false, true}));
  EXPECT_EQ(*ParseGroupBy("path,tag,"), (GroupByFlags{false, true, true}));
  EXPECT_EQ(ParseGroupBy("host,paths,tags")->ToString(), "host,paths,tags");
  EXPECT_EQ(GroupByFlags{}.ToString(), "");
  Result<GroupByFlags> bad = ParseGroupBy("host,user");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'user'"), std::string::npos);
  EXPECT_FALSE(ParseGroupBy("HOST").ok());
}

TEST(RetentionPolicyTest, EmptyValidateDescribe) {
  RetentionPolicy policy;
  EXPECT_TRUE(policy.Empty());
  EXPECT_TRUE(policy.Validate().ok());
  EXPECT_EQ(policy.Describe(), "remove");

  policy.keep_tags = {{"a", "b"}, {"c"}};
  EXPECT_FALSE(policy.Empty());
  policy.daily = 7;
  policy.weekly = -1;
  policy.within_ns = 30 * kNanosPerDay;
  EXPECT_TRUE(policy.Validate().ok());
  EXPECT_EQ(policy.Describe(),
            "keep 7 daily, all weekly snapshots and all snapshots with tags 'a,b' or 'c' and "
            "all snapshots within 1m of the newest");

  RetentionPolicy within_only;
  within_only.within_ns = 1;
  EXPECT_FALSE(within_only.Empty());

  RetentionPolicy bad;
  bad.monthly = -2;
  EXPECT_FALSE(bad.Empty());
  Status status = bad.Validate();
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_NE(status.message().find("keep-monthly is -2"), std::string::npos) << status.message();
  bad = {};
  bad.within_ns = -1;
  EXPECT_EQ(bad.Validate().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat
