// Retention policy evaluation (restic `forget` semantics, UTC buckets).
#include "policy/retention.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <tuple>

namespace lifeboat {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::nanoseconds;
using std::chrono::sys_days;
using std::chrono::year_month_day;

sys_days DayOf(int64_t time_ns) {
  return floor<days>(std::chrono::sys_time<nanoseconds>(nanoseconds(time_ns)));
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

enum Rule { kLast, kHourly, kDaily, kWeekly, kMonthly, kYearly, kRuleCount };

constexpr const char* kRuleReason[kRuleCount] = {"last snapshot",    "hourly snapshot",
                                                 "daily snapshot",   "weekly snapshot",
                                                 "monthly snapshot", "yearly snapshot"};
constexpr const char* kRuleName[kRuleCount] = {"latest", "hourly",  "daily",
                                               "weekly", "monthly", "yearly"};

// The bucket a snapshot falls in for `rule`; `index` is its position in the
// newest-first group (the "last" rule gives each snapshot its own bucket).
int64_t Bucket(Rule rule, int64_t time_ns, size_t index) {
  switch (rule) {
    case kLast:
      return static_cast<int64_t>(index);
    case kHourly:
      return FloorDiv(time_ns, kNanosPerHour);
    case kDaily:
      return DayOf(time_ns).time_since_epoch().count();
    case kWeekly: {
      // ISO 8601: the week belongs to the year of its Thursday.
      sys_days day = DayOf(time_ns);
      unsigned iso_weekday = std::chrono::weekday(day).iso_encoding();  // Mon=1..Sun=7
      sys_days thursday = day + days(4 - static_cast<int>(iso_weekday));
      std::chrono::year iso_year = year_month_day(thursday).year();
      sys_days jan1 = sys_days(iso_year / std::chrono::January / 1);
      int64_t week = (thursday - jan1).count() / 7 + 1;
      return static_cast<int64_t>(static_cast<int>(iso_year)) * 100 + week;
    }
    case kMonthly: {
      year_month_day ymd(DayOf(time_ns));
      return static_cast<int64_t>(static_cast<int>(ymd.year())) * 100 +
             static_cast<unsigned>(ymd.month());
    }
    case kYearly:
      return static_cast<int>(year_month_day(DayOf(time_ns)).year());
    case kRuleCount:
      break;
  }
  return 0;
}

std::vector<std::string> Sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

std::string Join(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& value : values) {
    if (!out.empty()) out += ',';
    out += value;
  }
  return out;
}

bool HasAllTags(const SnapshotRef& snapshot, const std::vector<std::string>& wanted) {
  for (const std::string& tag : wanted) {
    if (std::find(snapshot.tags.begin(), snapshot.tags.end(), tag) == snapshot.tags.end()) {
      return false;
    }
  }
  return true;
}

std::vector<RetentionDecision> DecideGroup(std::vector<SnapshotRef> group,
                                           const RetentionPolicy& policy, int64_t now_ns) {
  std::stable_sort(group.begin(), group.end(), [](const SnapshotRef& a, const SnapshotRef& b) {
    if (a.time_ns != b.time_ns) return a.time_ns > b.time_ns;
    return a.id < b.id;
  });

  std::vector<RetentionDecision> decisions;
  decisions.reserve(group.size());
  if (policy.Empty()) {
    for (SnapshotRef& snapshot : group) {
      decisions.push_back(RetentionDecision{std::move(snapshot), true, {"no policy"}});
    }
    return decisions;
  }

  // Newest snapshot not in the future. If all are in the future, nothing is
  // "older than newest - within", so within keeps them all (restic likewise).
  std::optional<int64_t> newest;
  for (const SnapshotRef& snapshot : group) {
    if (snapshot.time_ns < now_ns && (!newest || snapshot.time_ns > *newest)) {
      newest = snapshot.time_ns;
    }
  }
  std::optional<int64_t> within_cutoff;
  if (policy.within_ns > 0 && newest) {
    // Saturate instead of overflowing for absurd durations: keeps everything.
    within_cutoff = *newest < std::numeric_limits<int64_t>::min() + policy.within_ns
                        ? std::numeric_limits<int64_t>::min()
                        : *newest - policy.within_ns;
  }
  const std::string within_reason = "within " + FormatRetentionDuration(policy.within_ns);

  int remaining[kRuleCount] = {policy.last,   policy.hourly,  policy.daily,
                               policy.weekly, policy.monthly, policy.yearly};
  std::optional<int64_t> last_bucket[kRuleCount];

  for (size_t index = 0; index < group.size(); ++index) {
    const SnapshotRef& snapshot = group[index];
    RetentionDecision decision{snapshot, false, {}};

    for (const std::vector<std::string>& tags : policy.keep_tags) {
      if (HasAllTags(snapshot, tags)) {
        decision.keep = true;
        decision.reasons.push_back((tags.size() == 1 ? "tag '" : "tags '") + Join(tags) + "'");
      }
    }

    if (policy.within_ns > 0 && (!within_cutoff || snapshot.time_ns > *within_cutoff)) {
      decision.keep = true;
      decision.reasons.push_back(within_reason);
    }

    const bool oldest = index + 1 == group.size();
    for (int rule = 0; rule < kRuleCount; ++rule) {
      if (remaining[rule] == 0) continue;  // rule off, or its count used up
      int64_t bucket = Bucket(static_cast<Rule>(rule), snapshot.time_ns, index);
      bool new_bucket = !last_bucket[rule] || *last_bucket[rule] != bucket;
      if (!new_bucket && !oldest) continue;
      decision.keep = true;
      decision.reasons.push_back(new_bucket ? std::string(kRuleReason[rule])
                                            : "oldest " + std::string(kRuleReason[rule]));
      last_bucket[rule] = bucket;
      if (remaining[rule] > 0) --remaining[rule];
    }
    decisions.push_back(std::move(decision));
  }
  return decisions;
}

}  // namespace

