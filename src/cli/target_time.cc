#include "cli/target_time.h"

#include <time.h>

#include <fmt/format.h>

#include "model/time_format.h"

namespace lifeboat {

Result<int64_t> ParseTargetTime(std::string text) {
  if (text.size() >= 3 &&
      (text.substr(text.size() - 3) == "+00" || text.substr(text.size() - 3) == "-00")) {
    text += ":00";
  }
  const bool has_zone =
      !text.empty() &&
      (text.back() == 'Z' || text.back() == 'z' ||
       (text.size() > 6 && (text[text.size() - 6] == '+' || text[text.size() - 6] == '-')));
  auto ns = ParseTimeRfc3339(has_zone ? text : text + "Z");
  if (!ns.ok()) {
    return Status(Code::kInvalidArgument, "--to-time: cannot read '" + text + "' as a time",
                  "write it as 'YYYY-MM-DD HH:MM:SS' (UTC), optionally with a fraction and a "
                  "zone (Z, +02:00)");
  }
  return ns;
}

std::string FormatPostgresTime(int64_t ns) {
  int64_t secs = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return fmt::format("{}.{:06d}+00", buf, frac / 1000);
}

}  // namespace lifeboat
