// Parsing and evaluating pinned schedules (see schedule.h).
#include "appconfig/schedule.h"

#include <algorithm>

namespace lifeboat {
namespace {

constexpr int kMinutesPerDay = 24 * 60;
constexpr int kMinutesPerWeek = 7 * kMinutesPerDay;
constexpr const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

Status Bad(std::string why) { return Status(Code::kInvalidArgument, std::move(why)); }

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    out.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

bool TwoDigits(std::string_view s, int max, int* value) {
  if (s.size() != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return false;
  *value = (s[0] - '0') * 10 + (s[1] - '0');
  return *value <= max;
}

// "HH:MM" → minutes since midnight.
Result<int> ParseTime(std::string_view s) {
  int hour = 0, minute = 0;
  if (s.size() != 5 || s[2] != ':' || !TwoDigits(s.substr(0, 2), 23, &hour) ||
      !TwoDigits(s.substr(3, 2), 59, &minute)) {
    return Bad("'" + std::string(s) + "' is not a time HH:MM (00:00 to 23:59)");
  }
  return hour * 60 + minute;
}

Result<int> ParseDay(std::string_view s) {
  for (int i = 0; i < 7; ++i) {
    if (s == kDays[i]) return i;
  }
  return Bad("'" + std::string(s) + "' is not a day (mon tue wed thu fri sat sun)");
}

}  // namespace

int64_t PinnedSchedule::MaxGapSeconds() const {
  if (minutes_of_week.empty()) return 0;
  int gap = minutes_of_week.front() + kMinutesPerWeek - minutes_of_week.back();
  for (size_t i = 1; i < minutes_of_week.size(); ++i) {
    gap = std::max(gap, minutes_of_week[i] - minutes_of_week[i - 1]);
  }
  return int64_t{gap} * 60;
}

int64_t PinnedSchedule::NextRunAfter(int64_t unix_seconds) const {
  if (minutes_of_week.empty()) return unix_seconds;
  // 1970-01-01 was a Thursday: Monday 00:00 UTC before the epoch is -3 days.
  constexpr int64_t kWeek = int64_t{kMinutesPerWeek} * 60;
  constexpr int64_t kEpochMonday = -3 * 86400;
  const int64_t since_monday = unix_seconds - kEpochMonday;
  const int64_t week_start = kEpochMonday + (since_monday / kWeek) * kWeek;
  const int64_t offset = unix_seconds - week_start;  // [0, kWeek)
  for (int minute : minutes_of_week) {
    if (int64_t{minute} * 60 > offset) return week_start + int64_t{minute} * 60;
  }
  return week_start + kWeek + int64_t{minutes_of_week.front()} * 60;
}

Result<PinnedSchedule> ParsePinnedSchedule(std::string_view text) {
  std::vector<std::string_view> words;
  for (std::string_view w : Split(text, ' ')) {
    if (!w.empty()) words.push_back(w);
  }
  if (words.empty()) return Bad("empty schedule");
  PinnedSchedule s;
  s.text = std::string(text);
  std::vector<int>& points = s.minutes_of_week;
  const std::string_view kind = words[0];
  if (kind == "hourly") {
    if (words.size() > 2) return Bad("'hourly' takes at most one minute, like 'hourly :15'");
    int minute = 0;
    if (words.size() == 2 && (words[1].size() != 3 || words[1][0] != ':' ||
                              !TwoDigits(words[1].substr(1), 59, &minute))) {
      return Bad("'" + std::string(words[1]) + "' is not a minute :MM (:00 to :59)");
    }
    for (int hour = 0; hour < 7 * 24; ++hour) points.push_back(hour * 60 + minute);
  } else if (kind == "daily") {
    // Times may be written "02:30,14:30" or "02:30, 14:30".
    std::string list;
    for (size_t i = 1; i < words.size(); ++i) list += words[i];
    if (list.empty()) return Bad("'daily' needs a time, like 'daily 02:30'");
    if (words.size() > 2 && list.find(',') == std::string::npos) {
      return Bad("separate times with commas, like 'daily 02:30,14:30'");
    }
    std::vector<int> times;
    for (std::string_view t : Split(list, ',')) {
      LB_ASSIGN_OR_RETURN(int minute, ParseTime(t));
      if (std::find(times.begin(), times.end(), minute) != times.end()) {
        return Bad("time " + std::string(t) + " is listed twice");
      }
      times.push_back(minute);
    }
    for (int day = 0; day < 7; ++day) {
      for (int minute : times) points.push_back(day * kMinutesPerDay + minute);
    }
  } else if (kind == "weekly") {
    if (words.size() != 3) return Bad("'weekly' needs days and a time, like 'weekly sun 03:00'");
    LB_ASSIGN_OR_RETURN(int minute, ParseTime(words[2]));
    std::vector<int> days;
    for (std::string_view d : Split(words[1], ',')) {
      LB_ASSIGN_OR_RETURN(int day, ParseDay(d));
      if (std::find(days.begin(), days.end(), day) != days.end()) {
        return Bad("day " + std::string(d) + " is listed twice");
      }
      days.push_back(day);
    }
    for (int day : days) points.push_back(day * kMinutesPerDay + minute);
  } else {
    return Bad("'" + std::string(kind) + "' is not hourly, daily or weekly");
  }
  std::sort(points.begin(), points.end());
  return s;
}

}  // namespace lifeboat