bool RetentionPolicy::Empty() const {
  return last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 &&
         within_ns == 0 && keep_tags.empty();
}

Status RetentionPolicy::Validate() const {
  const int counts[kRuleCount] = {last, hourly, daily, weekly, monthly, yearly};
  for (int rule = 0; rule < kRuleCount; ++rule) {
    if (counts[rule] < kUnlimited) {
      return Status(Code::kInvalidArgument,
                    "invalid retention policy: keep-" +
                        std::string(rule == kLast ? "last" : kRuleName[rule]) + " is " +
                        std::to_string(counts[rule]),
                    "use a positive count, 0 to disable the rule, or -1 for unlimited");
    }
  }
  if (within_ns < 0) {
    return InvalidArgument("invalid retention policy: keep-within is negative");
  }
  return Status::Ok();
}

std::string RetentionPolicy::Describe() const {
  const int counts[kRuleCount] = {last, hourly, daily, weekly, monthly, yearly};
  std::vector<std::string> keeps;
  for (int rule = 0; rule < kRuleCount; ++rule) {
    if (counts[rule] > 0) {
      keeps.push_back(std::to_string(counts[rule]) + " " + kRuleName[rule]);
    } else if (counts[rule] < 0) {
      keeps.push_back(std::string("all ") + kRuleName[rule]);
    }
  }
  std::string out;
  if (!keeps.empty()) {
    for (size_t i = 0; i < keeps.size(); ++i) out += (i ? ", " : "") + keeps[i];
    out += " snapshots";
  }
  if (!keep_tags.empty()) {
    if (!out.empty()) out += " and ";
    out += "all snapshots with tags";
    for (size_t i = 0; i < keep_tags.size(); ++i) {
      out += (i ? " or '" : " '") + Join(keep_tags[i]) + "'";
    }
  }
  if (within_ns > 0) {
    if (!out.empty()) out += " and ";
    out += "all snapshots within " + FormatRetentionDuration(within_ns) + " of the newest";
  }
  return out.empty() ? "remove" : "keep " + out;
}

std::string GroupByFlags::ToString() const {
  std::vector<std::string> parts;
  if (host) parts.push_back("host");
  if (paths) parts.push_back("paths");
  if (tags) parts.push_back("tags");
  return Join(parts);
}

Result<GroupByFlags> ParseGroupBy(std::string_view text) {
  GroupByFlags flags;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "host" || item == "hosts") {
      flags.host = true;
    } else if (item == "path" || item == "paths") {
      flags.paths = true;
    } else if (item == "tag" || item == "tags") {
      flags.tags = true;
    } else if (!item.empty()) {
      return Status(Code::kInvalidArgument,
                    "invalid group-by value '" + std::string(text) + "': unknown field '" +
                        std::string(item) + "'",
                    "use a comma-separated subset of host,paths,tags, or '' for no grouping");
    }
    start = comma + 1;
  }
  return flags;
}

std::vector<RetentionGroup> ApplyRetention(std::vector<SnapshotRef> snapshots,
                                           const RetentionPolicy& policy, GroupByFlags group_by,
                                           int64_t now_ns) {
  using Key = std::tuple<std::string, std::vector<std::string>, std::vector<std::string>>;
  std::map<Key, std::vector<SnapshotRef>> groups;
  for (SnapshotRef& snapshot : snapshots) {
    Key key{group_by.host ? snapshot.hostname : std::string(),
            group_by.paths ? Sorted(snapshot.paths) : std::vector<std::string>(),
            group_by.tags ? Sorted(snapshot.tags) : std::vector<std::string>()};
    groups[std::move(key)].push_back(std::move(snapshot));
  }
  std::vector<RetentionGroup> result;
  result.reserve(groups.size());
  for (auto& [key, members] : groups) {
    RetentionGroup group;
    group.key = GroupKey{std::get<0>(key), Join(std::get<1>(key)), Join(std::get<2>(key))};
    group.decisions = DecideGroup(std::move(members), policy, now_ns);
    result.push_back(std::move(group));
  }
  return result;
}

std::vector<std::string> RemovedIds(const std::vector<RetentionGroup>& groups) {
  std::vector<std::string> ids;
  for (const RetentionGroup& group : groups) {
    for (const RetentionDecision& decision : group.decisions) {
      if (!decision.keep) ids.push_back(decision.snapshot.id);
    }
  }
  return ids;
}

}  // namespace lifeboat
